import { setMaxListeners } from "node:events";
import type { AddressInfo } from "node:net";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { HealthCheckResponse_ServingStatus as ServingStatus } from "../../../gen/health/v1/health_pb.js";
import type { Config } from "../config/config.js";
import type { Logger } from "../observability/logger.js";
import { createMetrics } from "../observability/metrics.js";
import {
  callContextValues,
  codeName,
  createCallLogInterceptor,
  reportRefusedCall,
} from "./call-log-interceptor.js";
import { loadConsoleAssets } from "./console-assets.js";
import { createErrorInterceptor } from "./error-interceptor.js";
import { createGrpcUnaryServer } from "./grpc-unary.js";
import { createHealthState } from "./health.js";
import { createHttpHandler } from "./http-handler.js";
import { createListener } from "./listener.js";
import { refuseNonLoopback } from "./loopback-guard.js";
import type { Module } from "./module.js";
import { countAuthorizationHeaders, kAuthorizationCount } from "./request-context.js";
import { createRoutes, createServiceSpecs, procedurePaths, TOLLGATE_SERVICES } from "./routes.js";

/** Options of {@link startServer}. */
export interface ServerOptions {
  config: Config;
  logger: Logger;
  /** The domains, in dependency order: their tasks stop in the reverse order. */
  modules: readonly Module[];
  /** Bind address; loopback when the server runs without API keys. */
  host: string;
  /** Without API keys: connections from other machines are refused before any byte is read. */
  loopbackOnly: boolean;
  /** Answers whether the database takes queries right now, for `/healthz`. */
  pingDatabase: () => Promise<boolean>;
}

/** The transport, listening. */
export interface Server {
  address: AddressInfo;
  /**
   * Drains: NOT_SERVING, GOAWAY, in-flight calls finish (or are aborted after the grace
   * period), then every module's tasks stop. The caller closes the database afterwards.
   */
  stop(): Promise<void>;
}

/**
 * Serves every module's RPCs over Connect, gRPC and gRPC-Web on one port, with `/healthz`,
 * `/metrics`, the console and the modules' plain-HTTP endpoints beside them.
 */
export async function startServer(options: ServerOptions): Promise<Server> {
  const { config, logger, modules } = options;
  const metrics = createMetrics();
  for (const source of modules.flatMap((m) => m.stats ?? [])) metrics.observeStats(source);
  const health = createHealthState(TOLLGATE_SERVICES.map((s) => s.typeName));
  const shutdown = new AbortController();
  // Every call in flight links its own signal to this one until it ends (Connect removes the
  // link then), so it has one listener per concurrent call: bounded by MAX_CONNECTIONS ×
  // HTTP2_MAX_CONCURRENT_STREAMS, not a leak, and Node's warning past 10 would be noise.
  setMaxListeners(0, shutdown.signal);
  const services = createServiceSpecs(
    modules.flatMap((m) => m.rpc ?? []),
    health,
  );
  const interceptors = [
    createCallLogInterceptor(logger, metrics),
    createErrorInterceptor(logger),
    ...modules.flatMap((m) => m.interceptors ?? []),
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
    onRefused: (path, code) => reportRefusedCall(logger, metrics, { path, status: codeName(code) }),
  });
  const { connections } = config;
  const paths = procedurePaths(services);
  const listener = createListener({
    streams: grpcUnary,
    openBodyPaths: paths.streamingRequests,
    refuse: options.loopbackOnly ? refuseNonLoopback : undefined,
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
      pingDatabase: options.pingDatabase,
      endpoints: modules.flatMap((m) => m.http ?? []),
    }),
  });
  const address = await listener.listen(config.port, options.host);
  return {
    address,
    async stop() {
      logger.info({ inFlight: listener.inFlight() }, "shutting down");
      health.setAll(ServingStatus.NOT_SERVING);
      await listener.close(config.shutdownTimeoutSeconds * 1000, () => {
        logger.warn({ inFlight: listener.inFlight() }, "grace period over; aborting calls");
        shutdown.abort();
      });
      // In-flight calls have finished (or were aborted); the tasks store what they hold.
      await stopTasks(modules);
    },
  };
}

/** Stops every module's tasks, the last module's first: no task outlives one it feeds. */
export async function stopTasks(modules: readonly Module[]): Promise<void> {
  for (const module of [...modules].reverse()) {
    for (const task of module.tasks ?? []) await task.stop();
  }
}
