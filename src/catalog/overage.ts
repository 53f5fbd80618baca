import { Decimal } from "decimal.js";
import type { PlanLimit, ResourceKind } from "./catalog.js";
import { chargeFor, type Pricing, pricedQuantity, type UsageCharge } from "./pricing.js";

/** Usage beyond a soft limit's allowance, and what the period's usage costs. */
export interface OverageCharge {
  /** Units used beyond `included` and the grants drawn; zero within the allowance, for hard limits and allocations. */
  units: Decimal;
  /**
   * What the period's usage costs under the limit's pricing (for per_unit, `units` times the
   * unit amount), exact: invoices round per line, once.
   */
  amount: Decimal;
}

/** What the overage rule reads of one resource's entitlement and usage in a period. */
export interface MeteredResource {
  kind: ResourceKind;
  /** Units the plan includes before overage; undefined for hard limits. */
  included: Decimal | undefined;
  /** The price in force (the plan's or the tenant's negotiated one); undefined: not priced. */
  pricing: Pricing | undefined;
  used: Decimal;
  /** Units granted this period, and what is left of them: the difference was drawn. */
  granted: Decimal;
  grantRemaining: Decimal;
}

const ZERO = new Decimal(0);
const NONE: OverageCharge = { units: ZERO, amount: ZERO };

/**
 * What an entitlement's usage costs beyond its allowance. The one rule shared by every answer
 * that shows overage and by the invoice preview, so the two can never disagree. Usage drawn
 * from grants is neither overage nor priced.
 */
export function overageOf(entitlement: MeteredResource): OverageCharge {
  const { kind, included, pricing, used, granted, grantRemaining } = entitlement;
  if (kind !== "consumable" || included === undefined || pricing === undefined) return NONE;
  const billable = Decimal.max(0, used.minus(granted.minus(grantRemaining)));
  return {
    units: Decimal.max(0, billable.minus(included)),
    amount: chargeFor(pricing, pricedQuantity(pricing, included, billable)).amount,
  };
}

/**
 * A priced limit's units beyond its allowance, from its counter's usage in a period: what a
 * dimension limit with a price of its own bills apart from its resource's total (zero for a
 * hard or unlimited limit).
 */
export function unitsBeyond(limit: PlanLimit, used: Decimal): Decimal {
  if (limit.overage === undefined || limit.limit === undefined) return ZERO;
  return Decimal.max(0, used.minus(limit.limit));
}

/** An invoice line's priced quantity and charge for a limit's usage under `pricing`. */
export function lineCharge(
  limit: PlanLimit,
  pricing: Pricing,
  used: Decimal,
): UsageCharge & { quantity: Decimal } {
  const quantity = pricedQuantity(pricing, limit.limit ?? ZERO, used);
  return { quantity, ...chargeFor(pricing, quantity) };
}
