import type { IncomingHttpHeaders } from "node:http";
import type { connectNodeAdapter } from "@connectrpc/connect-node";
import { HealthCheckResponse_ServingStatus as ServingStatus } from "../../../gen/health/v1/health_pb.js";
import type { Logger } from "../observability/logger.js";
import type { Metrics } from "../observability/metrics.js";
import { observeCall, reportRefusedCall } from "./call-log-interceptor.js";
import { CONSOLE_PATH, type ConsoleAssets } from "./console-assets.js";
import type { HealthState } from "./health.js";
import type { DualRequestHandler } from "./listener.js";

/** What the plain-HTTP endpoints need besides the RPC handler. */
export interface HttpHandlerOptions {
  /** Serves every RPC path; built by `connectNodeAdapter` with `callContextValues`. */
  rpc: ReturnType<typeof connectNodeAdapter>;
  /** The procedure paths `rpc` answers; any other path is counted as `unmatched`. */
  procedures: ReadonlySet<string>;
  health: HealthState;
  metrics: Metrics;
  logger: Logger;
  /** Answers whether the database takes queries right now. */
  pingDatabase: () => Promise<boolean>;
  /** The operator console's files, served under `/console`. */
  console: ConsoleAssets;
  /** Plain-HTTP endpoints the domains serve (Stripe's webhook). */
  endpoints: readonly HttpEndpoint[];
}

/** What a plain-HTTP endpoint answers: a status and a JSON body. */
export interface HttpOutcome {
  status: number;
  body: Record<string, unknown>;
}

/**
 * A POST endpoint beside the RPCs, gated by the endpoint itself: by a signature its body
 * carries (Stripe's webhook) or by the API keys through auth's gate (CloudEvents). Its body
 * is read whole, up to `maxBodyBytes`; past that the answer is 413.
 */
export interface HttpEndpoint {
  path: string;
  maxBodyBytes: number;
  /** Undefined when this configuration does not serve it; `disabled` then says why (501). */
  handle: ((rawBody: Buffer, headers: IncomingHttpHeaders) => Promise<HttpOutcome>) | undefined;
  disabled?: string;
}

/** The metric label of every request for a path no procedure answers. */
const UNMATCHED_PATH = "unmatched";

/**
 * Routes plain HTTP endpoints (`/healthz`, `/metrics`, the domains' endpoints such as
 * `/webhooks/stripe`, the console under `/console`, with `/` leading there) and hands everything
 * else to Connect. RPCs that the protocol layer refuses before any handler runs (wrong content
 * type, malformed or oversized message) are logged and counted here, since no interceptor sees
 * them.
 */
export function createHttpHandler(options: HttpHandlerOptions): DualRequestHandler {
  const { metrics, logger, rpc } = options;
  const endpoints = new Map(options.endpoints.map((endpoint) => [endpoint.path, endpoint]));
  return (req, res) => {
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    if (req.method === "GET" && path === "/healthz") {
      void serveHealthz(options, res);
      return;
    }
    if (req.method === "GET" && path === "/metrics") {
      metrics.registry.metrics().then(
        (body) => {
          res.writeHead(200, { "content-type": metrics.registry.contentType });
          res.end(body);
        },
        (error: unknown) => {
          logger.error({ err: error }, "collecting metrics failed");
          writeJson(res, 500, { error: "metrics unavailable" });
        },
      );
      return;
    }
    if (options.console.serve(path, req, res)) return;
    if (req.method === "GET" && path === "/") {
      res.writeHead(302, { location: CONSOLE_PATH });
      res.end();
      return;
    }
    const endpoint = endpoints.get(path);
    if (endpoint !== undefined) {
      void serveEndpoint(endpoint, logger, req, res);
      return;
    }
    const started = process.hrtime.bigint();
    const call = observeCall(req);
    res.once("close", () => {
      if (call.observed) return;
      const durationMs = Number(process.hrtime.bigint() - started) / 1e6;
      reportRefusedCall(logger, metrics, {
        path: options.procedures.has(path) ? path : UNMATCHED_PATH,
        requestedPath: path,
        status: String(res.statusCode),
        durationMs,
      });
    });
    rpc(req, res);
  };
}

async function serveHealthz(
  options: HttpHandlerOptions,
  res: Parameters<DualRequestHandler>[1],
): Promise<void> {
  const serving = options.health.get("") === ServingStatus.SERVING;
  const database = await options.pingDatabase();
  const ok = serving && database;
  writeJson(res, ok ? 200 : 503, {
    status: ok ? "SERVING" : "NOT_SERVING",
    database: database ? "up" : "down",
  });
}

async function serveEndpoint(
  endpoint: HttpEndpoint,
  logger: Logger,
  req: Parameters<DualRequestHandler>[0],
  res: Parameters<DualRequestHandler>[1],
): Promise<void> {
  if (endpoint.handle === undefined) {
    writeJson(res, 501, { error: endpoint.disabled ?? "not served" });
    return;
  }
  if (req.method !== "POST") {
    writeJson(res, 405, { error: "use POST" });
    return;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > endpoint.maxBodyBytes) {
      // The rest is never read: the connection closes once the answer is out, so a client
      // still sending stops instead of waiting on a server that no longer reads.
      // (HTTP/2 has no connection header: there only the stream is reset.)
      res.once("finish", () => req.destroy());
      res.writeHead(413, {
        "content-type": "application/json",
        ...(req.httpVersionMajor === 1 ? { connection: "close" } : {}),
      });
      res.end(
        JSON.stringify({ error: `payload too large: at most ${endpoint.maxBodyBytes} bytes` }),
      );
      return;
    }
    chunks.push(chunk);
  }
  try {
    const outcome = await endpoint.handle(Buffer.concat(chunks), req.headers);
    writeJson(res, outcome.status, outcome.body);
  } catch (error) {
    logger.error({ err: error, path: endpoint.path }, "http endpoint failed");
    writeJson(res, 500, { error: "processing failed" });
  }
}

function writeJson(res: Parameters<DualRequestHandler>[1], status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}
