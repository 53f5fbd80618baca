import type { Knex } from "knex";
import type { AuditStore } from "../audit/store.js";
import type { MutationLease } from "../billing/mutation-lease.js";
import type { BillingStore } from "../billing/store.js";
import type { PlanCatalog } from "../catalog/catalog.js";
import type { EventLog } from "../events/log.js";
import type { Clock } from "../platform/clock/clock.js";
import type { Config } from "../platform/config/config.js";
import type { Database } from "../platform/db/database.js";
import type { Logger } from "../platform/observability/logger.js";
import type { Module } from "../platform/server/module.js";
import { startTimeJob } from "../platform/tasks/periodic.js";
import { createGrantExpiries } from "./expiries.js";
import { createCreditRpc } from "./rpc.js";
import { createCreditService } from "./service.js";
import { type CreditStore, createCreditStore } from "./store.js";

/** Grants and overrides: what changes a tenant's limits besides its plan. */
export interface CreditsModule extends Module {
  /** On the main pool, for admissions that draw grants. */
  store: CreditStore;
  /** On the lookup pool, for plan lookups that must not queue behind writes. */
  lookups: CreditStore;
}

/** Creates the credits domain; its changes run under billing's per-tenant lease. */
export function createCreditsModule(deps: {
  database: Database;
  lease: MutationLease;
  audit: AuditStore;
  catalog: PlanCatalog;
  clock: Clock;
  /** Announces a change of limits to every replica, as a subscription change does. */
  billingStore: BillingStore;
  /** Drops this replica's cached limits of a tenant. */
  onLimitsChanged: (tenantId: string) => void;
  /** Where grant expiries are announced. */
  events: EventLog;
  config: Config;
  logger: Logger;
}): CreditsModule {
  const { database, clock } = deps;
  const store = createCreditStore(database.knex);
  const service = createCreditService({
    knex: database.knex,
    store,
    lease: deps.lease,
    audit: deps.audit,
    catalog: deps.catalog,
    clock,
    announce: (trx, tenantId) => announce(trx, tenantId),
    invalidate: deps.onLimitsChanged,
  });
  const announce = (trx: Knex.Transaction, tenantId: string) =>
    deps.billingStore.notifySubscriptionChanged(trx, tenantId);
  const expiries = createGrantExpiries({
    knex: database.knex,
    store,
    events: deps.events,
    clock,
    announce,
    invalidate: deps.onLimitsChanged,
  });
  return {
    name: "credits",
    timeJobs: [expiries],
    tasks: [
      startTimeJob(expiries, {
        intervalMs: deps.config.billingSweepIntervalSeconds * 1000,
        batch: 100,
        logger: deps.logger,
      }),
    ],
    store,
    lookups: createCreditStore(database.lookups),
    rpc: [createCreditRpc(service, clock)],
  };
}
