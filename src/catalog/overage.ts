import { Decimal } from "decimal.js";
import type { PlanLimit, ResourceKind } from "./catalog.js";

/** Usage beyond a soft limit's allowance, and what it costs. */
export interface OverageCharge {
  /** Units used beyond `included` and the grants drawn; zero within the allowance, for hard limits and allocations. */
  units: Decimal;
  /** `units * overageUnitAmount`, exact: invoices round per line, once. */
  amount: Decimal;
}

/** What the overage rule reads of one resource's entitlement and usage in a period. */
export interface MeteredResource {
  kind: ResourceKind;
  /** Units the plan includes before overage; undefined for hard limits. */
  included: Decimal | undefined;
  overageUnitAmount: Decimal | undefined;
  used: Decimal;
  /** Units granted this period, and what is left of them: the difference was drawn. */
  granted: Decimal;
  grantRemaining: Decimal;
}

const NONE: OverageCharge = { units: new Decimal(0), amount: new Decimal(0) };

/**
 * What an entitlement's usage costs beyond its allowance. The one rule shared by every answer
 * that shows overage and by the invoice preview, so the two can never disagree.
 */
export function overageOf(entitlement: MeteredResource): OverageCharge {
  const { kind, included, overageUnitAmount, used, granted, grantRemaining } = entitlement;
  if (kind !== "consumable" || included === undefined || overageUnitAmount === undefined) {
    return NONE;
  }
  // Usage drawn from grants is not billed.
  const units = Decimal.max(0, used.minus(included).minus(granted.minus(grantRemaining)));
  return { units, amount: units.times(overageUnitAmount) };
}

/**
 * A priced limit's units beyond its allowance, from its counter's usage in a period: what its
 * invoice line and its provider meter bill apart (zero for a hard or unlimited limit).
 */
export function unitsBeyond(limit: PlanLimit, used: Decimal): Decimal {
  if (limit.overage === undefined || limit.limit === undefined) return NONE.units;
  return overageOf({
    kind: limit.kind,
    included: limit.limit,
    overageUnitAmount: limit.overage.unitAmount,
    used,
    granted: NONE.units,
    grantRemaining: NONE.units,
  }).units;
}
