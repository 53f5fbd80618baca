import { Decimal } from "decimal.js";
import type { Plan, PlanLimit } from "../catalog/catalog.js";
import { counterName } from "../catalog/meters.js";
import { unitsBeyond } from "../catalog/overage.js";
import type { Subscription } from "./billing.js";

/**
 * One charge of an invoice; `resourceType` is empty for the plan's fee, `dimensions` set for
 * a dimension limit's own overage.
 */
export interface InvoiceLine {
  description: string;
  resourceType: string;
  dimensions: Record<string, string>;
  quantity: Decimal;
  unitAmount: Decimal;
  /** Rounded once to the currency's minor unit. */
  amount: Decimal;
}

/** What a subscription is charged for one period, in major units of `currency`. */
export interface Invoice {
  tenantId: string;
  subscriptionId: string;
  planId: string;
  periodStart: Date;
  periodEnd: Date;
  currency: string;
  lines: InvoiceLine[];
  subtotal: Decimal;
  total: Decimal;
}

/**
 * Digits after the decimal point of a currency's minor unit (2 for usd, 0 for jpy, 3 for kwd),
 * from ICU's ISO 4217 data; 2 for a code ICU does not know.
 */
export function minorUnitDigits(currency: string): number {
  try {
    return new Intl.NumberFormat("en", { style: "currency", currency }).resolvedOptions()
      .maximumFractionDigits as number;
  } catch {
    return 2;
  }
}

/** Rounds an amount once, half-up (away from zero on a tie), to the currency's minor unit. */
function roundToMinorUnit(amount: Decimal, currency: string): Decimal {
  return amount.toDecimalPlaces(minorUnitDigits(currency), Decimal.ROUND_HALF_UP);
}

/**
 * Prices a subscription's current period from the catalog and the period's usage: the plan's
 * fee, then one line per soft-limited resource for its units beyond the allowance. A
 * dimension limit with its own price bills its own units beyond its allowance on a line of its
 * own; the resource's line bills the rest of the resource's overage (its units beyond the
 * total's allowance less those the dimension lines billed, never below zero), so no unit is
 * billed twice. The plan in
 * force now prices the whole period, even after a change within it, so the preview matches the
 * limits the tenant was admitted under at the end. During a trial every line is priced at zero:
 * the quantities still show what was used. Each line is rounded once, half-up, to the
 * currency's minor unit, and the total is the sum of the rounded lines.
 */
export function priceInvoice(input: {
  subscription: Subscription;
  plan: Plan;
  /** The period's usage of each counter (`counterName`), zero when absent. */
  usage: ReadonlyMap<string, Decimal>;
}): Invoice {
  const { subscription, plan, usage } = input;
  const trial = subscription.state === "trialing";
  const suffix = trial ? " (trial)" : "";
  const line = (
    description: string,
    resourceType: string,
    quantity: Decimal,
    unitAmount: Decimal,
    dimensions: Record<string, string> = {},
  ): InvoiceLine => {
    const unit = trial ? new Decimal(0) : unitAmount;
    return {
      description: `${description}${suffix}`,
      resourceType,
      dimensions,
      quantity,
      unitAmount: unit,
      amount: roundToMinorUnit(quantity.times(unit), plan.currency),
    };
  };
  const lines = [
    line(
      `${plan.displayName} (${plan.interval})`,
      "",
      new Decimal(1),
      plan.unitAmount ?? new Decimal(0),
    ),
  ];
  const beyond = (limit: PlanLimit) =>
    unitsBeyond(
      limit,
      usage.get(counterName(limit.resourceType, limit.dimensions)) ?? new Decimal(0),
    );
  for (const limit of plan.limits) {
    let billed = new Decimal(0);
    for (const d of limit.dimensionLimits) {
      if (d.overage === undefined || d.limit === undefined) continue;
      const units = beyond(d);
      billed = billed.plus(units);
      const values = Object.entries(d.dimensions)
        .map(([k, v]) => `${k}=${v}`)
        .join(", ");
      lines.push(
        line(
          `${limit.resourceType} (${values}) beyond the ${d.limit.toFixed()} included`,
          limit.resourceType,
          units,
          d.overage.unitAmount,
          d.dimensions,
        ),
      );
    }
    if (limit.overage === undefined || limit.limit === undefined) continue;
    lines.push(
      line(
        `${limit.resourceType} beyond the ${limit.limit.toFixed()} included`,
        limit.resourceType,
        Decimal.max(0, beyond(limit).minus(billed)),
        limit.overage.unitAmount,
      ),
    );
  }
  const subtotal = lines.reduce((sum, l) => sum.plus(l.amount), new Decimal(0));
  return {
    tenantId: subscription.tenantId,
    subscriptionId: subscription.id,
    planId: plan.id,
    periodStart: subscription.currentPeriodStartTime,
    periodEnd: subscription.currentPeriodEndTime,
    currency: plan.currency,
    lines,
    subtotal,
    total: subtotal,
  };
}
