import type { PlanCatalog } from "../catalog/catalog.js";
import type { PlanCache } from "../entitlements/plan-cache.js";
import type { Actor } from "../platform/calls/actor.js";
import type { Clock } from "../platform/clock/clock.js";
import type { Config } from "../platform/config/config.js";
import type { Database } from "../platform/db/database.js";
import type { Logger } from "../platform/observability/logger.js";
import type { Module } from "../platform/server/module.js";
import { createUsageBatcher } from "./batcher.js";
import { createCloudEventsEndpoint } from "./cloudevents.js";
import { createUsageRpc } from "./rpc.js";
import { createUsageService } from "./service.js";
import { createUsageStore, type UsageStore } from "./store.js";

/**
 * Creates the usage domain: validated events buffered by the batcher and stored exactly once;
 * stopping flushes what the buffer holds.
 */
export function createUsageModule(deps: {
  config: Config;
  database: Database;
  catalog: PlanCatalog;
  clock: Clock;
  logger: Logger;
  plans: PlanCache;
  /** Authenticates a plain-HTTP request and counts it against its key's rate (auth's gate). */
  gate(authorization: string | undefined): Promise<Actor>;
  /** Wraps the store (tests inject faults PostgreSQL would raise). */
  wrapStore?: (store: UsageStore) => UsageStore;
}): Module {
  const { config, database, clock, logger } = deps;
  const configured = createUsageStore(database.knex, database.kind, {
    pool: database.reports,
    canceller: database.lookups,
    timeoutMs: config.readStatementTimeoutSeconds * 1000,
  });
  const store = deps.wrapStore?.(configured) ?? configured;
  const batcher = createUsageBatcher({
    store,
    clock,
    logger,
    batchSize: config.usageBatchSize,
    flushIntervalMs: config.usageFlushIntervalSeconds * 1000,
    bufferLimit: config.usageBufferLimit,
    bufferLimitBytes: config.usageBufferLimitBytes,
    failAfterMs: config.usageFlushFailAfterSeconds * 1000,
  });
  const service = createUsageService({
    batcher,
    store,
    plans: deps.plans,
    catalog: deps.catalog,
    clock,
    lateWindowMs: config.usageLateWindowHours * 3_600_000,
    graceMs: config.periodGraceHours * 3_600_000,
  });
  return {
    name: "usage",
    rpc: [createUsageRpc(service)],
    http: [
      createCloudEventsEndpoint({
        service,
        catalog: deps.catalog,
        gate: deps.gate,
        maxBodyBytes: config.maxMessageBytes,
      }),
    ],
    stats: [
      {
        name: "tollgate_usage_ingest",
        help: "Usage batcher statistics as GetIngestStats reports them (tracked, flushed, duplicates, rejected, errors, batches: totals since start; buffer_size: events held now).",
        read: () => {
          const { tracked, flushed, duplicates, rejected, errors, batches, bufferSize } =
            batcher.stats();
          return {
            tracked,
            flushed,
            duplicates,
            rejected,
            errors,
            batches,
            buffer_size: bufferSize,
          };
        },
      },
    ],
    tasks: [{ stop: () => batcher.close() }],
  };
}
