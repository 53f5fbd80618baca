import { Decimal } from "decimal.js";

/** How a limit's usage is priced. */
export type PricingModel = "per_unit" | "graduated" | "volume" | "package";

export const PRICING_MODELS: readonly PricingModel[] = [
  "per_unit",
  "graduated",
  "volume",
  "package",
];

/** One tier of a graduated or volume price; amounts in major units of the plan's currency. */
export interface PriceTier {
  /** The last quantity the tier holds (inclusive); undefined on the last, unbounded tier. */
  upTo: Decimal | undefined;
  unitAmount: Decimal;
  flatAmount: Decimal;
}

/**
 * A limit's price. `per_unit` prices the units beyond the included quantity; `package` prices
 * the whole usage in packages (as Stripe's `transform_quantity` does); tiers count from zero
 * usage (`tiersFrom: "zero"`, the included quantity being a free first tier) or from the
 * included quantity.
 */
export type Pricing =
  | { model: "per_unit"; unitAmount: Decimal }
  | {
      model: "graduated" | "volume";
      tiers: readonly PriceTier[];
      tiersFrom: "zero" | "included";
    }
  | { model: "package"; packageSize: Decimal; packageAmount: Decimal; round: "up" | "down" };

/** What one tier of a tiered price charges for a quantity. */
export interface TierCharge {
  upTo: Decimal | undefined;
  /** Units priced in this tier (graduated), or the whole quantity (volume). */
  quantity: Decimal;
  unitAmount: Decimal;
  flatAmount: Decimal;
  /** `quantity * unitAmount + flatAmount`, exact. */
  amount: Decimal;
}

/** What a price charges for a quantity: exact, rounded only where an invoice line is made. */
export interface UsageCharge {
  amount: Decimal;
  /** The tiers reached, in order (graduated: each; volume: the one); empty otherwise. */
  tiers: TierCharge[];
}

const ZERO = new Decimal(0);

/**
 * The quantity a price applies to, from a period's usage and the included quantity: the units
 * beyond the included quantity (per_unit, and tiers counted from it), or the whole usage
 * (packages, and tiers counted from zero).
 */
export function pricedQuantity(pricing: Pricing, included: Decimal, used: Decimal): Decimal {
  return Decimal.max(0, beyondIncluded(pricing) ? used.minus(included) : used);
}

function beyondIncluded(pricing: Pricing): boolean {
  if (pricing.model === "per_unit") return true;
  if (pricing.model === "package") return false;
  return pricing.tiersFrom === "included";
}

/**
 * What `quantity` (already the priced quantity) costs. Graduated: each unit at the tier it
 * falls in, plus each entered tier's flat amount. Volume: every unit at the tier the whole
 * quantity falls in, plus that tier's flat amount. Package: whole packages, a partial one
 * rounded up (or down). No usage charges nothing in every model, flat amounts included.
 */
export function chargeFor(pricing: Pricing, quantity: Decimal): UsageCharge {
  if (quantity.lte(0)) return { amount: ZERO, tiers: [] };
  switch (pricing.model) {
    case "per_unit":
      return { amount: quantity.times(pricing.unitAmount), tiers: [] };
    case "package": {
      const packages = quantity
        .dividedBy(pricing.packageSize)
        .toDecimalPlaces(0, pricing.round === "up" ? Decimal.ROUND_CEIL : Decimal.ROUND_FLOOR);
      return { amount: packages.times(pricing.packageAmount), tiers: [] };
    }
    case "volume": {
      const tier = pricing.tiers.find((t) => t.upTo === undefined || quantity.lte(t.upTo));
      // Validation makes the last tier unbounded, so a tier is always found.
      const charge = tierCharge(tier as PriceTier, quantity);
      return { amount: charge.amount, tiers: [charge] };
    }
    case "graduated": {
      const tiers: TierCharge[] = [];
      let below = ZERO;
      for (const tier of pricing.tiers) {
        if (quantity.lte(below)) break;
        const top = tier.upTo === undefined ? quantity : Decimal.min(quantity, tier.upTo);
        tiers.push(tierCharge(tier, top.minus(below)));
        below = tier.upTo ?? quantity;
      }
      return { amount: tiers.reduce((sum, t) => sum.plus(t.amount), ZERO), tiers };
    }
  }
}

function tierCharge(tier: PriceTier, quantity: Decimal): TierCharge {
  return {
    upTo: tier.upTo,
    quantity,
    unitAmount: tier.unitAmount,
    flatAmount: tier.flatAmount,
    amount: quantity.times(tier.unitAmount).plus(tier.flatAmount),
  };
}

/**
 * What the next unit costs at a priced quantity, for answers that show one unit price: the
 * per-unit price, the next unit's tier (graduated) or the tier the total is in (volume);
 * undefined for packages, which have no price per unit.
 */
export function nextUnitAmount(pricing: Pricing, quantity: Decimal): Decimal | undefined {
  switch (pricing.model) {
    case "per_unit":
      return pricing.unitAmount;
    case "package":
      return undefined;
    default: {
      const next = quantity.plus(1);
      const tier = pricing.tiers.find((t) => t.upTo === undefined || next.lte(t.upTo));
      return tier?.unitAmount;
    }
  }
}

/**
 * A key that is equal for equal prices and different otherwise, for naming a provider price
 * created from this one (`pricingKey` + currency identifies it).
 */
export function pricingKey(pricing: Pricing): string {
  return JSON.stringify(pricingToJson(pricing));
}

/** The catalog's JSON form of a price (what `pricing` in a catalog or an override holds). */
export function pricingToJson(pricing: Pricing): Record<string, unknown> {
  switch (pricing.model) {
    case "per_unit":
      return { model: "per_unit", unit_amount: pricing.unitAmount.toFixed() };
    case "package":
      return {
        model: "package",
        package_size: pricing.packageSize.toFixed(),
        package_amount: pricing.packageAmount.toFixed(),
        round: pricing.round,
      };
    default:
      return {
        model: pricing.model,
        tiers_from: pricing.tiersFrom,
        tiers: pricing.tiers.map((t) => ({
          up_to: t.upTo?.toFixed() ?? null,
          unit_amount: t.unitAmount.toFixed(),
          flat_amount: t.flatAmount.toFixed(),
        })),
      };
  }
}

/**
 * The moment that decides a period's price: its last millisecond. The override in force then
 * prices the whole period, as the provider prices a metered item's period at the price the item
 * carries when the invoice is made.
 */
export function pricingMoment(periodEnd: Date): Date {
  return new Date(periodEnd.getTime() - 1);
}
