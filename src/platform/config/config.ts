import { bool, cleanEnv, makeValidator, str } from "envalid";
import { API_KEY_PATTERN } from "../crypto/api-key.js";

/** Deployment environments; `production` switches on Stripe and refuses unsafe defaults. */
export const ENVIRONMENTS = ["development", "test", "staging", "production"] as const;
/** Billing providers an operator may pick with `BILLING_PROVIDER`. */
export const BILLING_PROVIDERS = ["mock", "stripe"] as const;
/** pino's level names, accepted by `LOG_LEVEL`. */
export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

/** Validated server configuration, read once at start-up from the environment. */
export interface Config {
  port: number;
  host: string;
  /** PostgreSQL connection string; undefined selects embedded PGlite in `dataDir`. */
  databaseUrl: string | undefined;
  dataDir: string;
  /** Most pooled PostgreSQL connections per replica. */
  databasePoolMax: number;
  /** How long a query waits for a pooled connection before its call gets `Unavailable`. */
  databasePoolWaitSeconds: number;
  environment: (typeof ENVIRONMENTS)[number];
  billingProvider: (typeof BILLING_PROVIDERS)[number];
  stripeSecretKey: string | undefined;
  stripeWebhookSecret: string | undefined;
  /** Where the Stripe API is reached; Stripe itself when undefined (a proxy or test double). */
  stripeApiUrl: string | undefined;
  /** Report meter events on Stripe's v2 meter event stream instead of v1, one call per event. */
  stripeMeterStream: boolean;
  /** How often usage deltas are reported to the provider's meters; retries back off from it. */
  meterSyncIntervalSeconds: number;
  /** Most meter-event calls per second to the provider, per replica. */
  meterCallsPerSecond: number;
  usageBatchSize: number;
  usageFlushIntervalSeconds: number;
  /** Most usage events held in memory per replica before callers must wait. */
  usageBufferLimit: number;
  /** Most estimated heap bytes those buffered events may hold per replica. */
  usageBufferLimitBytes: number;
  /** How long a failing usage flush is retried before its callers get `Unavailable`. */
  usageFlushFailAfterSeconds: number;
  logLevel: (typeof LOG_LEVELS)[number];
  planCatalogPath: string | undefined;
  /** How often each replica applies due trial ends, rollovers and scheduled cancellations. */
  billingSweepIntervalSeconds: number;
  /** An admin key that must exist at start (for containers); never logged. */
  bootstrapAdminKey: string | undefined;
  /** Token bucket per API key for billing mutations: refill per minute and capacity. */
  billingRateLimitPerMinute: number;
  billingRateLimitBurst: number;
  /** How long one report statement (`GetUsage`) may run before it is stopped. */
  readStatementTimeoutSeconds: number;
  /** Calls per second per API key and replica (token bucket refill); never for open mode. */
  rateLimitPerSecond: number;
  /** Token bucket capacity per API key and replica: the burst a key may make. */
  rateLimitBurst: number;
  /** Streaming calls (`StreamEvents`, `StreamUsage`) one key may hold open per replica. */
  maxStreamsPerKey: number;
  /** Expensive reads (reports, listings, invoice previews) one key may run at once per replica. */
  maxConcurrentReadsPerKey: number;
  /** How long an invoice preview from the provider is reused for the same subscription. */
  invoicePreviewCacheSeconds: number;
  /** How long a tenant's billing lease outlives a replica that died holding it. */
  billingLeaseSeconds: number;
  maxMessageBytes: number;
  /** Connection hygiene on the one port: timeouts in seconds, and caps. */
  connections: {
    headersTimeoutSeconds: number;
    requestTimeoutSeconds: number;
    idleTimeoutSeconds: number;
    keepaliveIntervalSeconds: number;
    keepaliveTimeoutSeconds: number;
    maxConnections: number;
    maxConcurrentStreams: number;
  };
  shutdownTimeoutSeconds: number;
  runMigrations: boolean;
  /** Webhook delivery: delay before each attempt (the first, then after each failure). */
  webhookRetryScheduleSeconds: number[];
  /** How long a webhook receiver may take to answer. */
  webhookTimeoutSeconds: number;
  /** Outside development, allow endpoints on loopback, private and link-local addresses. */
  webhookAllowPrivateNetworks: boolean;
  /** How often each replica settles counters that ingestion and commits queued. */
  settleSweepIntervalSeconds: number;
  /**
   * Send each tenant's share of an admission batch as a statement of its own instead of one
   * for all (a distributed database always gets one per tenant, whatever this says).
   */
  admissionStatementPerTenant: boolean;
  /** How old an event's `occur_time` may be (hours) before it is rejected `EVENT_TOO_OLD`. */
  usageLateWindowHours: number;
  /** How long after its end a period stays open to late events and corrections (hours). */
  periodGraceHours: number;
  /** Whether a tenant key may void its own tenant's usage (`VoidUsage`). */
  tenantSelfServiceCorrections: boolean;
}

/**
 * Thrown when the environment holds a bad value. Its message names every offending variable
 * and what it accepts, so an operator can fix all of them in one go.
 */
export class ConfigError extends Error {
  override name = "ConfigError";
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
  }
}

const positiveInt = makeValidator<number>((input) => {
  if (!/^[1-9][0-9]*$/.test(input.trim())) throw new Error("expected a positive whole number");
  const value = Number(input);
  if (!Number.isSafeInteger(value)) throw new Error("expected a positive whole number");
  return value;
});

/**
 * Stripe takes meter events whose timestamp is at most 35 days old: a late event accepted
 * beyond that could never be billed.
 */
const MAX_LATE_WINDOW_HOURS = 840;
/** Stripe keeps an invoice in draft (open to usage) for at most 72 hours after its period. */
const MAX_PERIOD_GRACE_HOURS = 72;

// Whole hours from 0 to `max`.
const hoursUpTo = (max: number) =>
  makeValidator<number>((input) => {
    const value = Number(input.trim());
    if (!/^[0-9]+$/.test(input.trim()) || value > max) {
      throw new Error(`expected whole hours from 0 to ${max}`);
    }
    return value;
  });

// Port 0 asks the OS for a free port; the server logs the one it got.
const tcpPort = makeValidator<number>((input) => {
  const value = Number(input);
  if (!/^[0-9]+$/.test(input.trim()) || value > 65_535) {
    throw new Error("expected a TCP port from 0 to 65535");
  }
  return value;
});

const positiveSeconds = makeValidator<number>((input) => {
  if (!/^[0-9]+(\.[0-9]+)?$/.test(input.trim())) throw new Error("expected a number of seconds");
  const value = Number(input);
  if (!(value > 0 && value <= 86_400)) throw new Error("expected seconds between 0 and 86400");
  return value;
});

const postgresUrl = makeValidator<string>((input) => {
  if (!/^postgres(ql)?:\/\/\S+$/.test(input) || !URL.canParse(input)) {
    throw new Error("expected a postgres:// or postgresql:// URL");
  }
  return input;
});

const httpUrl = makeValidator<string>((input) => {
  if (!/^https?:\/\/\S+$/.test(input) || !URL.canParse(input)) {
    throw new Error("expected an http:// or https:// URL");
  }
  return input;
});

// The message never repeats the value: it is a secret.
const apiKey = makeValidator<string>((input) => {
  if (!API_KEY_PATTERN.test(input)) {
    throw new Error("expected tg_<8 lower-case letters or digits>_<24 or more letters or digits>");
  }
  return input;
});

// Seconds, comma-separated, each a non-negative number: the delay before each attempt.
const secondsList = makeValidator<number[]>((input) => {
  const parts = input.split(",").map((p) => p.trim());
  const values = parts.map(Number);
  if (parts.some((p) => p === "") || values.some((v) => !Number.isFinite(v) || v < 0)) {
    throw new Error("expected comma-separated non-negative seconds such as 0,5,300");
  }
  return values;
});

const SPECS = {
  PORT: tcpPort({ default: 8080, desc: "TCP port for every protocol" }),
  HOST: str({ default: "", desc: "interface to bind" }),
  DATABASE_URL: postgresUrl({ default: undefined }),
  TOLLGATE_DATA_DIR: str({ default: ".tollgate/data" }),
  DATABASE_POOL_MAX: positiveInt({ default: 20 }),
  DATABASE_POOL_WAIT_SECONDS: positiveSeconds({ default: 3 }),
  ENVIRONMENT: str({ choices: ENVIRONMENTS, default: "development" }),
  BILLING_PROVIDER: str({ choices: ["", ...BILLING_PROVIDERS], default: "" }),
  STRIPE_SECRET_KEY: str({ default: "" }),
  STRIPE_WEBHOOK_SECRET: str({ default: "" }),
  STRIPE_API_URL: httpUrl({ default: undefined }),
  STRIPE_METER_STREAM: bool({ default: false }),
  METER_SYNC_INTERVAL_SECONDS: positiveSeconds({ default: 60 }),
  METER_CALLS_PER_SECOND: positiveInt({ default: 100 }),
  USAGE_TRACKER_BATCH_SIZE: positiveInt({ default: 1000 }),
  USAGE_TRACKER_FLUSH_INTERVAL: positiveSeconds({ default: 0.05 }),
  USAGE_BUFFER_LIMIT: positiveInt({ default: 50_000 }),
  USAGE_BUFFER_LIMIT_BYTES: positiveInt({ default: 256 * 1024 * 1024 }),
  USAGE_FLUSH_FAIL_AFTER_SECONDS: positiveSeconds({ default: 10 }),
  LOG_LEVEL: str({ choices: LOG_LEVELS, default: "info" }),
  PLAN_CATALOG_PATH: str({ default: "" }),
  BILLING_SWEEP_INTERVAL_SECONDS: positiveSeconds({ default: 30 }),
  TOLLGATE_BOOTSTRAP_ADMIN_KEY: apiKey({ default: undefined }),
  BILLING_RATE_LIMIT_PER_MINUTE: positiveInt({ default: 60 }),
  BILLING_RATE_LIMIT_BURST: positiveInt({ default: 20 }),
  BILLING_LEASE_SECONDS: positiveSeconds({ default: 60 }),
  READ_STATEMENT_TIMEOUT_SECONDS: positiveSeconds({ default: 10 }),
  RATE_LIMIT_PER_SECOND: positiveInt({ default: 5_000 }),
  RATE_LIMIT_BURST: positiveInt({ default: 10_000 }),
  MAX_STREAMS_PER_KEY: positiveInt({ default: 32 }),
  MAX_CONCURRENT_READS_PER_KEY: positiveInt({ default: 8 }),
  INVOICE_PREVIEW_CACHE_SECONDS: positiveSeconds({ default: 5 }),
  MAX_MESSAGE_BYTES: positiveInt({ default: 4 * 1024 * 1024 }),
  HTTP_HEADERS_TIMEOUT_SECONDS: positiveSeconds({ default: 10 }),
  HTTP_REQUEST_TIMEOUT_SECONDS: positiveSeconds({ default: 60 }),
  HTTP_IDLE_TIMEOUT_SECONDS: positiveSeconds({ default: 65 }),
  HTTP2_KEEPALIVE_INTERVAL_SECONDS: positiveSeconds({ default: 30 }),
  HTTP2_KEEPALIVE_TIMEOUT_SECONDS: positiveSeconds({ default: 10 }),
  MAX_CONNECTIONS: positiveInt({ default: 10_000 }),
  HTTP2_MAX_CONCURRENT_STREAMS: positiveInt({ default: 1_000 }),
  SHUTDOWN_TIMEOUT_SECONDS: positiveSeconds({ default: 10 }),
  RUN_MIGRATIONS: bool({ default: true }),
  WEBHOOK_RETRY_SCHEDULE: secondsList({
    default: [0, 5, 300, 1800, 7200, 18000, 36000, 36000],
  }),
  WEBHOOK_TIMEOUT_SECONDS: positiveSeconds({ default: 15 }),
  WEBHOOK_ALLOW_PRIVATE_NETWORKS: bool({ default: false }),
  SETTLE_SWEEP_INTERVAL_SECONDS: positiveSeconds({ default: 1 }),
  ADMISSION_STATEMENT_PER_TENANT: bool({ default: false }),
  USAGE_LATE_WINDOW_HOURS: hoursUpTo(MAX_LATE_WINDOW_HOURS)({ default: 840 }),
  PERIOD_GRACE_HOURS: hoursUpTo(MAX_PERIOD_GRACE_HOURS)({ default: 24 }),
  TENANT_SELF_SERVICE_CORRECTIONS: bool({ default: false }),
} as const;

/**
 * Reads and validates the configuration. Every problem is collected before failing, and
 * nothing is read from the environment anywhere else, so the whole surface is documented here.
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const problems: string[] = [];
  const raw = cleanEnv(env, SPECS, {
    reporter: ({ errors }) => {
      for (const [name, error] of Object.entries(errors)) {
        problems.push(`${name}: ${(error as Error).message}${describeAccepted(name)}`);
      }
    },
  });
  if (problems.length > 0) throw new ConfigError(problems);

  const environment = raw.ENVIRONMENT;
  const billingProvider =
    raw.BILLING_PROVIDER || (environment === "production" ? "stripe" : "mock");
  if (billingProvider === "stripe") {
    if (!raw.STRIPE_SECRET_KEY) {
      problems.push("STRIPE_SECRET_KEY: required when the billing provider is stripe");
    }
    if (!raw.STRIPE_WEBHOOK_SECRET) {
      problems.push("STRIPE_WEBHOOK_SECRET: required when the billing provider is stripe");
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);

  return {
    port: raw.PORT,
    host: raw.HOST || (environment === "production" ? "0.0.0.0" : "127.0.0.1"),
    databaseUrl: raw.DATABASE_URL,
    dataDir: raw.TOLLGATE_DATA_DIR,
    databasePoolMax: raw.DATABASE_POOL_MAX,
    databasePoolWaitSeconds: raw.DATABASE_POOL_WAIT_SECONDS,
    environment,
    billingProvider,
    stripeSecretKey: raw.STRIPE_SECRET_KEY || undefined,
    stripeWebhookSecret: raw.STRIPE_WEBHOOK_SECRET || undefined,
    stripeApiUrl: raw.STRIPE_API_URL,
    stripeMeterStream: raw.STRIPE_METER_STREAM,
    meterSyncIntervalSeconds: raw.METER_SYNC_INTERVAL_SECONDS,
    meterCallsPerSecond: raw.METER_CALLS_PER_SECOND,
    usageBatchSize: raw.USAGE_TRACKER_BATCH_SIZE,
    usageFlushIntervalSeconds: raw.USAGE_TRACKER_FLUSH_INTERVAL,
    usageBufferLimit: raw.USAGE_BUFFER_LIMIT,
    usageBufferLimitBytes: raw.USAGE_BUFFER_LIMIT_BYTES,
    usageFlushFailAfterSeconds: raw.USAGE_FLUSH_FAIL_AFTER_SECONDS,
    logLevel: raw.LOG_LEVEL,
    planCatalogPath: raw.PLAN_CATALOG_PATH || undefined,
    billingSweepIntervalSeconds: raw.BILLING_SWEEP_INTERVAL_SECONDS,
    bootstrapAdminKey: raw.TOLLGATE_BOOTSTRAP_ADMIN_KEY,
    billingRateLimitPerMinute: raw.BILLING_RATE_LIMIT_PER_MINUTE,
    billingRateLimitBurst: raw.BILLING_RATE_LIMIT_BURST,
    billingLeaseSeconds: raw.BILLING_LEASE_SECONDS,
    readStatementTimeoutSeconds: raw.READ_STATEMENT_TIMEOUT_SECONDS,
    rateLimitPerSecond: raw.RATE_LIMIT_PER_SECOND,
    rateLimitBurst: raw.RATE_LIMIT_BURST,
    maxStreamsPerKey: raw.MAX_STREAMS_PER_KEY,
    maxConcurrentReadsPerKey: raw.MAX_CONCURRENT_READS_PER_KEY,
    invoicePreviewCacheSeconds: raw.INVOICE_PREVIEW_CACHE_SECONDS,
    maxMessageBytes: raw.MAX_MESSAGE_BYTES,
    connections: {
      headersTimeoutSeconds: raw.HTTP_HEADERS_TIMEOUT_SECONDS,
      requestTimeoutSeconds: raw.HTTP_REQUEST_TIMEOUT_SECONDS,
      idleTimeoutSeconds: raw.HTTP_IDLE_TIMEOUT_SECONDS,
      keepaliveIntervalSeconds: raw.HTTP2_KEEPALIVE_INTERVAL_SECONDS,
      keepaliveTimeoutSeconds: raw.HTTP2_KEEPALIVE_TIMEOUT_SECONDS,
      maxConnections: raw.MAX_CONNECTIONS,
      maxConcurrentStreams: raw.HTTP2_MAX_CONCURRENT_STREAMS,
    },
    shutdownTimeoutSeconds: raw.SHUTDOWN_TIMEOUT_SECONDS,
    runMigrations: raw.RUN_MIGRATIONS,
    webhookRetryScheduleSeconds: raw.WEBHOOK_RETRY_SCHEDULE,
    webhookTimeoutSeconds: raw.WEBHOOK_TIMEOUT_SECONDS,
    webhookAllowPrivateNetworks: raw.WEBHOOK_ALLOW_PRIVATE_NETWORKS,
    settleSweepIntervalSeconds: raw.SETTLE_SWEEP_INTERVAL_SECONDS,
    admissionStatementPerTenant: raw.ADMISSION_STATEMENT_PER_TENANT,
    usageLateWindowHours: raw.USAGE_LATE_WINDOW_HOURS,
    periodGraceHours: raw.PERIOD_GRACE_HOURS,
    tenantSelfServiceCorrections: raw.TENANT_SELF_SERVICE_CORRECTIONS,
  };
}

function describeAccepted(name: string): string {
  const spec = SPECS[name as keyof typeof SPECS] as { choices?: readonly string[] };
  const choices = spec.choices?.filter((c) => c !== "");
  return choices ? ` (accepted: ${choices.join(", ")})` : "";
}
