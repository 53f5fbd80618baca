import type { Knex } from "knex";
import type { Subscription } from "../billing/billing.js";
import type { ProviderPricing } from "../billing/provider.js";
import type { PlanCatalog } from "../catalog/catalog.js";
import type { Clock } from "../platform/clock/clock.js";
import type { Logger } from "../platform/observability/logger.js";
import { hasEnded, inForce, type PriceOverride } from "./prices.js";
import type { PriceStore, ProviderPhase } from "./store.js";

/** What the provider sync is built from. */
export interface PriceSyncDeps {
  knex: Knex;
  store: PriceStore;
  pricing: ProviderPricing;
  catalog: PlanCatalog;
  clock: Clock;
  logger: Logger;
  liveSubscription(tenantId: string): Promise<Subscription | undefined>;
}

/**
 * Keeps the provider's subscriptions on the negotiated prices in force: when an override
 * starts, its price goes onto the tenant's metered item; when it ends (or is deleted), the
 * plan's price goes back. Each step runs with the override's row locked (`skip locked`, so one
 * replica does it) in a transaction held over the provider's calls, whose idempotency keys are
 * the override's and the step's: a crash before the commit repeats the same calls, which the
 * provider answers as the first time. Returns how many overrides moved on.
 */
export function createPriceSync(deps: PriceSyncDeps): (limit: number) => Promise<number> {
  const { knex, store, pricing, catalog, clock, logger } = deps;

  // The step an override is due for now, and what the provider must then carry.
  const step = async (
    override: PriceOverride,
    phase: ProviderPhase,
    now: Date,
  ): Promise<{ phase: ProviderPhase; priceId: string | undefined } | undefined> => {
    const ended = hasEnded(override, now);
    // Due: a started override not yet applied, or an ended one not yet restored.
    const due = ended ? phase !== "restored" : phase === "none" && inForce(override, now);
    if (!due) return undefined;
    // Never applied: nothing to put back.
    if (phase === "none" && ended) return { phase: "restored", priceId: undefined };
    const live = await deps.liveSubscription(override.tenantId);
    const limit =
      live &&
      catalog.planVersion(live.planId, live.planVersion)?.limitsByCounter.get(override.counter);
    const planPriceId = limit?.overage?.meter?.meteredPriceId;
    // Not metered on the tenant's plan now (or no live subscription): nothing to swap, and the
    // step is done.
    if (live === undefined || planPriceId === undefined || limit?.limit === undefined) {
      return { phase: ended ? "restored" : "applied", priceId: override.providerPriceId };
    }
    const priceId = await pricing.swapMeteredPrice({
      subscriptionId: live.id,
      planPriceId,
      counter: override.counter,
      price: ended
        ? undefined
        : { pricing: override.pricing, included: limit.limit, currency: override.currency },
      idempotencyKey: `tg_${override.id}_${ended ? "restore" : "apply"}`,
    });
    return ended
      ? { phase: "restored", priceId: override.providerPriceId }
      : { phase: "applied", priceId };
  };

  return async (limit) => {
    const now = clock.now();
    let moved = 0;
    for (const { tenantId, id } of await store.lagging(now, limit)) {
      try {
        const done = await knex.transaction(async (trx) => {
          const locked = await store.lockForSync(trx, tenantId, id);
          if (locked === undefined) return false;
          const next = await step(locked.override, locked.phase, now);
          if (next === undefined || next.phase === locked.phase) return false;
          await store.setPhase(trx, tenantId, id, next.phase, next.priceId);
          return true;
        });
        if (done) moved++;
      } catch (error) {
        logger.warn({ err: error, tenantId, id }, "negotiated price not synced; retrying later");
      }
    }
    return moved === limit ? moved : 0;
  };
}
