import type { Decimal } from "decimal.js";
import type { BillingService } from "../billing/service.js";
import { SUBSCRIPTION_CHANNEL } from "../billing/store.js";
import type { PlanCatalog } from "../catalog/catalog.js";
import type { CreditsModule } from "../credits/module.js";
import type { EventLog } from "../events/log.js";
import type { Clock } from "../platform/clock/clock.js";
import type { Config } from "../platform/config/config.js";
import type { Database } from "../platform/db/database.js";
import { startNotificationListener } from "../platform/db/notification-listener.js";
import type { Logger } from "../platform/observability/logger.js";
import type { BackgroundTask, Module } from "../platform/server/module.js";
import { startTimeJob, type TimeJob } from "../platform/tasks/periodic.js";
import type { PricesModule } from "../prices/module.js";
import { createAdmissionQueue } from "./admissions.js";
import { createPlanCache, type PlanCache } from "./plan-cache.js";
import { createEntitlementRpc } from "./rpc.js";
import { createEntitlementService } from "./service.js";
import { createEntitlementStore } from "./store.js";

/** Limits, usage counters and reservations. */
export interface EntitlementsModule extends Module {
  /** Each tenant's plan and limits, kept in step with subscription changes on every replica. */
  plans: PlanCache;
  /**
   * Usage beyond grants of some resources in a period: what the mock provider bills, since
   * usage drawn from grants is not billed.
   */
  readUsage(tenantId: string, periodStart: Date, types: string[]): Promise<Map<string, Decimal>>;
}

/**
 * Creates the entitlements domain: the plan cache, the admission queue that group-commits
 * checks, and the sweeps that expire reservations and settle queued counters.
 */
export function createEntitlementsModule(deps: {
  config: Config;
  database: Database;
  catalog: PlanCatalog;
  clock: Clock;
  logger: Logger;
  billing: BillingService;
  credits: CreditsModule;
  prices: PricesModule;
  /** Woken after batches and settles that wrote threshold or denial events. */
  events: EventLog;
  /** On a distributed database each tenant's share of a batch is a statement of its own. */
  distributed: boolean;
}): EntitlementsModule {
  const { config, database, catalog, clock, logger } = deps;
  const store = createEntitlementStore(database.knex, database.kind, deps.events, deps.distributed);
  const plans = createPlanCache({
    liveSubscription: (tenantId) => deps.billing.liveSubscription(tenantId),
    adjustments: (tenantId, now) => deps.credits.lookups.adjustments(tenantId, now),
    prices: (tenantId, at) => deps.prices.lookups.inForceAt(tenantId, at),
    catalog,
    clock,
    retryBudgetMs: config.usageFlushFailAfterSeconds * 1000,
  });
  const admissions = createAdmissionQueue({
    store,
    clock,
    // A few batches at once leave the pool's other connections to ingestion and reads; PGlite
    // has a single connection.
    maxInFlight:
      database.kind === "pglite" ? 1 : Math.max(1, Math.min(4, config.databasePoolMax >> 2)),
    maxWaitMs: config.databasePoolWaitSeconds * 1000,
    statementPerTenant: config.admissionStatementPerTenant || deps.distributed,
  });
  const service = createEntitlementService({
    knex: database.knex,
    store,
    admissions,
    plans,
    catalog,
    clock,
    credits: deps.credits.store,
  });
  const expiry: TimeJob = {
    name: "reservation-expiry",
    nextDue: () => store.nextHoldExpiry(),
    run: (limit) => service.expireDue(limit),
  };
  // Counters that ingestion and reservation commits queued, and those a rollover, an expiry or
  // a new allowance re-armed: grant draws and thresholds.
  const settle: TimeJob = {
    name: "settle-sweep",
    nextDue: async () => undefined,
    run: (limit) => service.settleQueued(limit),
  };
  const tasks: BackgroundTask[] = [
    startTimeJob(expiry, { intervalMs: 1000, batch: 1000, logger }),
    startTimeJob(settle, {
      intervalMs: config.settleSweepIntervalSeconds * 1000,
      batch: 500,
      logger,
    }),
    // Other replicas announce subscription and credit changes with NOTIFY; PGlite has no
    // other replicas.
    ...(config.databaseUrl === undefined
      ? []
      : [
          startNotificationListener({
            url: config.databaseUrl,
            channel: SUBSCRIPTION_CHANNEL,
            onNotify: (tenantId) => plans.invalidate(tenantId),
            onGap: () => plans.clear(),
            logger,
          }),
        ]),
  ];
  return {
    name: "entitlements",
    plans,
    timeJobs: [expiry, settle],
    async readUsage(tenantId, periodStart, types) {
      const counters = await store.readMany(
        database.knex,
        tenantId,
        types.map((resourceType) => ({ resourceType, periodStart })),
      );
      return new Map(
        [...counters].map(([type, counter]) => [type, counter.used.minus(counter.granted)]),
      );
    },
    rpc: [createEntitlementRpc(service)],
    stats: [
      {
        name: "tollgate_admissions",
        help: "Admission group commit (totals since start): calls queued, batches run (bisected halves included), calls shed because their caller had given up, calls answered Unavailable after waiting too long for a batch slot; waiting: calls queued now.",
        read: () => admissions.stats(),
      },
    ],
    tasks,
  };
}
