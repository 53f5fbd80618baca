import type { connectNodeAdapter } from "@connectrpc/connect-node";
import { HealthCheckResponse_ServingStatus as ServingStatus } from "../../../gen/health/v1/health_pb.js";
import type { WebhookOutcome } from "../../billing/stripe-webhooks.js";
import { observeCall, reportRefusedCall } from "./call-log-interceptor.js";
import type { Logger } from "../observability/logger.js";
import type { Metrics } from "../observability/metrics.js";
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
  /** Processes a Stripe webhook delivery; undefined when the provider is not Stripe. */
  stripeWebhook?: (rawBody: Buffer, signature: string | undefined) => Promise<WebhookOutcome>;
}

/** The metric label of every request for a path no procedure answers. */
const UNMATCHED_PATH = "unmatched";

// Stripe's events are a few kilobytes; anything far larger is not from Stripe.
const MAX_WEBHOOK_BYTES = 1024 * 1024;

/**
 * Routes plain HTTP endpoints (`/healthz`, `/metrics`, `/webhooks/stripe`, the console under
 * `/console`, with `/` leading there) and hands everything
 * else to Connect. RPCs that the protocol layer refuses before any handler runs (wrong content
 * type, malformed or oversized message) are logged and counted here, since no interceptor sees
 * them.
 */
export function createHttpHandler(options: HttpHandlerOptions): DualRequestHandler {
  const { metrics, logger, rpc } = options;
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
    if (path === "/webhooks/stripe") {
      void serveStripeWebhook(options, req, res);
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

// Gated by Stripe's signature over the raw body, not by API keys.
async function serveStripeWebhook(
  options: HttpHandlerOptions,
  req: Parameters<DualRequestHandler>[0],
  res: Parameters<DualRequestHandler>[1],
): Promise<void> {
  const process = options.stripeWebhook;
  if (process === undefined) {
    writeJson(res, 501, { error: "stripe webhooks are served when BILLING_PROVIDER=stripe" });
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
    if (size > MAX_WEBHOOK_BYTES) {
      writeJson(res, 413, { error: "payload too large" });
      return;
    }
    chunks.push(chunk);
  }
  const signature = req.headers["stripe-signature"];
  try {
    const outcome = await process(
      Buffer.concat(chunks),
      Array.isArray(signature) ? signature[0] : signature,
    );
    writeJson(res, outcome.status, outcome.body);
  } catch (error) {
    options.logger.error({ err: error }, "stripe webhook failed");
    writeJson(res, 500, { error: "processing failed; Stripe will retry" });
  }
}

function writeJson(res: Parameters<DualRequestHandler>[1], status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}
