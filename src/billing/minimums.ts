import type { Knex } from "knex";
import type { PlanCatalog } from "../catalog/catalog.js";
import { pricingMoment } from "../catalog/pricing.js";
import type { Clock } from "../platform/clock/clock.js";
import { priceInvoice } from "./invoice.js";
import type { PriceReader, ProviderPricing, UsageReader } from "./provider.js";
import type { BillingStore } from "./store.js";

/** A draft invoice the provider announced (`invoice.created`), as far as the minimum needs it. */
export interface DraftInvoice {
  id: string;
  customerId: string;
  subscriptionId: string;
  /** Why the provider made it: only a period's renewal (`subscription_cycle`) closes usage. */
  billingReason: string;
  periodStart: Date;
  periodEnd: Date;
}

/** What the minimum's true-up is built from. */
export interface MinimumDeps {
  knex: Knex;
  store: Pick<BillingStore, "findSubscription">;
  catalog: PlanCatalog;
  clock: Clock;
  readUsage: UsageReader;
  readPrices: PriceReader;
  pricing: ProviderPricing;
}

/**
 * Adds a plan's minimum to the provider's draft invoice of a period whose usage charges came
 * to less, exactly once per invoice: the invoice's row in `minimum_true_ups` is locked while
 * the charge is added (with an idempotency key of the invoice's), and marked added in the same
 * transaction, so a redelivered webhook or another replica finds it added, and a crash before
 * the commit repeats the same call, which the provider answers as the first time. The
 * shortfall is the invoice preview's `minimum_true_up` line for that period, from Tollgate's
 * counters and prices: the same figures the provider's meters were fed.
 */
export function createMinimumTrueUps(
  deps: MinimumDeps,
): (invoice: DraftInvoice) => Promise<"added" | "already added" | "not due"> {
  const { knex, catalog } = deps;
  return async (invoice) => {
    if (invoice.billingReason !== "subscription_cycle") return "not due";
    const stored = await deps.store.findSubscription(invoice.subscriptionId);
    const plan = stored && catalog.planVersion(stored.planId, stored.planVersion);
    if (stored === undefined || plan?.minimumAmount === undefined) return "not due";
    const subscription = {
      ...stored,
      currentPeriodStartTime: invoice.periodStart,
      currentPeriodEndTime: invoice.periodEnd,
    };
    const counters = [...plan.limitsByCounter.keys()];
    const [usage, prices] = await Promise.all([
      deps.readUsage(stored.tenantId, invoice.periodStart, counters),
      deps.readPrices(stored.tenantId, pricingMoment(invoice.periodEnd)),
    ]);
    const line = priceInvoice({ subscription, plan, usage, prices }).lines.find(
      (l) => l.kind === "minimum_true_up",
    );
    if (line === undefined) return "not due";
    const key = { tenant_id: stored.tenantId, invoice_id: invoice.id };
    return knex.transaction(async (trx) => {
      await trx("minimum_true_ups")
        .insert({
          ...key,
          amount: line.amount.toFixed(),
          currency: plan.currency,
          state: "pending",
          create_time: deps.clock.now(),
        })
        .onConflict(["tenant_id", "invoice_id"])
        .ignore();
      const row = await trx("minimum_true_ups").where(key).forUpdate().first();
      if (row?.state === "added") return "already added";
      await deps.pricing.addInvoiceItem({
        customerId: invoice.customerId,
        invoiceId: invoice.id,
        amount: line.amount,
        currency: plan.currency,
        description: line.description,
        idempotencyKey: `tg_minimum_${invoice.id}`,
      });
      await trx("minimum_true_ups").where(key).update({ state: "added" });
      return "added";
    });
  };
}
