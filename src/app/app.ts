import { setMaxListeners } from "node:events";
import type { AddressInfo } from "node:net";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { HealthCheckResponse_ServingStatus as ServingStatus } from "../../gen/health/v1/health_pb.js";
import { createAuditService } from "../audit/service.js";
import { createAuditStore } from "../audit/store.js";
import { resolveAccessMode } from "../auth/access-mode.js";
import {
  countAuthorizationHeaders,
  createAuthInterceptor,
  kAuthorizationCount,
} from "../auth/auth-interceptor.js";
import { createCallLimitInterceptor } from "../auth/call-limits.js";
import { createRateLimitInterceptor } from "../auth/rate-limiter.js";
import { createApiKeyService } from "../auth/service.js";
import { createApiKeyStore } from "../auth/store.js";
import { loadPlanCatalog } from "../catalog/catalog.js";
import type { BillingProvider } from "../billing/provider.js";
import { createBillingRpc } from "../billing/rpc.js";
import { createStripeWebhookProcessor } from "../billing/stripe-webhooks.js";
import type { Clock } from "../platform/clock/clock.js";
import { type DatabaseClock, startDatabaseClock } from "../platform/clock/database-clock.js";
import type { Config } from "../platform/config/config.js";
import { createDatabase } from "../platform/db/database.js";
import { createDomains } from "./modules.js";
import { createEntitlementRpc } from "../entitlements/rpc.js";
import { createEventRpc } from "../events/rpc.js";
import {
  callContextValues,
  codeName,
  createCallLogInterceptor,
  reportRefusedCall,
} from "../platform/server/call-log-interceptor.js";
import type { Logger } from "../platform/observability/logger.js";
import { createMetrics } from "../platform/observability/metrics.js";
import { loadConsoleAssets } from "../platform/server/console-assets.js";
import { createErrorInterceptor } from "../platform/server/error-interceptor.js";
import { createGrpcUnaryServer } from "../platform/server/grpc-unary.js";
import { createHealthState } from "../platform/server/health.js";
import { createHttpHandler } from "../platform/server/http-handler.js";
import { createListener } from "../platform/server/listener.js";
import { refuseNonLoopback } from "../platform/server/loopback-guard.js";
import {
  createRoutes,
  createServiceSpecs,
  procedurePaths,
  TOLLGATE_SERVICES,
} from "../platform/server/routes.js";
import { createUsageRpc } from "../usage/rpc.js";
import type { UsageStore } from "../usage/store.js";

/** How often each replica measures its clock against the database's. */
const CLOCK_RESYNC_MS = 30_000;
/** A replica clock further off than this is logged. */
const CLOCK_WARN_SKEW_MS = 1_000;

/** Replacements for tests: a clock they can move, a provider that fails on demand. */
export interface AppOverrides {
  clock?: Clock;
  /**
   * This machine's wall clock as the database clock sees it (epoch ms): a test sets it off by
   * minutes to prove replicas with skewed clocks still agree on business time.
   */
  localTime?: () => number;
  /** Wraps the configured billing provider. */
  wrapBillingProvider?: (provider: BillingProvider) => BillingProvider;
  /**
   * Wraps the usage store: fault injection that lets a test put an event PostgreSQL refuses
   * past validation, to prove it cannot fail anybody else's batch.
   */
  wrapUsageStore?: (store: UsageStore) => UsageStore;
}

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
export async function startApp(
  config: Config,
  logger: Logger,
  overrides: AppOverrides = {},
): Promise<App> {
  // The catalog is checked before anything opens, so a bad file fails fast with exit code 2.
  const catalog = await loadPlanCatalog(config.planCatalogPath);
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
  });
  let databaseClock: DatabaseClock | undefined;
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
    const clock: Clock = overrides.clock ?? (databaseClock as DatabaseClock);
    const audit = createAuditStore(database.knex);
    const keys = createApiKeyService({ store: createApiKeyStore(database.lookups), audit, clock });
    const access = await resolveAccessMode({
      keys,
      bootstrapAdminKey: config.bootstrapAdminKey,
      environment: config.environment,
      host: config.host,
      logger,
    });
    const domains = createDomains({ config, database, audit, catalog, clock, logger, overrides });
    const { billing, billingStore, entitlements, admissions, usage, batcher, stripe } = domains;
    const metrics = createMetrics();
    metrics.observeStats(
      "tollgate_usage_ingest",
      "Usage batcher statistics as GetIngestStats reports them (tracked, flushed, duplicates, rejected, errors, batches: totals since start; buffer_size: events held now).",
      () => {
        const { tracked, flushed, duplicates, rejected, errors, batches, bufferSize } =
          batcher.stats();
        return { tracked, flushed, duplicates, rejected, errors, batches, buffer_size: bufferSize };
      },
    );
    metrics.observeStats(
      "tollgate_admissions",
      "Admission group commit (totals since start): calls queued, batches run (bisected halves included), calls shed because their caller had given up, calls answered Unavailable after waiting too long for a batch slot; waiting: calls queued now.",
      () => ({ ...admissions.stats() }),
    );
    metrics.observeStats(
      "tollgate_meter_sync",
      "Usage reported to the billing provider's meters: sent, retried (attempts that will be retried) and failed (given up, usage not billed) are totals since start; pending is deltas waiting now and lag_seconds the age of the oldest.",
      () => domains.meterSync.stats(),
    );
    metrics.observeStats(
      "tollgate_webhooks",
      "Webhook deliveries (totals since start): attempts that succeeded, that failed and will be retried, deliveries given up; in_flight: attempts running now.",
      () => domains.dispatcher.stats(),
    );
    const health = createHealthState(TOLLGATE_SERVICES.map((s) => s.typeName));
    const shutdown = new AbortController();
    // Every call in flight links its own signal to this one until it ends (Connect removes the
    // link then), so it has one listener per concurrent call: bounded by MAX_CONNECTIONS ×
    // HTTP2_MAX_CONCURRENT_STREAMS, not a leak, and Node's warning past 10 would be noise.
    setMaxListeners(0, shutdown.signal);
    const services = createServiceSpecs({
      health,
      billing: createBillingRpc(billing, createAuditService(audit), domains.directory),
      entitlements: createEntitlementRpc(entitlements, domains.credits, clock),
      usage: createUsageRpc(usage),
      events: createEventRpc(domains.events, domains.webhooks),
    });
    const interceptors = [
      createCallLogInterceptor(logger, metrics),
      createErrorInterceptor(logger),
      createAuthInterceptor({ keys, open: access.open }),
      createCallLimitInterceptor({
        perSecond: config.rateLimitPerSecond,
        burst: config.rateLimitBurst,
        maxStreams: config.maxStreamsPerKey,
        maxReads: config.maxConcurrentReadsPerKey,
      }),
      createRateLimitInterceptor(database.knex, {
        perMinute: config.billingRateLimitPerMinute,
        burst: config.billingRateLimitBurst,
      }),
    ];
    const rpc = connectNodeAdapter({
      routes: createRoutes(services),
      interceptors,
      readMaxBytes: config.maxMessageBytes,
      writeMaxBytes: config.maxMessageBytes,
      contextValues: (req) =>
        callContextValues(req).set(kAuthorizationCount, countAuthorizationHeaders(req.rawHeaders)),
      shutdownSignal: shutdown.signal,
    });
    const grpcUnary = createGrpcUnaryServer({
      services,
      interceptors,
      maxMessageBytes: config.maxMessageBytes,
      shutdownSignal: shutdown.signal,
      onRefused: (path, code) =>
        reportRefusedCall(logger, metrics, { path, status: codeName(code) }),
    });
    const { connections } = config;
    const paths = procedurePaths(services);
    const listener = createListener({
      streams: grpcUnary,
      openBodyPaths: paths.streamingRequests,
      refuse: access.open ? refuseNonLoopback : undefined,
      limits: {
        headersTimeoutMs: connections.headersTimeoutSeconds * 1000,
        requestTimeoutMs: connections.requestTimeoutSeconds * 1000,
        idleTimeoutMs: connections.idleTimeoutSeconds * 1000,
        keepaliveIntervalMs: connections.keepaliveIntervalSeconds * 1000,
        keepaliveTimeoutMs: connections.keepaliveTimeoutSeconds * 1000,
        maxConnections: connections.maxConnections,
        maxConcurrentStreams: connections.maxConcurrentStreams,
      },
      handler: createHttpHandler({
        rpc,
        procedures: paths.all,
        console: loadConsoleAssets(),
        health,
        metrics,
        logger,
        pingDatabase: () => database.ping(),
        stripeWebhook:
          stripe &&
          createStripeWebhookProcessor({
            stripe,
            secret: config.stripeWebhookSecret ?? "",
            billing,
            store: billingStore,
            logger,
          }),
      }),
    });
    const address = await listener.listen(config.port, access.host);
    logger.info(
      {
        host: address.address,
        port: address.port,
        database: database.kind,
        authentication: access.open ? "open" : "api-keys",
      },
      "tollgate is serving Connect, gRPC and gRPC-Web on one port (HTTP/1.1 and h2c)",
    );
    return {
      address,
      async stop() {
        logger.info({ inFlight: listener.inFlight() }, "shutting down");
        health.setAll(ServingStatus.NOT_SERVING);
        await listener.close(config.shutdownTimeoutSeconds * 1000, () => {
          logger.warn({ inFlight: listener.inFlight() }, "grace period over; aborting calls");
          shutdown.abort();
        });
        // In-flight calls have finished (or were aborted); store what they left buffered.
        await domains.stop();
        databaseClock?.stop();
        await database.close();
        logger.info("stopped");
      },
    };
  } catch (error) {
    databaseClock?.stop();
    await database.close();
    throw error;
  }
}
