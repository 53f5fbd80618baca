import { Decimal } from "decimal.js";
import type Stripe from "stripe";
import type { PlanCatalog, PlanLimit } from "../catalog/catalog.js";
import { minorUnitDigits } from "../catalog/money.js";
import { lineCharge } from "../catalog/overage.js";
import type { Subscription } from "./billing.js";
import {
  type Invoice,
  type InvoiceLine,
  minimumTrueUp,
  type NegotiatedPrices,
  unitAmountOf,
} from "./invoice.js";

/**
 * Maps Stripe's invoice preview: amounts in minor units become major-unit decimals, and a line
 * is attributed to the resource whose metered price it bills, the plan's or a negotiated one
 * (the plan's fee and anything else have no resource). Stripe's amounts are the authority; the
 * pricing model, headline unit price (Stripe gives none for tiered prices) and tier breakdown
 * come from the prices Tollgate gave Stripe. Stripe adds a plan's minimum only when Tollgate
 * adds it to the period's draft invoice, so the preview shows it as Tollgate will add it.
 */
export function fromStripeInvoice(
  invoice: Stripe.Invoice,
  subscription: Subscription,
  catalog: PlanCatalog,
  prices: NegotiatedPrices,
): Invoice {
  const scale = new Decimal(10).pow(minorUnitDigits(invoice.currency));
  const major = (minor: number | string | { toString(): string } | null | undefined) =>
    new Decimal(String(minor ?? 0)).dividedBy(scale);
  const plan = catalog.planVersion(subscription.planId, subscription.planVersion);
  const negotiatedByPrice = new Map(
    [...prices.entries()]
      .filter(([, p]) => p.providerPriceId !== undefined)
      .map(([counter, p]) => [p.providerPriceId, { counter, ...p }]),
  );
  const lines = invoice.lines.data.map((line): InvoiceLine => {
    const price = line.pricing?.price_details?.price;
    const priceId = typeof price === "string" ? price : price?.id;
    const negotiated = priceId ? negotiatedByPrice.get(priceId) : undefined;
    const limit: PlanLimit | undefined = negotiated
      ? plan?.limitsByCounter.get(negotiated.counter)
      : priceId
        ? catalog.meteredPrice(priceId)?.limit
        : undefined;
    const pricing = negotiated?.pricing ?? limit?.overage?.pricing;
    const quantity = new Decimal(String(line.quantity_decimal ?? line.quantity ?? 0));
    const stripeUnit = line.pricing?.unit_amount_decimal;
    const usage = limit !== undefined && pricing !== undefined;
    return {
      kind: usage ? "usage" : "plan_fee",
      pricingModel: pricing?.model,
      tiers: usage ? lineCharge(limit, pricing, quantity).tiers : [],
      priceOverrideId: negotiated?.id,
      description: line.description ?? "",
      resourceType: limit?.resourceType ?? "",
      dimensions: { ...limit?.dimensions },
      quantity,
      unitAmount:
        stripeUnit === null || stripeUnit === undefined
          ? usage
            ? unitAmountOf(pricing)
            : new Decimal(0)
          : major(stripeUnit),
      amount: major(line.amount),
    };
  });
  const trueUp = plan && subscription.state !== "trialing" ? minimumTrueUp(plan, lines) : undefined;
  const added = trueUp?.amount ?? new Decimal(0);
  return {
    tenantId: subscription.tenantId,
    subscriptionId: subscription.id,
    planId: subscription.planId,
    periodStart: new Date(invoice.period_start * 1000),
    periodEnd: new Date(invoice.period_end * 1000),
    currency: invoice.currency,
    lines: trueUp ? [...lines, trueUp] : lines,
    subtotal: major(invoice.subtotal).plus(added),
    total: major(invoice.total).plus(added),
  };
}
