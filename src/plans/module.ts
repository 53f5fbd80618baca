import type { BillingModule } from "../billing/module.js";
import type { PriceReader, UsageReader } from "../billing/provider.js";
import type { Clock } from "../platform/clock/clock.js";
import type { Config } from "../platform/config/config.js";
import type { Database } from "../platform/db/database.js";
import { followStored } from "../platform/db/follow.js";
import type { Logger } from "../platform/observability/logger.js";
import type { Module } from "../platform/server/module.js";
import { refreshLiveCatalog } from "./catalog-service.js";
import type { LiveCatalog } from "./live-catalog.js";
import { createMigrationService } from "./migrations.js";
import { createPlanRpc } from "./rpc.js";
import { CATALOG_CHANNEL, createCatalogStore } from "./store.js";

/** How often each replica looks for a pushed catalog when no notification came. */
const CATALOG_POLL_MS = 1_000;

/**
 * Creates the plans domain: serves plan versions and migrations, and keeps this replica's live
 * catalog on the newest version stored. A push is announced with NOTIFY, and every replica also
 * reads the newest version number each second, so a lost notification delays it by a second.
 */
export function createPlansModule(deps: {
  config: Config;
  database: Database;
  live: LiveCatalog;
  clock: Clock;
  logger: Logger;
  billing: BillingModule;
  readUsage: UsageReader;
  readPrices: PriceReader;
}): Module {
  const { config, database, live, logger } = deps;
  const store = createCatalogStore(database.lookups);
  const migrations = createMigrationService({
    catalog: live.catalog,
    billing: deps.billing.service,
    store: deps.billing.store,
    clock: deps.clock,
    readUsage: deps.readUsage,
    readPrices: deps.readPrices,
  });
  const refresh = async () => {
    if (await refreshLiveCatalog(live, store)) {
      logger.info({ version: live.version() }, "catalog version in force");
    }
  };
  const tasks = followStored({
    name: "catalog-refresh",
    url: config.databaseUrl,
    channel: CATALOG_CHANNEL,
    pollMs: CATALOG_POLL_MS,
    read: refresh,
    logger,
  });
  return {
    name: "plans",
    rpc: [createPlanRpc(live.catalog, migrations)],
    tasks,
  };
}
