import {
  Code,
  ConnectError,
  type ContextValues,
  createContextKey,
  createContextValues,
  type Interceptor,
} from "@connectrpc/connect";
import type { Logger } from "../observability/logger.js";
import type { Metrics } from "../observability/metrics.js";
import { kPrincipal } from "./request-context.js";

/**
 * Set by the interceptor once a handler ran, so the HTTP layer can tell calls the protocol
 * layer refused (and account for them itself) from calls this interceptor already logged.
 * Absent where nobody watches (grpc-js calls, in-memory transports), so no shared default
 * record is ever written.
 */
const kCallObserved = createContextKey<{ observed: boolean } | undefined>(undefined, {
  description: "whether the call-log interceptor saw this call",
});

const observations = new WeakMap<object, { observed: boolean }>();

/**
 * Starts watching one HTTP request; the returned record says afterwards whether the
 * interceptor saw the call. Pair with {@link callContextValues} as Connect's `contextValues`.
 */
export function observeCall(req: object): { observed: boolean } {
  const record = { observed: false };
  observations.set(req, record);
  return record;
}

/** Connect `contextValues` that link a request to the record {@link observeCall} made. */
export function callContextValues(req: object): ContextValues {
  return createContextValues().set(kCallObserved, observations.get(req));
}

/**
 * Logs one line per RPC (service, method, code, duration) and records the per-RPC counters and
 * latency histograms. It must run outside the error interceptor so it sees final codes.
 */
export function createCallLogInterceptor(logger: Logger, metrics: Metrics): Interceptor {
  // The line's fields are fixed and hold no secret, so it skips the root logger's path
  // redaction, which walks every path on every line: a measurable share of a call's CPU.
  const rpcLog = logger.child({}, { redact: [] });
  return (next) => async (req) => {
    const watched = req.contextValues.get(kCallObserved);
    if (watched) watched.observed = true;
    const started = process.hrtime.bigint();
    const service = req.service.typeName;
    const method = req.method.name;
    const finish = (thrown: unknown) => {
      // A stream whose client went away ends quietly; it is logged as the cancellation it was.
      const error = thrown ?? (req.signal.aborted ? req.signal.reason : undefined);
      const code = error === undefined ? "ok" : codeName(ConnectError.from(error).code);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      metrics.rpcCalls.inc({ service, method, code });
      metrics.rpcDuration.observe({ service, method, code }, seconds);
      const actor = req.contextValues.get(kPrincipal).actor;
      const line = { service, method, code, actor, durationMs: Math.round(seconds * 1e6) / 1e3 };
      if (error === undefined || code === "canceled") rpcLog.info(line, "rpc");
      else rpcLog.warn({ ...line, error: ConnectError.from(error).rawMessage }, "rpc");
    };
    try {
      const res = await next(req);
      if (!res.stream) {
        finish(undefined);
        return res;
      }
      return { ...res, message: observeStream(res.message, finish) };
    } catch (error) {
      finish(error);
      throw error;
    }
  };
}

// Enough of a made-up path to recognise it in the log, never a caller-sized line.
const LOGGED_PATH_CHARS = 200;

/**
 * Counts and logs an RPC that the protocol layer refused before any handler (and so this
 * interceptor) ran: by HTTP status over Connect, by gRPC code name where grpc-js refused it.
 * `path` becomes a label, so it must be a procedure the server knows or a fixed word;
 * `requestedPath`, what the caller sent, is logged (shortened) and never labelled.
 */
export function reportRefusedCall(
  logger: Logger,
  metrics: Metrics,
  refusal: { path: string; requestedPath?: string; status: string; durationMs?: number },
): void {
  metrics.rejectedRequests.inc({ path: refusal.path, status: refusal.status });
  const requestedPath = refusal.requestedPath?.slice(0, LOGGED_PATH_CHARS);
  logger.warn({ ...refusal, requestedPath }, "rpc refused by the protocol layer");
}

/** Connect's code name in snake case (`invalid_argument`), as the metrics label it. */
export function codeName(code: Code): string {
  return Code[code].replace(/[A-Z]/g, (c, i: number) => (i === 0 ? "" : "_") + c.toLowerCase());
}

async function* observeStream<T>(
  source: AsyncIterable<T>,
  finish: (error: unknown) => void,
): AsyncIterable<T> {
  try {
    yield* source;
  } catch (error) {
    finish(error);
    throw error;
  }
  finish(undefined);
}
