import type { PlanCatalog } from "../billing/catalog.js";
import { parseQuantity } from "../validation/decimal.js";
import { createFieldChecks } from "../validation/field-checks.js";
import type { RawUsageEvent, UsageEvent } from "./usage.js";

const FUTURE_TOLERANCE_MS = 5 * 60_000;

/** A valid event without its period yet, or the reason it is rejected. */
export type EventCheck =
  | { ok: true; event: Omit<UsageEvent, "periodStart"> }
  | { ok: false; reason: string };

/**
 * Validates one event on its own: a bad event is rejected and reported, and never fails the
 * other events of its call. `mayRecordFor` says whether the caller's key may record for a
 * tenant (a tenant key only for its own).
 */
export function checkEvent(
  raw: RawUsageEvent,
  catalog: PlanCatalog,
  now: Date,
  mayRecordFor: (tenantId: string) => boolean,
): EventCheck {
  // Ingestion runs this for every event, so well-formed events take an allocation-free path;
  // only an event that fails it is checked again field by field to say why.
  const quick = quickCheck(raw, catalog, now);
  if (quick !== undefined) {
    const tenantId = raw.tenantId.toLowerCase();
    if (!mayRecordFor(tenantId)) {
      return {
        ok: false,
        reason: `permission denied: this API key may not record for tenant ${tenantId}`,
      };
    }
    return { ok: true, event: { ...quick, tenantId } };
  }
  const checks = createFieldChecks();
  checks.check(
    raw.eventId.length >= 1 && raw.eventId.length <= 128,
    "event_id",
    "must be 1 to 128 characters",
  );
  checks.uuid("tenant_id", raw.tenantId);
  const kind = catalog.resourceKinds.get(raw.resourceType);
  checks.check(
    kind !== undefined,
    "resource_type",
    `is not a known resource; known: ${[...catalog.resourceKinds.keys()].join(", ")}`,
  );
  const quantity = parseQuantity(
    checks,
    "quantity",
    raw.quantity,
    kind === "allocation" ? "non-zero" : "positive",
  );
  const occurTime = raw.occurTime ?? now;
  checks.check(
    !Number.isNaN(occurTime.getTime()) &&
      occurTime.getTime() <= now.getTime() + FUTURE_TOLERANCE_MS,
    "occur_time",
    "is more than 5 minutes in the future",
  );
  checks.stringMap("attributes", raw.attributes, { maxEntries: 32, maxKey: 64, maxValue: 512 });
  const violations = checks.violations();
  if (violations.length > 0) {
    return { ok: false, reason: violations.map((v) => `${v.field}: ${v.description}`).join("; ") };
  }
  const tenantId = raw.tenantId.toLowerCase();
  if (!mayRecordFor(tenantId)) {
    return {
      ok: false,
      reason: `permission denied: this API key may not record for tenant ${tenantId}`,
    };
  }
  return {
    ok: true,
    event: {
      tenantId,
      eventId: raw.eventId,
      resourceType: raw.resourceType,
      quantity: quantity?.toFixed() ?? "",
      occurTime,
      attributes: raw.attributes,
    },
  };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const PLAIN_DECIMAL = /^(0|[1-9][0-9]{0,19})(\.[0-9]{1,10})?$/;

function quickCheck(
  raw: RawUsageEvent,
  catalog: PlanCatalog,
  now: Date,
): Omit<UsageEvent, "periodStart" | "tenantId"> | undefined {
  const kind = catalog.resourceKinds.get(raw.resourceType);
  const quantity = raw.quantity === "" ? "1" : raw.quantity;
  const occurTime = raw.occurTime ?? now;
  const attributes = Object.entries(raw.attributes);
  const ok =
    raw.eventId.length >= 1 &&
    raw.eventId.length <= 128 &&
    UUID.test(raw.tenantId) &&
    kind !== undefined &&
    PLAIN_DECIMAL.test(quantity) &&
    /[1-9]/.test(quantity) &&
    occurTime.getTime() <= now.getTime() + FUTURE_TOLERANCE_MS &&
    attributes.length <= 32 &&
    attributes.every(([k, v]) => k.length >= 1 && k.length <= 64 && v.length <= 512);
  if (!ok) return undefined;
  return {
    eventId: raw.eventId,
    resourceType: raw.resourceType,
    quantity,
    occurTime,
    attributes: raw.attributes,
  };
}
