import type { AddressInfo } from "node:net";
import { createPlanCatalog, readCatalogSeed } from "../catalog/catalog.js";
import { openLiveCatalog } from "../plans/catalog-service.js";
import { createCatalogStore } from "../plans/store.js";
import type { Clock } from "../platform/clock/clock.js";
import { type DatabaseClock, startDatabaseClock } from "../platform/clock/database-clock.js";
import type { Config } from "../platform/config/config.js";
import { createDatabase } from "../platform/db/database.js";
import type { Logger } from "../platform/observability/logger.js";
import { startServer, stopTasks } from "../platform/server/server.js";
import { createTestClock } from "../test-clock/clock.js";
import { createTestClockStore } from "../test-clock/store.js";
import { DATABASE_FUNCTIONS } from "./database-functions.js";
import { createModules, type Modules } from "./modules.js";
import type { AppOverrides } from "./overrides.js";

/** How often each replica measures its clock against the database's. */
const CLOCK_RESYNC_MS = 30_000;
/** A replica clock further off than this is logged. */
const CLOCK_WARN_SKEW_MS = 1_000;

/** A running Tollgate server. */
export interface App {
  address: AddressInfo;
  /** Drains and stops: NOT_SERVING, GOAWAY, in-flight calls finish, then the database closes. */
  stop(): Promise<void>;
}

/**
 * The composition root: reads the catalog, opens the database, lists the domain modules and
 * starts the transport. Nothing below it reads the environment or picks implementations.
 */
export async function startApp(
  config: Config,
  logger: Logger,
  overrides: AppOverrides = {},
): Promise<App> {
  // The catalog file is checked before anything opens, so a bad file fails fast with exit code
  // 2; it seeds the first catalog version of an empty database.
  const seed = await readCatalogSeed(config.planCatalogPath);
  createPlanCatalog(seed.data, seed.label);
  if (config.databaseUrl === undefined) {
    // Logged before opening: creating a data directory takes a while on the first start.
    logger.info({ dataDir: config.dataDir }, "using embedded PGlite (DATABASE_URL is unset)");
  }
  const database = await createDatabase({
    url: config.databaseUrl,
    dataDir: config.dataDir,
    poolMax: config.databasePoolMax,
    poolWaitMs: config.databasePoolWaitSeconds * 1000,
    reportStatementTimeoutMs: config.readStatementTimeoutSeconds * 1000,
    functions: DATABASE_FUNCTIONS,
  });
  let databaseClock: DatabaseClock | undefined;
  let modules: Modules | undefined;
  try {
    if (config.runMigrations) {
      const applied = await database.migrate();
      logger.info({ applied }, "database schema is up to date");
    }
    databaseClock =
      overrides.clock === undefined
        ? await startDatabaseClock({
            readNow: async () => {
              const result = await database.lookups.raw("select clock_timestamp() as now");
              return new Date((result.rows as { now: Date }[])[0]?.now ?? Date.now());
            },
            localNow: overrides.localTime,
            resyncMs: CLOCK_RESYNC_MS,
            warnSkewMs: CLOCK_WARN_SKEW_MS,
            logger,
          })
        : undefined;
    const baseClock: Clock = overrides.clock ?? (databaseClock as DatabaseClock);
    const live = await openLiveCatalog({
      store: createCatalogStore(database.knex),
      clock: baseClock,
      seed,
      logger,
    });
    // Outside production, business time is the database's plus the test clock's offset.
    const testClock =
      config.environment === "production"
        ? undefined
        : createTestClock(baseClock, await createTestClockStore(database.knex).offset());
    const distributed = await database.distributed();
    modules = await createModules({
      config,
      database,
      live,
      testClock,
      clock: testClock ?? baseClock,
      logger,
      overrides,
      distributed,
    });
    const server = await startServer({
      config,
      logger,
      modules: modules.all,
      host: modules.auth.host,
      loopbackOnly: modules.auth.open,
      pingDatabase: () => database.ping(),
    });
    logger.info(
      {
        host: server.address.address,
        port: server.address.port,
        database: database.kind,
        authentication: modules.auth.open ? "open" : "api-keys",
        modules: modules.all.map((m) => m.name),
      },
      "tollgate is serving Connect, gRPC and gRPC-Web on one port (HTTP/1.1 and h2c)",
    );
    return {
      address: server.address,
      async stop() {
        await server.stop();
        databaseClock?.stop();
        await database.close();
        logger.info("stopped");
      },
    };
  } catch (error) {
    if (modules !== undefined) await stopTasks(modules.all);
    databaseClock?.stop();
    await database.close();
    throw error;
  }
}
