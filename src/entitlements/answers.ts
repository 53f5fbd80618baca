import { Decimal } from "decimal.js";
import { overageOf } from "../catalog/overage.js";
import { type Pricing, pricingToJson } from "../catalog/pricing.js";
import { type RawPricing, readPricing } from "../catalog/pricing-rules.js";
import type { CheckResult, Entitlement, Reservation, ReserveResult } from "./entitlements.js";

/*
 * Answers of admissions travel in their stored JSON form (decimals as strings, times as ISO
 * strings): the service states what it knows before the batch (plan, limit, period, the hold
 * it asks for), the batch completes it with the counter and the decision and stores it under
 * the idempotency key, and both the first answer and every replay are rebuilt from it here,
 * so a retry gets exactly the first answer. The human-readable `reason` and the overage are
 * derived, not stored (answers of earlier versions stored the reason; it is recomputed the same
 * way). Answers stored before limits could be soft have no `included`: their limit was hard;
 * answers stored before grants have no `granted`: there were none.
 */

/** An answer in its stored JSON form. */
export type Json = Record<string, unknown>;

/**
 * What the batch decided for one call, as `tollgate_admit` stores it with a keyed call's
 * template: whether an admit or hold fit, and the counter's figures after it (decimals as
 * strings; the grant figures only where grants count).
 */
export interface StoredDecision {
  admitted?: boolean | undefined;
  used?: string | undefined;
  reserved?: string | undefined;
  granted?: string | undefined;
  grantRemaining?: string | undefined;
  ceiling?: string | undefined;
}

/**
 * A call's answer from its template (what the service stated before the batch) and the
 * batch's decision: the counter's figures go into the entitlement, and an admit or hold that
 * did not fit becomes a denial without its hold.
 */
export function renderAnswer(stored: Json, decision: StoredDecision): Json {
  // What the admission counted is kept for VoidUsage, not shown.
  const { recorded: _recorded, ...template } = stored;
  const figures: Json = { used: decision.used, reserved: decision.reserved };
  if (decision.granted !== undefined) {
    figures.granted = decision.granted;
    figures.grantRemaining = decision.grantRemaining;
    if (decision.ceiling !== undefined) figures.limit = decision.ceiling;
  }
  if (template.entitlement === undefined) return { ...template, ...figures };
  const answer: Json = {
    ...template,
    entitlement: { ...(template.entitlement as Json), ...figures },
  };
  if (decision.admitted !== false) return answer;
  const { reservation: _dropped, ...denied } = answer;
  return { ...denied, allowed: false, denialReason: "limit_exceeded" };
}

/**
 * A stored first answer in the rendered form: keys answered by this version store the
 * template and the decision; earlier versions stored the rendered answer itself.
 */
export function renderStored(response: unknown): unknown {
  const stored = response as { template?: Json; decision?: StoredDecision } | null;
  return stored?.decision !== undefined && stored.template !== undefined
    ? renderAnswer(stored.template, stored.decision)
    : response;
}

/**
 * An entitlement's stored form without its counter (`used`, `reserved`), which the batch adds,
 * with what grants add (the batch replaces `granted`, `grantRemaining` and `limit` when the
 * tenant has grants on the resource).
 */
export function storedEntitlement(entitlement: Omit<Entitlement, "used" | "reserved">): Json {
  return {
    resourceType: entitlement.resourceType,
    dimensions: entitlement.dimensions,
    aggregation: entitlement.aggregation,
    kind: entitlement.kind,
    limit: entitlement.limit?.toFixed(),
    included: entitlement.included?.toFixed(),
    granted: entitlement.granted.toFixed(),
    grantRemaining: entitlement.grantRemaining.toFixed(),
    limitSource: entitlement.limitSource,
    pricing: entitlement.pricing && pricingToJson(entitlement.pricing),
    priceOverrideId: entitlement.priceOverrideId,
    currency: entitlement.currency,
    periodStart: entitlement.periodStart.toISOString(),
    periodEnd: entitlement.periodEnd.toISOString(),
    planId: entitlement.planId,
    window: entitlement.window,
  };
}

/** A new hold's stored form. */
export function storedReservation(reservation: Reservation): Json {
  return {
    id: reservation.id,
    tenantId: reservation.tenantId,
    resourceType: reservation.resourceType,
    quantity: reservation.quantity.toFixed(),
    state: reservation.state,
    expireTime: reservation.expireTime.toISOString(),
    createTime: reservation.createTime.toISOString(),
    periodStart: reservation.periodStart.toISOString(),
    counter: reservation.counter,
    parts: reservation.parts,
  };
}

/** Rebuilds a stored entitlement. */
export function reviveEntitlement(stored: unknown): Entitlement {
  const e = stored as Json;
  const decimal = (value: unknown) => (value == null ? undefined : new Decimal(value as string));
  const hardBefore = !("included" in e);
  return {
    ...(e as unknown as Entitlement),
    dimensions: (e.dimensions as Record<string, string> | undefined) ?? {},
    aggregation: (e.aggregation as Entitlement["aggregation"] | undefined) ?? "sum",
    limit: decimal(e.limit),
    included: hardBefore ? decimal(e.limit) : decimal(e.included),
    granted: new Decimal((e.granted as string | undefined) ?? 0),
    grantRemaining: new Decimal((e.grantRemaining as string | undefined) ?? 0),
    limitSource: (e.limitSource as Entitlement["limitSource"] | undefined) ?? "plan",
    pricing: revivePricing(e, (e.currency as string | undefined) ?? ""),
    currency: (e.currency as string | undefined) ?? "",
    used: new Decimal(e.used as string),
    reserved: new Decimal(e.reserved as string),
    periodStart: new Date(e.periodStart as string),
    periodEnd: new Date(e.periodEnd as string),
  };
}

/** Rebuilds a stored check result of a request for `quantity`. */
export function reviveCheckResult(stored: unknown, quantity: Decimal): CheckResult {
  const r = stored as Json;
  const verdict: Verdict =
    r.denialReason === "resource_not_in_plan"
      ? "not_in_plan"
      : r.allowed === false
        ? "denied"
        : "allowed";
  const timing = r.windowTiming as Record<string, string | undefined> | undefined;
  const time = (value: string | undefined) => (value === undefined ? undefined : new Date(value));
  return {
    ...describeCheck(reviveEntitlement(r.entitlement), quantity, verdict),
    window: timing && {
      decisionTime: new Date(timing.decisionTime as string),
      resetTime: time(timing.resetTime),
      retryTime: time(timing.retryTime),
    },
  };
}

/**
 * Rebuilds a reservation from its JSON form: a stored hold, or a reservation as the batch
 * reports it (with `committedQuantity`, null until committed).
 */
export function reviveReservation(stored: unknown): Reservation {
  const r = stored as Json;
  return {
    id: r.id as string,
    tenantId: r.tenantId as string,
    resourceType: r.resourceType as string,
    quantity: new Decimal(r.quantity as string),
    state: r.state as Reservation["state"],
    expireTime: new Date(r.expireTime as string),
    committedQuantity:
      r.committedQuantity == null ? undefined : new Decimal(r.committedQuantity as string),
    createTime: new Date(r.createTime as string),
    periodStart: new Date(r.periodStart as string),
    // Holds stored before meters held on their resource's counter alone.
    counter: (r.counter as string | undefined) ?? (r.resourceType as string),
    parts: (r.parts as string[] | undefined) ?? [],
  };
}

/** Rebuilds a stored reserve result of a request for `quantity`. */
export function reviveReserveResult(stored: unknown, quantity: Decimal): ReserveResult {
  const held = (stored as Json).reservation;
  return {
    ...reviveCheckResult(stored, quantity),
    reservation: held === undefined ? undefined : reviveReservation(held),
  };
}

/** What was decided about a check-style call: by the batch, or by `tollgate_fits` for Check. */
export type Verdict = "allowed" | "denied" | "not_in_plan";

/**
 * Words a decision already made: the answer of a check-style call, with the reason a person
 * reads (the standing of the counter, grants and overage).
 */
export function describeCheck(
  entitlement: Entitlement,
  quantity: Decimal,
  verdict: Verdict,
): CheckResult {
  const { resourceType, used, reserved, limit, included, planId } = entitlement;
  if (verdict === "not_in_plan") {
    return {
      allowed: false,
      reason: `${resourceType} is not part of the ${planId} plan`,
      denialReason: "resource_not_in_plan",
      entitlement,
    };
  }
  const { pricing } = entitlement;
  const soft = pricing !== undefined;
  let standing =
    included === undefined
      ? `${used} used, unlimited`
      : `${used} of ${included}${soft ? " included" : ""} used, ${reserved} reserved`;
  if (entitlement.granted.gt(0)) {
    standing += `; ${entitlement.granted} granted, ${entitlement.grantRemaining} of it left`;
  }
  if (soft) {
    standing += `; ${overageOf(entitlement).units} beyond the allowance ${
      pricing.model === "per_unit"
        ? `billed at ${pricing.unitAmount} ${entitlement.currency} each`
        : `priced by ${pricing.model === "package" ? "packages" : `${pricing.model} tiers`}`
    }`;
    standing += limit === undefined ? ", no cap" : `, calls denied past ${limit}`;
  }
  return verdict === "denied"
    ? {
        allowed: false,
        reason: `${resourceType} ${soft ? "overage cap" : "limit"} of the ${planId} plan reached: ${standing}; ${quantity} more does not fit`,
        denialReason: soft ? "overage_cap_reached" : "limit_exceeded",
        entitlement,
      }
    : {
        allowed: true,
        reason: `${resourceType}: ${standing}`,
        denialReason: undefined,
        entitlement,
      };
}

// A stored entitlement's price: its `pricing`, or the per-unit price answers stored before
// there were pricing models.
function revivePricing(e: Json, currency: string): Pricing | undefined {
  if (e.pricing != null) return readPricing(e.pricing as RawPricing, currency, "stored").pricing;
  if (e.overageUnitAmount == null) return undefined;
  return { model: "per_unit", unitAmount: new Decimal(e.overageUnitAmount as string) };
}
