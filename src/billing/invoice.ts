import { Decimal } from "decimal.js";
import type { Plan, PlanLimit } from "../catalog/catalog.js";
import { counterName } from "../catalog/meters.js";
import { minorUnitDigits, roundToMinorUnit } from "../catalog/money.js";
import { lineCharge, unitsBeyond } from "../catalog/overage.js";
import type { Pricing, PricingModel, TierCharge } from "../catalog/pricing.js";
import type { Subscription } from "./billing.js";

/**
 * A tenant's negotiated prices that price a period, by counter (`counterName`): they replace
 * the plan's price of a limit the plan prices.
 */
export type NegotiatedPrices = ReadonlyMap<
  string,
  {
    id: string;
    pricing: Pricing;
    /** The price it became at a provider that keeps prices (Stripe), once swapped on there. */
    providerPriceId?: string | undefined;
  }
>;

/** What an invoice line charges for. */
export type InvoiceLineKind = "plan_fee" | "usage" | "minimum_true_up";

/**
 * One charge of an invoice; `resourceType` is empty for the plan's fee and the minimum's
 * true-up, `dimensions` set for a dimension limit's own usage line.
 */
export interface InvoiceLine {
  kind: InvoiceLineKind;
  description: string;
  resourceType: string;
  dimensions: Record<string, string>;
  quantity: Decimal;
  /** The per-unit price (per_unit), the package's price (package); zero for tiered lines. */
  unitAmount: Decimal;
  /** Rounded once to the currency's minor unit. */
  amount: Decimal;
  /** How a usage line is priced; undefined on other lines. */
  pricingModel: PricingModel | undefined;
  /** The tiers a tiered usage line reached, exact. */
  tiers: TierCharge[];
  /** The price override that priced a usage line; undefined when the plan's price did. */
  priceOverrideId: string | undefined;
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

const ZERO = new Decimal(0);

/**
 * Prices a subscription's current period from the catalog and the period's usage: the plan's
 * fee, then one usage line per priced resource, priced by its limit's `pricing` (per unit
 * beyond the allowance, graduated or volume tiers, or packages). A dimension limit with its own
 * price bills its usage on a line of its own, and the resource's line prices the resource's
 * usage less the units those dimension lines billed beyond their allowances, so no unit is
 * billed twice. When the usage lines come to less than the plan's minimum, a
 * `minimum_true_up` line adds the difference. The plan in force now prices the whole period,
 * even after a change within it, so the preview matches the limits the tenant was admitted
 * under at the end (and Stripe, which prices a metered item's whole period at the price it
 * carries when the invoice is made). During a trial every line is priced at zero: the
 * quantities still show what was used. Each line is rounded once, half-up, to the currency's
 * minor unit, and the total is the sum of the rounded lines.
 */
export function priceInvoice(input: {
  subscription: Subscription;
  plan: Plan;
  /** The period's usage of each counter (`counterName`), zero when absent. */
  usage: ReadonlyMap<string, Decimal>;
  /** The tenant's negotiated prices for the period; none by default. */
  prices?: NegotiatedPrices;
  /** A change of plan within the period, which the usage lines then say how they price. */
  planChange?: { time: Date; fromPlanName: string };
}): Invoice {
  const { subscription, plan, usage } = input;
  const prices: NegotiatedPrices = input.prices ?? new Map();
  const trial = subscription.state === "trialing";
  const suffix = trial ? " (trial)" : "";
  const round = (amount: Decimal) => (trial ? ZERO : roundToMinorUnit(amount, plan.currency));
  const lines: InvoiceLine[] = [
    {
      kind: "plan_fee",
      description: `${plan.displayName} (${plan.interval})${suffix}`,
      resourceType: "",
      dimensions: {},
      quantity: new Decimal(1),
      unitAmount: trial ? ZERO : (plan.unitAmount ?? ZERO),
      amount: round(plan.unitAmount ?? ZERO),
      pricingModel: undefined,
      tiers: [],
      priceOverrideId: undefined,
    },
  ];
  const changed = input.planChange
    ? `; usage before and after the change from ${input.planChange.fromPlanName} on ${input.planChange.time.toISOString()} is all priced at ${plan.displayName}'s price`
    : "";
  const usageLine = (limit: PlanLimit, planPricing: Pricing, used: Decimal, label: string) => {
    const negotiated = prices.get(counterName(limit.resourceType, limit.dimensions));
    const pricing = negotiated?.pricing ?? planPricing;
    const charge = lineCharge(limit, pricing, used);
    lines.push({
      kind: "usage",
      description: `${label}${negotiated ? ` at the negotiated price ${negotiated.id}` : ""}${changed}${suffix}`,
      resourceType: limit.resourceType,
      dimensions: limit.dimensions,
      quantity: charge.quantity,
      unitAmount: trial ? ZERO : unitAmountOf(pricing),
      amount: round(charge.amount),
      pricingModel: pricing.model,
      tiers: trial ? [] : charge.tiers,
      priceOverrideId: negotiated?.id,
    });
  };
  const usedOf = (limit: PlanLimit) =>
    usage.get(counterName(limit.resourceType, limit.dimensions)) ?? ZERO;
  for (const limit of plan.limits) {
    let billedApart = ZERO;
    for (const d of limit.dimensionLimits) {
      if (d.overage === undefined || d.limit === undefined) continue;
      billedApart = billedApart.plus(unitsBeyond(d, usedOf(d)));
      const values = Object.entries(d.dimensions)
        .map(([k, v]) => `${k}=${v}`)
        .join(", ");
      usageLine(
        d,
        d.overage.pricing,
        usedOf(d),
        describe(`${limit.resourceType} (${values})`, d.limit, d.overage.pricing),
      );
    }
    if (limit.overage === undefined || limit.limit === undefined) continue;
    usageLine(
      limit,
      limit.overage.pricing,
      Decimal.max(0, usedOf(limit).minus(billedApart)),
      describe(limit.resourceType, limit.limit, limit.overage.pricing),
    );
  }
  const trueUp = trial ? undefined : minimumTrueUp(plan, lines);
  if (trueUp) lines.push(trueUp);
  const subtotal = lines.reduce((sum, l) => sum.plus(l.amount), ZERO);
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

/**
 * The line that brings a period's usage lines up to the plan's minimum, when they came to
 * less; the provider's invoice gets the same charge added to its draft.
 */
export function minimumTrueUp(plan: Plan, lines: readonly InvoiceLine[]): InvoiceLine | undefined {
  const minimum = plan.minimumAmount;
  if (minimum === undefined) return undefined;
  const usageCharges = lines
    .filter((l) => l.kind === "usage")
    .reduce((sum, l) => sum.plus(l.amount), ZERO);
  if (!usageCharges.lt(minimum)) return undefined;
  const money = (amount: Decimal) => amount.toFixed(minorUnitDigits(plan.currency));
  return {
    kind: "minimum_true_up",
    description: `Minimum usage commitment of ${money(minimum)} ${plan.currency} (usage came to ${money(usageCharges)})`,
    resourceType: "",
    dimensions: {},
    quantity: new Decimal(1),
    unitAmount: minimum.minus(usageCharges),
    amount: minimum.minus(usageCharges),
    pricingModel: undefined,
    tiers: [],
    priceOverrideId: undefined,
  };
}

/** A usage line's headline unit price: per unit, or per package; tiered lines show tiers. */
export function unitAmountOf(pricing: Pricing): Decimal {
  if (pricing.model === "per_unit") return pricing.unitAmount;
  if (pricing.model === "package") return pricing.packageAmount;
  return ZERO;
}

// "tokens beyond the 1000 included", "tokens in graduated tiers", "tokens in packages of 100".
function describe(subject: string, included: Decimal, pricing: Pricing): string {
  switch (pricing.model) {
    case "per_unit":
      return `${subject} beyond the ${included.toFixed()} included`;
    case "package":
      return `${subject} in packages of ${pricing.packageSize.toFixed()} (partial packages rounded ${pricing.round})`;
    default:
      return `${subject} in ${pricing.model} tiers${pricing.tiersFrom === "included" ? ` beyond the ${included.toFixed()} included` : ""}`;
  }
}
