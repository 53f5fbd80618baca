import { Decimal } from "decimal.js";
import { toMinorUnits } from "../catalog/money.js";
import type { PriceTier, Pricing } from "../catalog/pricing.js";

/** One tier of a Stripe price, as `prices.create` takes it (amounts in minor units). */
export interface StripeTierParams {
  up_to: number | "inf";
  unit_amount_decimal: string;
  flat_amount_decimal: string;
}

/** The pricing fields of a Stripe price (`prices.create`), for a meter fed the whole usage. */
export type StripePricingParams =
  | {
      billing_scheme: "per_unit";
      unit_amount_decimal: string;
      transform_quantity?: { divide_by: number; round: "up" | "down" };
    }
  | {
      billing_scheme: "tiered";
      tiers_mode: "graduated" | "volume";
      tiers: StripeTierParams[];
    };

/**
 * The Stripe price equivalent to a limit's pricing, for a meter that is fed the whole period's
 * usage (Tollgate's meters are). Per unit beyond the included quantity: graduated tiers whose
 * first, free tier is the included quantity. Graduated or volume tiers from zero: the same
 * tiers. Graduated tiers from the included quantity: a free first tier, the others moved up by
 * it. Packages: a per-unit price of one package with `transform_quantity`. Volume tiers from the
 * included quantity have no Stripe equivalent on such a meter (Stripe would price the included
 * units at the tier the total falls in); the catalog refuses them on a metered limit.
 */
export function stripePricingOf(
  pricing: Pricing,
  included: Decimal,
  currency: string,
): StripePricingParams {
  const minor = (amount: Decimal) => toMinorUnits(amount, currency).toFixed();
  const tier = (upTo: Decimal | undefined, unit: Decimal, flat: Decimal): StripeTierParams => ({
    up_to: upTo === undefined ? "inf" : upTo.toNumber(),
    unit_amount_decimal: minor(unit),
    flat_amount_decimal: minor(flat),
  });
  const zero = new Decimal(0);
  switch (pricing.model) {
    case "per_unit":
      if (included.isZero()) {
        return { billing_scheme: "per_unit", unit_amount_decimal: minor(pricing.unitAmount) };
      }
      return {
        billing_scheme: "tiered",
        tiers_mode: "graduated",
        tiers: [tier(included, zero, zero), tier(undefined, pricing.unitAmount, zero)],
      };
    case "package":
      return {
        billing_scheme: "per_unit",
        unit_amount_decimal: minor(pricing.packageAmount),
        transform_quantity: { divide_by: pricing.packageSize.toNumber(), round: pricing.round },
      };
    default: {
      const shift = pricing.tiersFrom === "included" ? included : zero;
      const moved = pricing.tiers.map((t: PriceTier) =>
        tier(t.upTo?.plus(shift), t.unitAmount, t.flatAmount),
      );
      return {
        billing_scheme: "tiered",
        tiers_mode: pricing.model,
        tiers: shift.isZero() ? moved : [tier(shift, zero, zero), ...moved],
      };
    }
  }
}
