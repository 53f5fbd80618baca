import { createHash } from "node:crypto";
import type { Decimal } from "decimal.js";
import Stripe from "stripe";
import { toMinorUnits } from "../catalog/money.js";
import { BillingProviderError, type ProviderPricing } from "./provider.js";
import { type StripePricingParams, stripePricingOf } from "./stripe-prices.js";

/** The metadata key that marks a price Tollgate created for a negotiated price, naming its counter. */
export const COUNTER_METADATA = "tollgate_counter";

/**
 * Negotiated prices and minimums at Stripe. A negotiated price is created once per (plan price,
 * pricing, currency) with a lookup key derived from them, so the same terms for another tenant,
 * or a retry, find it instead of creating another; it copies the plan price's product and
 * meter, and is swapped onto the subscription's metered item without proration (a metered
 * item's period is billed at the price it carries when the invoice is made).
 */
export function createStripePricing(
  stripe: Stripe,
  call: <T>(what: string, work: () => Promise<T>) => Promise<T>,
): ProviderPricing {
  const priceFor = async (
    planPriceId: string,
    counter: string,
    price: { pricing: Parameters<typeof stripePricingOf>[0]; included: Decimal; currency: string },
  ) => {
    const params = stripePricingOf(price.pricing, price.included, price.currency);
    const lookupKey = `tg_${createHash("sha256")
      .update(JSON.stringify([planPriceId, price.currency, params]))
      .digest("hex")
      .slice(0, 40)}`;
    const found = await stripe.prices.list({ lookup_keys: [lookupKey], limit: 1 });
    if (found.data[0]) return found.data[0].id;
    const template = await stripe.prices.retrieve(planPriceId);
    const created = await stripe.prices.create(
      {
        currency: price.currency,
        product: typeof template.product === "string" ? template.product : template.product.id,
        recurring: {
          interval: template.recurring?.interval ?? "month",
          usage_type: "metered",
          ...(template.recurring?.meter && { meter: template.recurring.meter }),
        },
        lookup_key: lookupKey,
        metadata: { [COUNTER_METADATA]: counter },
        ...toPriceCreateParams(params),
      },
      { idempotencyKey: lookupKey },
    );
    return created.id;
  };
  return {
    swapMeteredPrice: (input) =>
      call("swap a negotiated price", async () => {
        const target = input.price
          ? await priceFor(input.planPriceId, input.counter, input.price)
          : input.planPriceId;
        const subscription = await stripe.subscriptions.retrieve(input.subscriptionId);
        const item = subscription.items.data.find(
          (i) =>
            i.price.id === input.planPriceId ||
            i.price.metadata?.[COUNTER_METADATA] === input.counter,
        );
        if (item === undefined) {
          throw new BillingProviderError(
            `subscription ${input.subscriptionId} has no metered item for ${input.counter}`,
            false,
          );
        }
        if (item.price.id !== target) {
          await stripe.subscriptions.update(
            input.subscriptionId,
            { items: [{ id: item.id, price: target }], proration_behavior: "none" },
            { idempotencyKey: input.idempotencyKey },
          );
        }
        return target;
      }),
    addInvoiceItem: (input) =>
      call("add an invoice item", async () => {
        await stripe.invoiceItems.create(
          {
            customer: input.customerId,
            invoice: input.invoiceId,
            amount: toMinorUnits(input.amount, input.currency).toNumber(),
            currency: input.currency,
            description: input.description,
          },
          { idempotencyKey: input.idempotencyKey },
        );
      }),
  };
}

// Stripe's price parameters from ours: the SDK takes its own decimal type for amounts.
function toPriceCreateParams(params: StripePricingParams): Partial<Stripe.PriceCreateParams> {
  const decimal = (value: string) => Stripe.Decimal.from(value);
  if (params.billing_scheme === "per_unit") {
    return { ...params, unit_amount_decimal: decimal(params.unit_amount_decimal) };
  }
  return {
    ...params,
    tiers: params.tiers.map((t) => ({
      up_to: t.up_to,
      unit_amount_decimal: decimal(t.unit_amount_decimal),
      flat_amount_decimal: decimal(t.flat_amount_decimal),
    })),
  };
}
