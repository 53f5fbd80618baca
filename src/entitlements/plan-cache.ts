import type { Subscription } from "../billing/billing.js";
import type { PlanCatalog } from "../billing/catalog.js";
import type { Clock } from "../clock/clock.js";
import type { TenantPlan } from "./entitlements.js";
import { calendarMonthStart } from "./periods.js";

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
  catalog: PlanCatalog;
  clock: Clock;
  /** A safety net on top of invalidation: no entry is trusted for longer (wall time). */
  maxAgeMs?: number;
  /** Bound on cached tenants; the oldest entries go first. */
  maxEntries?: number;
}

interface Entry {
  value: TenantPlan;
  /** Business time after which the entry is stale: the period's end. */
  validUntil: number;
  fetchedAt: number;
}

/**
 * Caches each tenant's plan and period, which change only when the subscription changes or
 * the period ends, so checks need no billing query. Counters are never cached. Entries expire
 * at the period end (by the business clock), are dropped on change notifications from every
 * replica, and are never trusted beyond `maxAgeMs`. A load that raced an invalidation is not
 * stored, so a notification can never be overwritten by the stale read it was meant to undo.
 */
export function createPlanCache(options: PlanCacheOptions): PlanCache {
  const maxAgeMs = options.maxAgeMs ?? 60_000;
  const maxEntries = options.maxEntries ?? 100_000;
  const entries = new Map<string, Entry>();
  // Bumped by every invalidation; a load that saw it change is used but not stored.
  let generation = 0;

  const load = async (tenantId: string): Promise<TenantPlan> => {
    const now = options.clock.now();
    const live = await options.liveSubscription(tenantId);
    const plan = live && options.catalog.planById(live.planId);
    if (live && plan) {
      return {
        plan,
        periodStart: live.currentPeriodStartTime,
        periodEnd: live.currentPeriodEndTime,
        subscription: {
          createTime: live.createTime,
          billingCycleAnchorTime: live.billingCycleAnchorTime,
          interval: plan.interval,
        },
      };
    }
    const start = calendarMonthStart(now);
    const end = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1));
    return {
      plan: options.catalog.defaultPlan,
      periodStart: start,
      periodEnd: end,
      subscription: undefined,
    };
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
    async resolve(tenantId) {
      const cached = fresh(tenantId);
      if (cached) return cached;
      const before = generation;
      const fetchedAt = Date.now();
      const value = await load(tenantId);
      if (before === generation) {
        entries.delete(tenantId);
        entries.set(tenantId, { value, validUntil: value.periodEnd.getTime(), fetchedAt });
        if (entries.size > maxEntries) {
          const oldest = entries.keys().next().value;
          if (oldest !== undefined) entries.delete(oldest);
        }
      }
      return value;
    },
    invalidate(tenantId) {
      entries.delete(tenantId);
      generation++;
    },
    clear() {
      entries.clear();
      generation++;
    },
  };
}
