import type { BillingProvider } from "../billing/provider.js";
import type { PlanCatalog } from "../catalog/catalog.js";
import type { Clock } from "../platform/clock/clock.js";
import type { Config } from "../platform/config/config.js";
import type { Database } from "../platform/db/database.js";
import type { Logger } from "../platform/observability/logger.js";
import type { Module } from "../platform/server/module.js";
import { startTimeJob, type TimeJob } from "../platform/tasks/periodic.js";
import { createMeterService } from "./service.js";
import { createMeterStore } from "./store.js";

/** Creates the metering domain: usage reported to the provider's meters, exactly once. */
export function createMeteringModule(deps: {
  config: Config;
  database: Database;
  provider: BillingProvider;
  catalog: PlanCatalog;
  clock: Clock;
  logger: Logger;
}): Module {
  const { config, database, logger } = deps;
  const sync = createMeterService({
    store: createMeterStore(database.knex),
    provider: deps.provider,
    catalog: deps.catalog,
    clock: deps.clock,
    logger,
    intervalMs: config.meterSyncIntervalSeconds * 1000,
    callsPerSecond: config.meterCallsPerSecond,
    embedded: database.kind === "pglite",
  });
  // Closed periods' final figures too: the test clock runs it at each period end it passes.
  const meterSync: TimeJob = {
    name: "meter-sync",
    nextDue: async () => undefined,
    run: (limit) => sync.run(limit),
  };
  return {
    name: "metering",
    stats: [
      {
        name: "tollgate_meter_sync",
        help: "Usage reported to the billing provider's meters: sent, retried (attempts that will be retried) and failed (given up, usage not billed) are totals since start; pending is deltas waiting now and lag_seconds the age of the oldest.",
        read: () => sync.stats(),
      },
    ],
    timeJobs: [meterSync],
    // Every replica may run it: planning and sending each lock with skip locked.
    tasks: [
      startTimeJob(meterSync, {
        intervalMs: config.meterSyncIntervalSeconds * 1000,
        batch: 500,
        logger,
      }),
    ],
  };
}
