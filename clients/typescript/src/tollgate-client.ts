import {
  type Client,
  Code,
  ConnectError,
  createClient,
  type Interceptor,
} from "@connectrpc/connect";
import {
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
} from "@connectrpc/connect-node";
import { fromConnectError } from "./errors.js";
import {
  type CachedFeature,
  createFeatureCache,
  type FeatureCache,
  type FeatureCacheOptions,
} from "./feature-cache.js";
import { BillingService } from "./gen/tollgate/v1/billing_service_pb.js";
import { EntitlementService } from "./gen/tollgate/v1/entitlement_service_pb.js";
import { EventService } from "./gen/tollgate/v1/event_service_pb.js";
import { UsageService } from "./gen/tollgate/v1/usage_service_pb.js";

/**
 * Options of {@link createTollgateClient}. Optional options may be `undefined`, so
 * `apiKey: process.env.TOLLGATE_API_KEY` type-checks under `exactOptionalPropertyTypes`.
 */
export interface TollgateClientOptions {
  /** The server, for example `http://127.0.0.1:8080`; checked at once. */
  baseUrl: string;
  /** An API key (`tg_…`), sent as `authorization: Bearer <key>`; omit for an open dev server. */
  apiKey?: string | undefined;
  /**
   * The wire protocol: Connect (default, binary messages) or gRPC, both over HTTP/2, or
   * gRPC-Web over HTTP/1.1. Connect costs the calling process the least CPU per call (about
   * 160 µs against 210 µs over gRPC, measured with 32 calls in flight); the server spends
   * less on gRPC (about 80 µs against 130 µs), which grpc-js serves, so the sum is even.
   * gRPC-Web cannot carry client streams: the usage tracker then sends batches with TrackUsage.
   */
  protocol?: "connect" | "grpc" | "grpc-web" | undefined;
  /** Deadline of each call unless the call sets its own; 10 s by default. */
  timeoutMs?: number | undefined;
  /** Attempts of a call that is safe to retry and failed with `Unavailable`; 4 by default. */
  maxAttempts?: number | undefined;
  /** First backoff delay, doubled per attempt with jitter; 100 ms by default. */
  retryBaseDelayMs?: number | undefined;
  /**
   * The feature cache behind `checkFeature`: staleness, fallback values, size. It starts with
   * the first `checkFeature` call, following the server's events from then on.
   */
  cache?: FeatureCacheOptions | undefined;
}

/** The Tollgate services, typed from the API contract. */
export interface TollgateClient {
  protocol: "connect" | "grpc" | "grpc-web";
  billing: Client<typeof BillingService>;
  entitlements: Client<typeof EntitlementService>;
  usage: Client<typeof UsageService>;
  /** Events (alerts, denials, lifecycle), their resumable stream, and webhook endpoints. */
  events: Client<typeof EventService>;
  /**
   * A tenant's feature, answered in process once the tenant's features are cached (no round
   * trip), kept fresh by the event stream, then from the last known values while the server is
   * unreachable (`staleForMs`), then from the fallback; `source` says which.
   */
  checkFeature(tenantId: string, feature: string): Promise<CachedFeature>;
  /** Stops the feature cache's event stream, if it started. */
  close(): void;
}

/**
 * Creates typed clients of the three services over one transport. Calls carry the API key and
 * a default deadline. Calls that are safe to repeat — reads, and mutations that carry a
 * `request_id`, an `idempotency_key` or event ids — are retried with exponential backoff when
 * the server answers `Unavailable`; everything else fails at once. Errors arrive as
 * `ConnectError`s, with billing provider failures as `BillingProviderError`.
 */
export function createTollgateClient(options: TollgateClientOptions): TollgateClient {
  const baseUrl = checkBaseUrl(options.baseUrl);
  const interceptors: Interceptor[] = [
    createErrorMappingInterceptor(),
    createRetryInterceptor(options.maxAttempts ?? 4, options.retryBaseDelayMs ?? 100),
  ];
  if (options.apiKey !== undefined && options.apiKey !== "") {
    const authorization = `Bearer ${options.apiKey}`;
    interceptors.push((next) => (req) => {
      req.header.set("authorization", authorization);
      return next(req);
    });
  }
  const common = {
    baseUrl,
    interceptors,
    defaultTimeoutMs: options.timeoutMs ?? 10_000,
  };
  const transport =
    options.protocol === "grpc"
      ? createGrpcTransport(common)
      : options.protocol === "grpc-web"
        ? createGrpcWebTransport({ ...common, httpVersion: "1.1" })
        : // Connect with binary messages costs the server the least per call (npm run bench).
          createConnectTransport({ ...common, httpVersion: "2", useBinaryFormat: true });
  const entitlements = createClient(EntitlementService, transport);
  const events = createClient(EventService, transport);
  let cache: FeatureCache | undefined;
  return {
    protocol: options.protocol ?? "connect",
    billing: createClient(BillingService, transport),
    entitlements,
    usage: createClient(UsageService, transport),
    events,
    checkFeature(tenantId, feature) {
      cache ??= createFeatureCache({ entitlements, events }, options.cache);
      return cache.checkFeature(tenantId, feature);
    },
    close() {
      cache?.close();
    },
  };
}

/**
 * The base URL as the transports need it, or a `TypeError` that names it: a URL without a
 * scheme would otherwise fail deep inside the transport as a bare "Invalid URL".
 */
function checkBaseUrl(baseUrl: string): string {
  let url: URL | undefined;
  try {
    url = new URL(baseUrl);
  } catch {
    url = undefined;
  }
  if (url === undefined || (url.protocol !== "http:" && url.protocol !== "https:")) {
    throw new TypeError(
      `createTollgateClient: baseUrl ${JSON.stringify(baseUrl)} must be an http:// or https:// URL, for example http://127.0.0.1:8080`,
    );
  }
  return baseUrl;
}

// RPCs that change nothing, or whose repetition the server recognises on its own.
const ALWAYS_SAFE = new Set([
  "GetCustomer",
  "ListPlans",
  "GetPlan",
  "GetTestClock",
  "GetSubscription",
  "ListSubscriptions",
  "ListAuditEvents",
  "Check",
  "GetEntitlements",
  "GetFeatures",
  "CheckFeature",
  "GetUsage",
  "GetIngestStats",
  "TrackUsage",
  "CommitReservation",
  "ReleaseReservation",
]);

function isSafeToRetry(method: string, message: unknown): boolean {
  if (ALWAYS_SAFE.has(method)) return true;
  const fields = message as { requestId?: string; idempotencyKey?: string };
  return Boolean(fields.requestId || fields.idempotencyKey);
}

function createRetryInterceptor(maxAttempts: number, baseDelayMs: number): Interceptor {
  return (next) => async (req) => {
    if (req.stream || !isSafeToRetry(req.method.name, req.message)) return next(req);
    for (let attempt = 1; ; attempt++) {
      try {
        return await next(req);
      } catch (error) {
        const code = ConnectError.from(error).code;
        if (code !== Code.Unavailable || attempt >= maxAttempts || req.signal.aborted) throw error;
        const delay = baseDelayMs * 2 ** (attempt - 1) * (0.5 + Math.random());
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  };
}

function createErrorMappingInterceptor(): Interceptor {
  return (next) => async (req) => {
    try {
      return await next(req);
    } catch (error) {
      throw fromConnectError(error);
    }
  };
}
