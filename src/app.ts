import type { AddressInfo } from "node:net";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { HealthCheckResponse_ServingStatus as ServingStatus } from "../gen/health/v1/health_pb.js";
import type { Config } from "./config/config.js";
import { createDatabase } from "./db/database.js";
import {
  callContextValues,
  createCallLogInterceptor,
} from "./observability/call-log-interceptor.js";
import type { Logger } from "./observability/logger.js";
import { createMetrics } from "./observability/metrics.js";
import { createErrorInterceptor } from "./server/error-interceptor.js";
import { createHealthState } from "./server/health.js";
import { createHttpHandler } from "./server/http-handler.js";
import { createListener } from "./server/listener.js";
import { createRoutes, TOLLGATE_SERVICES } from "./server/routes.js";

/** A running Tollgate server. */
export interface App {
  address: AddressInfo;
  /** Drains and stops: NOT_SERVING, GOAWAY, in-flight calls finish, then the database closes. */
  stop(): Promise<void>;
}

/**
 * Wires configuration, database, services and transport together and starts listening. This
 * is the composition root: nothing below it reads the environment or picks implementations.
 */
export async function startApp(config: Config, logger: Logger): Promise<App> {
  const database = await createDatabase({ url: config.databaseUrl, dataDir: config.dataDir });
  try {
    if (config.runMigrations) {
      const applied = await database.migrate();
      logger.info({ applied }, "database schema is up to date");
    }
    const metrics = createMetrics();
    const health = createHealthState(TOLLGATE_SERVICES.map((s) => s.typeName));
    const shutdown = new AbortController();
    const rpc = connectNodeAdapter({
      routes: createRoutes({ health }),
      interceptors: [createCallLogInterceptor(logger, metrics), createErrorInterceptor(logger)],
      readMaxBytes: config.maxMessageBytes,
      writeMaxBytes: config.maxMessageBytes,
      contextValues: callContextValues,
      shutdownSignal: shutdown.signal,
    });
    const listener = createListener({
      handler: createHttpHandler({
        rpc,
        health,
        metrics,
        logger,
        pingDatabase: () => database.ping(),
      }),
    });
    const address = await listener.listen(config.port, config.host);
    logger.info(
      { host: address.address, port: address.port, database: database.kind },
      "tollgate is serving Connect, gRPC and gRPC-Web on one port (HTTP/1.1 and h2c)",
    );
    if (database.kind === "pglite") {
      logger.info({ dataDir: config.dataDir }, "using embedded PGlite (DATABASE_URL is unset)");
    }
    return {
      address,
      async stop() {
        logger.info({ inFlight: listener.inFlight() }, "shutting down");
        health.setAll(ServingStatus.NOT_SERVING);
        await listener.close(config.shutdownTimeoutSeconds * 1000, () => {
          logger.warn({ inFlight: listener.inFlight() }, "grace period over; aborting calls");
          shutdown.abort();
        });
        await database.close();
        logger.info("stopped");
      },
    };
  } catch (error) {
    await database.close();
    throw error;
  }
}
