import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "./config.js";

describe(loadConfig.name, () => {
  it("should give a working development default with nothing set", () => {
    expect(loadConfig({})).toEqual({
      port: 8080,
      host: "127.0.0.1",
      databaseUrl: undefined,
      dataDir: ".tollgate/data",
      environment: "development",
      billingProvider: "mock",
      stripeSecretKey: undefined,
      stripeWebhookSecret: undefined,
      usageBatchSize: 1000,
      usageFlushIntervalSeconds: 0.05,
      logLevel: "info",
      planCatalogPath: undefined,
      billingSweepIntervalSeconds: 30,
      databasePoolMax: 20,
      databasePoolWaitSeconds: 3,
      stripeApiUrl: undefined,
      stripeMeterStream: false,
      meterSyncIntervalSeconds: 60,
      meterCallsPerSecond: 100,
      usageBufferLimit: 50_000,
      usageBufferLimitBytes: 256 * 1024 * 1024,
      usageFlushFailAfterSeconds: 10,
      bootstrapAdminKey: undefined,
      billingRateLimitPerMinute: 60,
      billingRateLimitBurst: 20,
      billingLeaseSeconds: 60,
      readStatementTimeoutSeconds: 10,
      rateLimitPerSecond: 5_000,
      rateLimitBurst: 10_000,
      maxStreamsPerKey: 32,
      maxConcurrentReadsPerKey: 8,
      invoicePreviewCacheSeconds: 5,
      maxMessageBytes: 4 * 1024 * 1024,
      connections: {
        headersTimeoutSeconds: 10,
        requestTimeoutSeconds: 60,
        idleTimeoutSeconds: 65,
        keepaliveIntervalSeconds: 30,
        keepaliveTimeoutSeconds: 10,
        maxConnections: 10_000,
        maxConcurrentStreams: 1_000,
      },
      shutdownTimeoutSeconds: 10,
      runMigrations: true,
      webhookRetryScheduleSeconds: [0, 5, 300, 1800, 7200, 18000, 36000, 36000],
      webhookTimeoutSeconds: 15,
      webhookAllowPrivateNetworks: false,
      settleSweepIntervalSeconds: 1,
      admissionStatementPerTenant: false,
      usageLateWindowHours: 840,
      periodGraceHours: 24,
      tenantSelfServiceCorrections: false,
    });
  });

  it("should read every variable", () => {
    const config = loadConfig({
      PORT: "9000",
      HOST: "0.0.0.0",
      DATABASE_URL: "postgres://u:p@db:5432/tollgate",
      TOLLGATE_DATA_DIR: "/var/lib/tollgate",
      ENVIRONMENT: "staging",
      BILLING_PROVIDER: "stripe",
      STRIPE_SECRET_KEY: "sk_test_x",
      STRIPE_WEBHOOK_SECRET: "whsec_x",
      USAGE_TRACKER_BATCH_SIZE: "250",
      USAGE_TRACKER_FLUSH_INTERVAL: "30",
      LOG_LEVEL: "debug",
      PLAN_CATALOG_PATH: "/etc/tollgate/plans.json",
      MAX_MESSAGE_BYTES: "1048576",
      SHUTDOWN_TIMEOUT_SECONDS: "2.5",
      RUN_MIGRATIONS: "false",
      BILLING_SWEEP_INTERVAL_SECONDS: "5",
      DATABASE_POOL_WAIT_SECONDS: "0.5",
      HTTP_HEADERS_TIMEOUT_SECONDS: "2",
      HTTP_IDLE_TIMEOUT_SECONDS: "30",
      HTTP2_KEEPALIVE_INTERVAL_SECONDS: "15",
      HTTP2_KEEPALIVE_TIMEOUT_SECONDS: "5",
      MAX_CONNECTIONS: "500",
      HTTP2_MAX_CONCURRENT_STREAMS: "64",
      HTTP_REQUEST_TIMEOUT_SECONDS: "20",
      USAGE_BUFFER_LIMIT_BYTES: "1000000",
      BILLING_LEASE_SECONDS: "90",
      READ_STATEMENT_TIMEOUT_SECONDS: "3",
      RATE_LIMIT_PER_SECOND: "100",
      RATE_LIMIT_BURST: "200",
      MAX_STREAMS_PER_KEY: "4",
      MAX_CONCURRENT_READS_PER_KEY: "2",
      INVOICE_PREVIEW_CACHE_SECONDS: "1.5",
      ADMISSION_STATEMENT_PER_TENANT: "true",
      USAGE_LATE_WINDOW_HOURS: "168",
      PERIOD_GRACE_HOURS: "48",
      TENANT_SELF_SERVICE_CORRECTIONS: "true",
    });
    expect(config).toMatchObject({
      port: 9000,
      host: "0.0.0.0",
      databaseUrl: "postgres://u:p@db:5432/tollgate",
      dataDir: "/var/lib/tollgate",
      environment: "staging",
      billingProvider: "stripe",
      usageBatchSize: 250,
      usageFlushIntervalSeconds: 30,
      logLevel: "debug",
      planCatalogPath: "/etc/tollgate/plans.json",
      billingSweepIntervalSeconds: 5,
      maxMessageBytes: 1_048_576,
      shutdownTimeoutSeconds: 2.5,
      runMigrations: false,
      admissionStatementPerTenant: true,
      usageLateWindowHours: 168,
      periodGraceHours: 48,
      tenantSelfServiceCorrections: true,
      databasePoolWaitSeconds: 0.5,
      usageBufferLimitBytes: 1_000_000,
      billingLeaseSeconds: 90,
      readStatementTimeoutSeconds: 3,
      rateLimitPerSecond: 100,
      rateLimitBurst: 200,
      maxStreamsPerKey: 4,
      maxConcurrentReadsPerKey: 2,
      invoicePreviewCacheSeconds: 1.5,
      connections: {
        headersTimeoutSeconds: 2,
        requestTimeoutSeconds: 20,
        idleTimeoutSeconds: 30,
        keepaliveIntervalSeconds: 15,
        keepaliveTimeoutSeconds: 5,
        maxConnections: 500,
        maxConcurrentStreams: 64,
      },
    });
  });

  it("should pick Stripe in production and require its keys", () => {
    const problems = catchProblems({ ENVIRONMENT: "production" });
    expect(problems).toEqual([
      "STRIPE_SECRET_KEY: required when the billing provider is stripe",
      "STRIPE_WEBHOOK_SECRET: required when the billing provider is stripe",
    ]);
    const mockInProduction = loadConfig({ ENVIRONMENT: "production", BILLING_PROVIDER: "mock" });
    expect(mockInProduction.billingProvider).toBe("mock");
    expect(mockInProduction.host).toBe("0.0.0.0");
  });

  it("should report every bad value at once, naming the variable and what it accepts", () => {
    const problems = catchProblems({
      PORT: "70000",
      DATABASE_URL: "mysql://nope",
      ENVIRONMENT: "prod",
      BILLING_PROVIDER: "paypal",
      USAGE_TRACKER_BATCH_SIZE: "0",
      USAGE_TRACKER_FLUSH_INTERVAL: "NaN",
      LOG_LEVEL: "loud",
      MAX_MESSAGE_BYTES: "1.5",
      RUN_MIGRATIONS: "maybe",
      USAGE_LATE_WINDOW_HOURS: "841",
      PERIOD_GRACE_HOURS: "73",
    });
    const byName = Object.fromEntries(problems.map((p) => [p.split(":")[0], p]));
    expect(Object.keys(byName).sort()).toEqual([
      "BILLING_PROVIDER",
      "DATABASE_URL",
      "ENVIRONMENT",
      "LOG_LEVEL",
      "MAX_MESSAGE_BYTES",
      "PERIOD_GRACE_HOURS",
      "PORT",
      "RUN_MIGRATIONS",
      "USAGE_LATE_WINDOW_HOURS",
      "USAGE_TRACKER_BATCH_SIZE",
      "USAGE_TRACKER_FLUSH_INTERVAL",
    ]);
    expect(byName.USAGE_LATE_WINDOW_HOURS).toContain("from 0 to 840");
    expect(byName.PERIOD_GRACE_HOURS).toContain("from 0 to 72");
    expect(byName.ENVIRONMENT).toContain("accepted: development, test, staging, production");
    expect(byName.BILLING_PROVIDER).toContain("accepted: mock, stripe");
    expect(byName.LOG_LEVEL).toContain("accepted: fatal, error, warn, info, debug, trace, silent");
    expect(byName.PORT).toContain("0 to 65535");
    expect(byName.DATABASE_URL).toContain("postgres://");
  });
});

function catchProblems(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error("expected a ConfigError");
}
