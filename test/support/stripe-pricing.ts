import { Decimal } from "decimal.js";
import type { StripePricingParams } from "../../src/billing/stripe-prices.js";

/** The pricing fields of a Stripe price object, as Stripe stores and returns them. */
export interface StripePriceObject {
  billing_scheme: "per_unit" | "tiered";
  unit_amount_decimal?: string | null;
  tiers_mode?: "graduated" | "volume" | null;
  tiers?: {
    up_to: number | null;
    unit_amount_decimal?: string | null;
    flat_amount_decimal?: string | null;
  }[];
  transform_quantity?: { divide_by: number; round: "up" | "down" } | null;
}

/**
 * What a Stripe invoice line charges for a price and a quantity, in minor units, by Stripe's
 * documented rules, written apart from Tollgate's pricing so the two check each other:
 * - per_unit: the quantity (divided by `transform_quantity.divide_by` and rounded up or down
 *   first, when set) times `unit_amount_decimal`;
 * - tiered, graduated: each tier's units (from the previous tier's `up_to` plus one to its own)
 *   at its unit amount, plus its flat amount for every tier the quantity reaches;
 * - tiered, volume: the whole quantity at the tier it falls in, plus that tier's flat amount;
 * - the line's amount rounded to a whole minor unit, half-up. A quantity of zero charges
 *   nothing (no tier is reached).
 */
export function stripeLineAmount(price: StripePriceObject, quantity: Decimal.Value): Decimal {
  const q = new Decimal(quantity);
  if (q.lte(0)) return new Decimal(0);
  const amount = (value: string | null | undefined) => new Decimal(value ?? 0);
  let exact = new Decimal(0);
  if (price.billing_scheme === "per_unit") {
    const t = price.transform_quantity;
    const units = t
      ? q
          .dividedBy(t.divide_by)
          .toDecimalPlaces(0, t.round === "up" ? Decimal.ROUND_UP : Decimal.ROUND_DOWN)
      : q;
    exact = units.times(amount(price.unit_amount_decimal));
  } else if (price.tiers_mode === "volume") {
    const tier = (price.tiers ?? []).find((t) => t.up_to === null || q.lte(t.up_to));
    if (tier === undefined) throw new Error("a volume price needs an unbounded last tier");
    exact = q.times(amount(tier.unit_amount_decimal)).plus(amount(tier.flat_amount_decimal));
  } else {
    let previous = new Decimal(0);
    for (const tier of price.tiers ?? []) {
      const top = tier.up_to === null ? q : Decimal.min(q, tier.up_to);
      const units = top.minus(previous);
      if (units.lte(0)) break;
      exact = exact.plus(units.times(amount(tier.unit_amount_decimal)));
      exact = exact.plus(amount(tier.flat_amount_decimal));
      if (tier.up_to === null) break;
      previous = new Decimal(tier.up_to);
    }
  }
  return exact.toDecimalPlaces(0, Decimal.ROUND_HALF_UP);
}

/** The price object Stripe stores for `prices.create` parameters (`up_to: "inf"` becomes null). */
export function storedStripePrice(params: StripePricingParams): StripePriceObject {
  if (params.billing_scheme === "per_unit") return params;
  return {
    ...params,
    tiers: params.tiers.map((t) => ({ ...t, up_to: t.up_to === "inf" ? null : t.up_to })),
  };
}
