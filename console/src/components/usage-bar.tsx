import type { Entitlement } from "../../../gen/tollgate/v1/entitlement_service_pb.js";
import { Aggregation, LimitSource } from "../../../gen/tollgate/v1/entitlement_service_pb.js";
import { ResourceKind } from "../../../gen/tollgate/v1/resource_pb.js";
import { formatMoney, formatQuantity, share } from "../format.js";

// How a meter counts, said where it is not a plain sum.
const AGGREGATION_WORDS: Partial<Record<Aggregation, string>> = {
  [Aggregation.COUNT]: "calls counted",
  [Aggregation.UNIQUE_COUNT]: "distinct members",
  [Aggregation.MAX]: "peak",
  [Aggregation.LATEST]: "latest value",
};

/**
 * One resource of a tenant: a bar of used and reserved against the limit, with the plan's
 * included quantity marked, and every figure also written out, so nothing depends on colour
 * or on seeing the bar. The figures are the server's; the page only draws them.
 */
export function UsageBar({ entitlement: e }: { entitlement: Entitlement }) {
  const q = formatQuantity;
  const kind = e.kind === ResourceKind.ALLOCATION ? "level" : "this period";
  const facts: string[] = [`${q(e.used)} used`];
  if (e.reserved !== "" && e.reserved !== "0") facts.push(`${q(e.reserved)} reserved`);
  if (e.granted !== "" && e.granted !== "0") {
    facts.push(`${q(e.granted)} granted (${q(e.grantRemaining)} left)`);
  }
  let limitText: string;
  if (e.unlimited) limitText = "unlimited";
  else if (e.limit === "") limitText = `no cap (${q(e.included)} included, then overage)`;
  else limitText = `limit ${q(e.limit)}`;
  const source = e.limitSource === LimitSource.OVERRIDE ? "override" : `plan ${e.planId}`;
  // The bar's full width: the limit, or for uncapped soft limits whatever is larger of the
  // allowance and what is in use.
  const usedPlusReserved = Number(e.used) + Number(e.reserved || "0");
  const scale =
    e.limit !== "" ? e.limit : String(Math.max(Number(e.included || "0"), usedPlusReserved) || 1);
  const usedShare = share(e.used, scale);
  const reservedShare = Math.min(1 - usedShare, share(e.reserved, scale));
  const includedAt =
    e.included !== "" && e.included !== e.limit ? share(e.included, scale) : undefined;
  // Usage beyond the included quantity is overage, billed: drawn in a colour of its own.
  const withinShare = includedAt === undefined ? usedShare : Math.min(usedShare, includedAt);
  const overageShare = usedShare - withinShare;
  const full = !e.unlimited && e.limit !== "" && e.remaining === "0";
  // A dimension limit reads as its resource and values: `tokens · model=gpt-4`.
  const values = Object.entries(e.dimensions).map(([k, v]) => `${k}=${v}`);
  const name = values.length > 0 ? `${e.resourceType} · ${values.join(", ")}` : e.resourceType;
  const counted = AGGREGATION_WORDS[e.aggregation];
  const summary = `${name}: ${facts.join(", ")}; ${limitText}${full ? "; nothing remains" : ""}`;
  return (
    <li
      class="usage-row"
      data-resource={e.resourceType}
      data-dimensions={values.length > 0 ? values.join(",") : undefined}
    >
      <div class="usage-head">
        <span class="resource">
          {name}
          {counted && <span class="muted"> ({counted})</span>}
        </span>
        <span class="muted">
          {kind} · {source}
          {e.hard ? " · hard limit" : e.unlimited ? "" : " · soft limit"}
        </span>
      </div>
      {e.unlimited ? (
        <p class="unlimited">
          Unlimited · <span class="used">{q(e.used)}</span> used
        </p>
      ) : (
        <>
          {includedAt !== undefined && (
            <div class="bar-scale" aria-hidden="true">
              <span
                class={includedAt > 0.5 ? "bar-included-label end" : "bar-included-label"}
                style={{ left: `${includedAt * 100}%` }}
              >
                included {q(e.included)}
              </span>
            </div>
          )}
          <div class="bar" role="img" aria-label={summary}>
            <div class="bar-used" style={{ width: `${withinShare * 100}%` }} />
            {overageShare > 0 && (
              <div class="bar-overage" style={{ width: `${overageShare * 100}%` }} />
            )}
            <div class="bar-reserved" style={{ width: `${reservedShare * 100}%` }} />
            {includedAt !== undefined && (
              <div class="bar-included" style={{ left: `${includedAt * 100}%` }} />
            )}
          </div>
          <p class="usage-facts">
            <span class="used">{q(e.used)}</span> used
            {facts.slice(1).map((fact) => ` · ${fact}`)} · <span class="limit">{limitText}</span>
            {e.remaining !== "" && ` · ${q(e.remaining)} remaining`}
            {full && <strong class="badge">limit reached</strong>}
          </p>
          {e.overage !== "" && e.overage !== "0" && (
            <p class="overage">
              <span class="swatch overage-swatch" aria-hidden="true" />
              Overage {q(e.overage)} × {formatMoney(e.overageUnitAmount, e.currency)} ={" "}
              <span class="overage-amount">{formatMoney(e.overageAmount, e.currency)}</span>
            </p>
          )}
        </>
      )}
    </li>
  );
}
