import type { Interceptor } from "@connectrpc/connect";
import { ResourceExhaustedError } from "../platform/errors/domain-error.js";
import { kPrincipal, type Principal } from "../platform/server/request-context.js";

/** Options of {@link createCallLimits}; every limit is per API key and replica. */
export interface CallLimitOptions {
  /** Token bucket refill: sustained calls per second. */
  perSecond: number;
  /** Token bucket capacity: the burst a key may make. */
  burst: number;
  /** Streaming calls held open at once. */
  maxStreams: number;
  /** Expensive reads running at once. */
  maxReads: number;
}

/** Calls that hold a stream (and its memory and timers) for as long as the client likes. */
const STREAMS = new Set([
  "tollgate.v1.EventService/StreamEvents",
  "tollgate.v1.UsageService/StreamUsage",
]);

/**
 * Reads whose cost grows with what the caller asks for (a time range, a listing, a provider
 * call), each holding a database connection or a Stripe request while it runs.
 */
const HEAVY_READS = new Set([
  "tollgate.v1.UsageService/GetUsage",
  "tollgate.v1.UsageService/ListUsageEvents",
  "tollgate.v1.BillingService/GetUpcomingInvoice",
  "tollgate.v1.BillingService/ListSubscriptions",
  "tollgate.v1.BillingService/ListAuditEvents",
  "tollgate.v1.BillingService/ListCustomers",
  "tollgate.v1.BillingService/CountCustomers",
  "tollgate.v1.EventService/ListEvents",
  "tollgate.v1.EventService/ListDeliveries",
  "tollgate.v1.EntitlementService/ListGrants",
  "tollgate.v1.EntitlementService/ListEntitlementOverrides",
  "tollgate.v1.EntitlementService/ListFeatureOverrides",
  "tollgate.v1.BillingService/ListPriceOverrides",
]);

/** A key's token bucket: tokens as of `time` (`performance.now()` milliseconds). */
interface Bucket {
  tokens: number;
  time: number;
}

/** Buckets kept before full (idle) ones are forgotten; a full bucket is the default anyway. */
const MAX_IDLE_BUCKETS = 10_000;

/**
 * Keeps one API key from taking the server from everyone else: a token bucket of calls, a cap
 * on open streams and a cap on expensive reads running at once, each answered
 * `ResourceExhausted` (with `retry-after`) past its limit, before any work is done. Kept per
 * replica in memory, not in PostgreSQL: a shared bucket would cost a database round trip on
 * every call of the hot path, which is what the limit protects; with N replicas a key gets at
 * most N times the rate, and the caps bound what it can hold on each replica, which is what
 * protects the others there. Open mode (development without keys) has a single caller and
 * is not limited. Billing mutations keep their exact, shared limit
 * (`createRateLimitInterceptor`).
 */
export function createCallLimits(options: CallLimitOptions): {
  interceptor: Interceptor;
  /** Counts a call of `principal` made outside Connect (a plain-HTTP endpoint) against its rate. */
  takeCall(principal: Principal): void;
} {
  const buckets = new Map<string, Bucket>();
  const streams = new Map<string, number>();
  const reads = new Map<string, number>();

  // Tokens a bucket holds at `now`: what it had, refilled for the time since, up to the burst.
  const refilled = (bucket: Bucket, now: number) =>
    Math.min(options.burst, bucket.tokens + ((now - bucket.time) / 1000) * options.perSecond);

  const takeToken = (key: string): number | undefined => {
    const now = performance.now();
    const bucket = buckets.get(key) ?? { tokens: options.burst, time: now };
    bucket.tokens = refilled(bucket, now);
    bucket.time = now;
    if (!buckets.has(key)) {
      if (buckets.size >= MAX_IDLE_BUCKETS) {
        for (const [idle, held] of buckets) {
          if (refilled(held, now) >= options.burst) buckets.delete(idle);
        }
      }
      buckets.set(key, bucket);
    }
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return undefined;
    }
    return Math.ceil(((1 - bucket.tokens) / options.perSecond) * 1000);
  };

  const hold = (counts: Map<string, number>, key: string, max: number, what: string) => {
    const held = counts.get(key) ?? 0;
    if (held >= max) {
      throw new ResourceExhaustedError(
        `this API key already has ${held} ${what} running on this server, the most allowed; retry when one ends`,
        1_000,
      );
    }
    counts.set(key, held + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (counts.get(key) ?? 1) - 1;
      if (left === 0) counts.delete(key);
      else counts.set(key, left);
    };
  };

  const takeCall = (principal: Principal) => {
    if (principal.role === "open") return;
    const retryAfterMs = takeToken(principal.actor);
    if (retryAfterMs !== undefined) {
      throw new ResourceExhaustedError(
        `rate limit reached for this API key (${options.perSecond} calls/s); retry in ${Math.ceil(retryAfterMs / 1000)}s`,
        retryAfterMs,
      );
    }
  };

  const interceptor: Interceptor = (next) => async (req) => {
    const principal = req.contextValues.get(kPrincipal);
    if (principal.role === "open" || !req.service.typeName.startsWith("tollgate.")) {
      return next(req);
    }
    const key = principal.actor;
    takeCall(principal);
    const procedure = `${req.service.typeName}/${req.method.name}`;
    const release = STREAMS.has(procedure)
      ? hold(streams, key, options.maxStreams, "streams")
      : HEAVY_READS.has(procedure)
        ? hold(reads, key, options.maxReads, "expensive reads")
        : undefined;
    if (release === undefined) return next(req);
    try {
      const res = await next(req);
      if (!res.stream) {
        release();
        return res;
      }
      return { ...res, message: releaseWhenDone(res.message, release) };
    } catch (error) {
      release();
      throw error;
    }
  };
  return { interceptor, takeCall };
}

// Ends the hold when the response stream ends, fails, or is abandoned by its client.
async function* releaseWhenDone<T>(source: AsyncIterable<T>, release: () => void) {
  try {
    yield* source;
  } finally {
    release();
  }
}
