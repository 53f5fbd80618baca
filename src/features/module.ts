import type { AuditStore } from "../audit/store.js";
import type { MutationLease } from "../billing/mutation-lease.js";
import type { BillingStore } from "../billing/store.js";
import type { PlanCatalog } from "../catalog/catalog.js";
import type { TenantPlan } from "../entitlements/entitlements.js";
import type { EventLog } from "../events/log.js";
import type { Clock } from "../platform/clock/clock.js";
import type { Config } from "../platform/config/config.js";
import type { Database } from "../platform/db/database.js";
import type { Logger } from "../platform/observability/logger.js";
import type { Module } from "../platform/server/module.js";
import { startTimeJob, type TimeJob } from "../platform/tasks/periodic.js";
import { createEntitlementAnnouncer, type EntitlementAnnouncer } from "./announcer.js";
import { createFeatureRpc } from "./rpc.js";
import { createFeatureService } from "./service.js";
import { createFeatureStore } from "./store.js";

/** Features, feature overrides, and the announcement of every entitlement change. */
export interface FeaturesModule extends Module {
  announcer: EntitlementAnnouncer;
}

/**
 * Creates the features domain. Its announcer is what billing's change notice runs inside every
 * transaction that changes a tenant's terms; its sweep announces overrides that expired.
 */
export function createFeaturesModule(deps: {
  config: Config;
  database: Database;
  catalog: PlanCatalog;
  clock: Clock;
  logger: Logger;
  lease: MutationLease;
  audit: AuditStore;
  events: EventLog;
  billingStore: BillingStore;
  planOf(tenantId: string): Promise<TenantPlan>;
  onTermsChanged: (tenantId: string) => void;
}): FeaturesModule {
  const { database, catalog, clock } = deps;
  const store = createFeatureStore(database.knex, catalog);
  const announcer = createEntitlementAnnouncer({ store, catalog, clock, events: deps.events });
  const service = createFeatureService({
    knex: database.knex,
    store,
    lookups: createFeatureStore(database.lookups, catalog),
    lease: deps.lease,
    audit: deps.audit,
    catalog,
    clock,
    announcer,
    planOf: deps.planOf,
    announce: (trx, tenantId) => deps.billingStore.notifySubscriptionChanged(trx, tenantId),
    invalidate: deps.onTermsChanged,
  });
  const expiries: TimeJob = {
    name: "entitlement-expiries",
    nextDue: () => store.nextChange(),
    run: (limit) => service.announceExpiries(limit),
  };
  return {
    name: "features",
    announcer,
    rpc: [createFeatureRpc(service, catalog)],
    tasks: [
      startTimeJob(expiries, {
        intervalMs: deps.config.billingSweepIntervalSeconds * 1000,
        batch: 100,
        logger: deps.logger,
      }),
    ],
    timeJobs: [expiries],
  };
}
