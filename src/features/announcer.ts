import type { Knex } from "knex";
import type { PlanCatalog } from "../catalog/catalog.js";
import type { EventLog } from "../events/log.js";
import type { Clock } from "../platform/clock/clock.js";
import { changesBetween, snapshotOf } from "./features.js";
import type { FeatureStore } from "./store.js";

/** Announces changes of what a tenant is entitled to as `entitlement.updated`. */
export interface EntitlementAnnouncer {
  /**
   * Inside the transaction that changed a tenant's terms (its subscription, a limit or feature
   * override) or after an expiry: recomputes what the tenant is entitled to and, when it
   * differs from what was last announced, emits one `entitlement.updated` with both.
   */
  refresh(trx: Knex.Transaction, tenantId: string): Promise<void>;
}

/**
 * Creates the announcer. Exactly once per change follows from comparing, not from counting
 * calls: the tenant's event head is locked first, so two replicas changing one tenant at once
 * (a plan upgrade racing an override) announce one after the other, the second reading the
 * first's committed change as its `before`; a retry or a sweep that finds nothing new
 * announces nothing. A tenant never announced before is compared with the default plan
 * without overrides, which is what a tenant has before its first change.
 */
export function createEntitlementAnnouncer(deps: {
  store: FeatureStore;
  catalog: PlanCatalog;
  clock: Clock;
  events: EventLog;
}): EntitlementAnnouncer {
  const { store, catalog, clock, events } = deps;
  return {
    async refresh(trx, tenantId) {
      const stored = await store.lockState(trx, tenantId);
      const now = clock.now();
      const terms = await store.termsInForce(trx, tenantId, now);
      const plan =
        (terms.planId === undefined
          ? undefined
          : catalog.planVersion(terms.planId, terms.planVersion)) ?? catalog.defaultPlan;
      const after = snapshotOf(catalog, plan, terms.features, terms.limits);
      // A tenant never announced before had what the default plan gives.
      const before = stored ?? snapshotOf(catalog, catalog.defaultPlan, [], []);
      const changed = changesBetween(before, after);
      if (changed.length > 0) {
        await events.emit(trx, {
          tenantId,
          type: "entitlement.updated",
          data: { tenant_id: tenantId, before, after, changed },
        });
      }
      const expiries = [...terms.features, ...terms.limits].flatMap((o) =>
        o.expireTime === undefined ? [] : [o.expireTime.getTime()],
      );
      const nextChange = expiries.length > 0 ? new Date(Math.min(...expiries)) : undefined;
      await store.saveState(trx, tenantId, after, nextChange, now);
    },
  };
}
