import type { AuditStore } from "../audit/store.js";
import type { MutationLease } from "../billing/mutation-lease.js";
import type { PlanCatalog } from "../catalog/catalog.js";
import type { PlanCache } from "../entitlements/plan-cache.js";
import type { EventLog } from "../events/log.js";
import type { Clock } from "../platform/clock/clock.js";
import type { Config } from "../platform/config/config.js";
import type { Database } from "../platform/db/database.js";
import type { Module } from "../platform/server/module.js";
import { createCorrectionRpc } from "./rpc.js";
import { type CorrectionService, createCorrectionService } from "./service.js";
import { createCorrectionStore } from "./store.js";

/** Creates the corrections domain: voids and replacements of usage, under billing's lease. */
export function createCorrectionsModule(deps: {
  config: Config;
  database: Database;
  catalog: PlanCatalog;
  clock: Clock;
  lease: MutationLease;
  audit: AuditStore;
  events: EventLog;
  plans: PlanCache;
}): Module & { service: CorrectionService } {
  const { config, database } = deps;
  const service = createCorrectionService({
    knex: database.knex,
    store: createCorrectionStore(database.knex),
    lease: deps.lease,
    audit: deps.audit,
    events: deps.events,
    plans: deps.plans,
    catalog: deps.catalog,
    clock: deps.clock,
    selfService: config.tenantSelfServiceCorrections,
    graceMs: config.periodGraceHours * 3_600_000,
    lateWindowMs: config.usageLateWindowHours * 3_600_000,
  });
  return { name: "corrections", service, rpc: [createCorrectionRpc(service)] };
}
