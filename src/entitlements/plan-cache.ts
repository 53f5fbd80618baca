import { setTimeout as sleep } from "node:timers/promises";
import type { Subscription } from "../billing/billing.js";
import type { PlanCatalog } from "../catalog/catalog.js";
import { calendarMonthStart } from "../catalog/periods.js";
import { pricingMoment } from "../catalog/pricing.js";
import type { TenantAdjustments } from "../credits/credits.js";
import type { Clock } from "../platform/clock/clock.js";
import { isDatabaseUnavailable } from "../platform/db/database.js";
import type { PeriodPrices } from "../prices/prices.js";
import type { TenantPlan } from "./entitlements.js";

/** Resolves and caches which plan governs each tenant. */
export interface PlanCache {
  resolve(tenantId: string): Promise<TenantPlan>;
  /** The cached plan if it is still fresh, without waiting; for per-event hot paths. */
  peek(tenantId: string): TenantPlan | undefined;
  /** Drops one tenant's entry: its subscription changed. */
  invalidate(tenantId: string): void;
  /** Drops everything: change notifications may have been missed. */
  clear(): void;
}

/** Options of {@link createPlanCache}. */
export interface PlanCacheOptions {
  /** Reads the tenant's live subscription, brought up to date. */
  liveSubscription(tenantId: string): Promise<Subscription | undefined>;
  /** Reads the tenant's overrides and grants in force. */
  adjustments(tenantId: string, now: Date): Promise<TenantAdjustments>;
  /** Reads the tenant's negotiated prices in force at `at` (a period's pricing moment). */
  prices(tenantId: string, at: Date): Promise<PeriodPrices>;
  catalog: PlanCatalog;
  clock: Clock;
  /** A safety net on top of invalidation: no entry is trusted for longer (wall time). */
  maxAgeMs?: number;
  /** Bound on cached tenants; the oldest entries go first. */
  maxEntries?: number;
  /**
   * How long a lookup keeps retrying while the database is unreachable before its error is
   * passed on, so a call rides out a database restart as the usage batcher does.
   */
  retryBudgetMs?: number;
}

interface Entry {
  value: TenantPlan;
  /** Business time after which the entry is stale: the period's end. */
  validUntil: number;
  fetchedAt: number;
}

/**
 * Caches each tenant's plan, period, overrides and which resources have grants, which change
 * only when the subscription, an override or a grant changes, or the period or one of them ends, so checks need no billing query. Counters are never cached. Entries expire
 * at the period end (by the business clock), are dropped on change notifications from every
 * replica, and are never trusted beyond `maxAgeMs`. A load that raced an invalidation is not
 * stored, so a notification can never be overwritten by the stale read it was meant to undo.
 * Concurrent lookups of one tenant share a single query, and a lookup retries through a
 * database outage for up to `retryBudgetMs`.
 */
export function createPlanCache(options: PlanCacheOptions): PlanCache {
  const maxAgeMs = options.maxAgeMs ?? 60_000;
  const maxEntries = options.maxEntries ?? 100_000;
  const retryBudgetMs = options.retryBudgetMs ?? 0;
  const entries = new Map<string, Entry>();
  // Lookups in progress: concurrent calls for one uncached tenant share one query.
  const loading = new Map<string, Promise<TenantPlan>>();
  // Bumped by every invalidation; a load that saw it change is used but not stored.
  let generation = 0;

  const withRetry = async <T>(read: () => Promise<T>) => {
    const deadline = Date.now() + retryBudgetMs;
    for (let pause = 50; ; pause = Math.min(pause * 2, 1_000)) {
      try {
        return await read();
      } catch (error) {
        if (!isDatabaseUnavailable(error) || Date.now() + pause > deadline) throw error;
        await sleep(pause);
      }
    }
  };

  const load = async (tenantId: string): Promise<TenantPlan> => {
    const now = options.clock.now();
    const [live, adjustments] = await Promise.all([
      withRetry(() => options.liveSubscription(tenantId)),
      withRetry(() => options.adjustments(tenantId, now)),
    ]);
    const plan = live && options.catalog.planVersion(live.planId, live.planVersion);
    const cycle =
      live && plan
        ? {
            plan,
            periodStart: live.currentPeriodStartTime,
            periodEnd: live.currentPeriodEndTime,
            subscription: {
              createTime: live.createTime,
              billingCycleAnchorTime: live.billingCycleAnchorTime,
              interval: plan.interval,
            },
          }
        : {
            plan: options.catalog.defaultPlan,
            periodStart: calendarMonthStart(now),
            periodEnd: new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1)),
            subscription: undefined,
          };
    const prices = await withRetry(() => options.prices(tenantId, pricingMoment(cycle.periodEnd)));
    return { ...cycle, adjustments, prices };
  };

  const fresh = (tenantId: string) => {
    const entry = entries.get(tenantId);
    return entry &&
      options.clock.now().getTime() < entry.validUntil &&
      Date.now() - entry.fetchedAt < maxAgeMs
      ? entry.value
      : undefined;
  };

  return {
    peek: fresh,
    resolve(tenantId) {
      const cached = fresh(tenantId);
      if (cached) return Promise.resolve(cached);
      const inProgress = loading.get(tenantId);
      if (inProgress) return inProgress;
      const before = generation;
      const fetchedAt = Date.now();
      const loaded = load(tenantId)
        .then((value) => {
          if (before === generation) {
            entries.delete(tenantId);
            const lapse = value.adjustments.validUntil?.getTime() ?? Number.POSITIVE_INFINITY;
            const validUntil = Math.min(value.periodEnd.getTime(), lapse);
            entries.set(tenantId, { value, validUntil, fetchedAt });
            if (entries.size > maxEntries) {
              const oldest = entries.keys().next().value;
              if (oldest !== undefined) entries.delete(oldest);
            }
          }
          return value;
        })
        .finally(() => {
          if (loading.get(tenantId) === loaded) loading.delete(tenantId);
        });
      loading.set(tenantId, loaded);
      return loaded;
    },
    invalidate(tenantId) {
      entries.delete(tenantId);
      loading.delete(tenantId);
      generation++;
    },
    clear() {
      entries.clear();
      loading.clear();
      generation++;
    },
  };
}
