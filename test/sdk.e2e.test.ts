import { randomUUID } from "node:crypto";
import { once } from "node:events";
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import {
  BillingProviderError,
  createEntitlementEnforcer,
  createTollgateClient,
  DenialReason,
  EntitlementEnforcementError,
  fromConnectError,
  Granularity,
  requireEntitlement,
  toEntitlementHttpError,
  UsageBufferFullError,
  UsageRejectedError,
  UsageTracker,
} from "@tollgate/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BillingService, SubscriptionState } from "../gen/tollgate/v1/billing_service_pb.js";
import { queryRows } from "./support/app.js";
import { createTestDatabase, type TestDatabase } from "./support/database.js";
import { type ServerProcess, startServerProcess } from "./support/server-process.js";

const ADMIN_KEY = "tg_sdkadmin_SdkAdminSecretSdkAdminSecret0001";

interface ExampleModule {
  main(context: {
    baseUrl: string;
    apiKey?: string;
    tenantId: string;
  }): Promise<Record<string, unknown>>;
}

// The examples as `npm test` compiled them (tsc, into dist/examples), importing `@tollgate/client`.
const example = (name: string) => import(`../dist/examples/${name}.js`) as Promise<ExampleModule>;

async function storedEvents(url: string, tenantId: string): Promise<number> {
  const [row] = await queryRows<{ n: number }>(
    url,
    "select count(*)::int as n from usage_events where tenant_id = $1",
    [tenantId],
  );
  return row?.n ?? 0;
}

describe("TypeScript SDK against the real server", () => {
  let db: TestDatabase;
  let server: ServerProcess;
  const context = () => ({ baseUrl: server.baseUrl, apiKey: ADMIN_KEY, tenantId: randomUUID() });

  beforeAll(async () => {
    db = await createTestDatabase();
    server = await startServerProcess({
      DATABASE_URL: db.url,
      TOLLGATE_BOOTSTRAP_ADMIN_KEY: ADMIN_KEY,
    });
  });

  afterAll(async () => {
    await server?.stop();
    await db?.drop();
  });

  describe("the quick reference's examples", () => {
    it("should run the billing flow", async () => {
      expect(await (await example("billing")).main(context())).toMatchObject({
        customerId: expect.stringMatching(/^cus_/),
        subscriptionId: expect.stringMatching(/^sub_/),
        trialing: SubscriptionState.TRIALING,
        upgradedPlan: "team",
        cancelAtPeriodEnd: true,
        finalState: SubscriptionState.CANCELED,
      });
    });

    it("should enforce with check_and_record and check_entitlement_or_raise", async () => {
      expect(await (await example("enforcer")).main(context())).toEqual({
        firstAllowed: true,
        denied: {
          resource: "executions",
          limit: "100",
          used: "100",
          reason: DenialReason.LIMIT_EXCEEDED,
          reasonName: "LIMIT_EXCEEDED",
        },
      });
    });

    it("should pass the decorator and wrapper before the limit and refuse after it", async () => {
      const ctx = context();
      expect(await (await example("decorator")).main(ctx)).toEqual({
        first: `ran for ${ctx.tenantId}`,
        runs: 1,
        agents: `agents started for ${ctx.tenantId}`,
        refused: "agents",
      });
    });

    it("should decorate methods as a legacy (experimentalDecorators) decorator too", async () => {
      const tenantId = randomUUID();
      const client = createTollgateClient({ baseUrl: server.baseUrl, apiKey: ADMIN_KEY });
      class Workflows {
        enforcer = createEntitlementEnforcer(client);
        runs = 0;
        async run(tenant: string): Promise<string> {
          this.runs++;
          return tenant;
        }
      }
      // as TypeScript's legacy emit calls it: (prototype, name, descriptor) → descriptor
      const descriptor = Object.getOwnPropertyDescriptor(Workflows.prototype, "run")!;
      const decorated = requireEntitlement("executions", { quantity: 60 })(
        Workflows.prototype,
        "run",
        descriptor,
      );
      Object.defineProperty(Workflows.prototype, "run", decorated);
      const workflows = new Workflows();
      expect(await workflows.run(tenantId)).toBe(tenantId);
      // FREE allows 100 executions: a second 60 does not fit, and the method does not run
      await expect(workflows.run(tenantId)).rejects.toBeInstanceOf(EntitlementEnforcementError);
      expect(workflows.runs).toBe(1);
    });

    it("should enforce in a Connect interceptor and in node:http, Express and Fastify", async () => {
      expect(await (await example("framework")).main(context())).toEqual({
        connectAllowed: true,
        connectRefused: "api_calls",
        uploads: [200, 200, 402, 402],
        refusal: {
          error: expect.stringContaining("storage_mb limit"),
          code: "ResourceExhausted",
          resourceType: "storage_mb",
          limit: "1000",
          used: "1000",
          denialReason: DenialReason.LIMIT_EXCEEDED,
        },
      });
    });

    it("should answer every failure of a check with its HTTP status", () => {
      const failures: [Code, number][] = [
        [Code.InvalidArgument, 400],
        [Code.Unauthenticated, 401],
        [Code.PermissionDenied, 403],
        [Code.Unavailable, 503],
        [Code.DeadlineExceeded, 504],
        [Code.Internal, 500],
      ];
      for (const [code, status] of failures) {
        const error = toEntitlementHttpError(new ConnectError("no", code));
        expect([error.status, error.statusCode]).toEqual([status, status]);
      }
    });

    it("should name a baseUrl without a scheme at once", () => {
      expect(() => createTollgateClient({ baseUrl: "127.0.0.1:8080" })).toThrow(
        /baseUrl "127.0.0.1:8080" must be an http:\/\/ or https:\/\/ URL/,
      );
      expect(() => createTollgateClient({ baseUrl: "http://x", apiKey: undefined })).not.toThrow();
    });

    it("should track, flush on disposal, flush by hand and report stats", async () => {
      const ctx = context();
      const result = await (await example("tracker")).main(ctx);
      expect(result).toMatchObject({
        basic: { tracked: 1, flushed: 1, bufferSize: 0, running: false },
        beforeLeavingScope: { tracked: 4, flushed: 0, bufferSize: 4, running: true },
        flushedCount: 1,
        stats: { tracked: 1, flushed: 1, errors: 0, bufferSize: 0, lastFlush: expect.any(Date) },
      });
      expect(await storedEvents(db.url, ctx.tenantId)).toBe(6);
    });

    it("should check before acting and estimate-and-adjust with a reservation", async () => {
      expect(await (await example("patterns")).main(context())).toEqual({
        result: "workflow result",
        executionsUsed: "1",
        estimatedTokens: 18,
        held: "18",
        committedTokens: "17",
        tokensUsed: "17",
      });
    });
  });

  describe("dimensions", () => {
    it("should send dimensions on checks, and group usage reports by them", async () => {
      // given the default catalog's tokens meter, which has a `model` dimension
      const { baseUrl, tenantId } = context();
      const client = createTollgateClient({ baseUrl, apiKey: ADMIN_KEY });
      const enforcer = createEntitlementEnforcer(client);

      // when a check names a model, another a dimension the meter lacks, and tokens are tracked
      const allowed = await enforcer.checkAndRecord(tenantId, "tokens", 5, {
        dimensions: { model: "gpt-4o" },
      });
      const refused = await enforcer
        .checkOnly(tenantId, "tokens", 1, { dimensions: { region: "eu" } })
        .catch((e: unknown) => ConnectError.from(e));
      const tracker = new UsageTracker(client);
      await tracker.trackTokens(tenantId, { tokens: 300, model: "gpt-4o" });
      await tracker.trackTokens(tenantId, { tokens: 200, model: "gpt-4o-mini" });
      await tracker.flush();

      // then the check counts, the bad one is refused, and the report groups by model
      expect(allowed.allowed).toBe(true);
      expect((refused as ConnectError).code).toBe(Code.InvalidArgument);
      const { totals } = await client.usage.getUsage({
        tenantId,
        resourceType: "tokens",
        groupBy: ["model"],
        timeZone: "America/New_York",
        granularity: Granularity.MONTH,
        startTime: timestampFromDate(new Date(Date.now() - 40 * 86_400_000)),
        endTime: timestampFromDate(new Date(Date.now() + 86_400_000)),
      });
      expect(totals.map((t) => [t.dimensions.model, t.quantity])).toEqual([
        ["gpt-4o", "300"],
        ["gpt-4o-mini", "200"],
      ]);
    });
  });

  describe(UsageTracker.name, () => {
    it("should flush when batchSize events wait, and on the interval once started", async () => {
      const tenantId = randomUUID();
      const client = createTollgateClient({ baseUrl: server.baseUrl, apiKey: ADMIN_KEY });
      const bySize = new UsageTracker(client, { batchSize: 10, flushIntervalSeconds: 3600 });
      for (let i = 0; i < 9; i++) await bySize.track(tenantId, "api_calls");
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(bySize.getStats()).toMatchObject({ flushed: 0, bufferSize: 9 });
      await bySize.track(tenantId, "api_calls");
      await expect.poll(() => bySize.getStats().flushed).toBe(10);
      expect(bySize.getStats().bufferSize).toBe(0);

      const byTime = new UsageTracker(client, {
        batchSize: 1000,
        flushIntervalSeconds: 0.2,
      }).start();
      await byTime.track(tenantId, "api_calls", 3);
      await expect.poll(() => byTime.getStats().flushed, { timeout: 3000 }).toBe(1);
      await byTime[Symbol.asyncDispose]();
      await bySize.stop();
      expect(await storedEvents(db.url, tenantId)).toBe(11);
    });

    it("should keep events through a server restart and deliver each exactly once", async () => {
      // given a server of its own and a tracker holding events
      const own = await startServerProcess({ DATABASE_URL: db.url });
      const tenantId = randomUUID();
      const tracker = new UsageTracker(
        createTollgateClient({ baseUrl: own.baseUrl, apiKey: ADMIN_KEY, maxAttempts: 1 }),
        {
          batchSize: 1000,
        },
      );
      for (let i = 0; i < 40; i++) await tracker.track(tenantId, "tokens", 100);
      expect(await tracker.flush()).toBe(40);
      for (let i = 0; i < 30; i++) await tracker.track(tenantId, "tokens", 100);

      // when the server goes away, a flush fails, and the server comes back on the same port
      await own.stop("SIGKILL");
      await expect(tracker.flush()).rejects.toBeInstanceOf(ConnectError);
      expect(tracker.getStats()).toMatchObject({ errors: 1, bufferSize: 30 });
      const again = await startServerProcess({ DATABASE_URL: db.url, PORT: String(own.port) });
      try {
        // then the held events arrive, once each
        expect(await tracker.flush()).toBe(30);
        expect(await storedEvents(db.url, tenantId)).toBe(70);
        const [row] = await queryRows<{ used: string }>(
          db.url,
          "select sum(used)::text as used from usage_counters where tenant_id = $1",
          [tenantId],
        );
        expect(row?.used).toBe("7000");
      } finally {
        await again.stop();
      }
    });

    it("should refuse new events when the buffer is full if told to, or drop the oldest", async () => {
      const client = createTollgateClient({ baseUrl: "http://127.0.0.1:1", maxAttempts: 1 });
      const strict = new UsageTracker(client, {
        batchSize: 100,
        maxBufferSize: 3,
        overflow: "reject",
      });
      for (let i = 0; i < 3; i++) await strict.track(randomUUID(), "executions");
      await expect(strict.track(randomUUID(), "executions")).rejects.toBeInstanceOf(
        UsageBufferFullError,
      );
      const lossy = new UsageTracker(client, {
        batchSize: 100,
        maxBufferSize: 3,
        overflow: "drop-oldest",
      });
      for (let i = 0; i < 5; i++) await lossy.track(randomUUID(), "executions");
      expect(lossy.getStats()).toMatchObject({ tracked: 5, dropped: 2, bufferSize: 3 });
      await expect(lossy.track(randomUUID(), "tokens", 0.5)).rejects.toBeInstanceOf(RangeError);
    });

    it("should wait for room by default, sending batches rather than a flush per event", async () => {
      // given a tracker of 100-event batches and room for 1,000, counting its streams
      const tenantId = randomUUID();
      const client = createTollgateClient({ baseUrl: server.baseUrl, apiKey: ADMIN_KEY });
      let streams = 0;
      const counted = {
        ...client,
        usage: {
          ...client.usage,
          streamUsage: (...args: Parameters<typeof client.usage.streamUsage>) => {
            streams++;
            return client.usage.streamUsage(...args);
          },
        },
      };
      const tracker = new UsageTracker(counted, { batchSize: 100, maxBufferSize: 1_000 });
      // when 10,000 events are tracked in a tight loop
      for (let i = 0; i < 10_000; i++) await tracker.track(tenantId, "api_calls");
      const acknowledged = await tracker.flush();
      // then none was refused or dropped, each arrived once, in far fewer streams than events
      expect(tracker.getStats()).toMatchObject({ tracked: 10_000, flushed: 10_000, dropped: 0 });
      expect(acknowledged).toBe(10_000);
      expect(streams).toBeLessThanOrEqual(10_000 / 100 + 2);
      expect(await storedEvents(db.url, tenantId)).toBe(10_000);
    });

    it("should count acknowledgements since the last flush, and keep totals in stats", async () => {
      const client = createTollgateClient({ baseUrl: server.baseUrl, apiKey: ADMIN_KEY });
      const tracker = new UsageTracker(client, { batchSize: 10 });
      for (let i = 0; i < 10; i++) await tracker.track(randomUUID(), "executions");
      // a background send took those ten; flush() reports them, then nothing new
      await expect.poll(() => tracker.getStats().flushed).toBe(10);
      expect(await tracker.flush()).toBe(10);
      expect(await tracker.flush()).toBe(0);
      await tracker.track(randomUUID(), "executions");
      expect(await tracker.stop()).toBe(1);
      expect(tracker.getStats()).toMatchObject({ tracked: 11, flushed: 11 });
    });

    it("should give events the server refuses to onError with its reason", async () => {
      const errors: unknown[] = [];
      const client = createTollgateClient({ baseUrl: server.baseUrl, apiKey: ADMIN_KEY });
      const tracker = new UsageTracker(client, { onError: (error) => errors.push(error) });
      await tracker.track(randomUUID(), "teleports");
      await tracker.track(randomUUID(), "executions");
      expect(await tracker.flush()).toBe(1);
      expect(tracker.getStats()).toMatchObject({ rejected: 1, bufferSize: 0 });
      expect(errors).toHaveLength(1);
      expect(errors[0]).toBeInstanceOf(UsageRejectedError);
      expect((errors[0] as UsageRejectedError).reason).toContain("resource_type");
    });

    it("should read its own variables, not the server's flush interval", () => {
      const saved = { ...process.env };
      try {
        process.env.TOLLGATE_TRACKER_BATCH_SIZE = "250";
        process.env.USAGE_TRACKER_FLUSH_INTERVAL = "0.05";
        const client = createTollgateClient({ baseUrl: server.baseUrl });
        const tracker = new UsageTracker(client);
        expect([tracker.batchSize, tracker.flushIntervalSeconds]).toEqual([250, 30]);
        process.env.TOLLGATE_TRACKER_FLUSH_INTERVAL_SECONDS = "5";
        expect(new UsageTracker(client).flushIntervalSeconds).toBe(5);
      } finally {
        process.env = saved;
      }
    });
  });

  describe(createTollgateClient.name, () => {
    it.each(["connect", "grpc", "grpc-web"] as const)(
      "should call over %s with the API key",
      async (protocol) => {
        const client = createTollgateClient({
          baseUrl: server.baseUrl,
          apiKey: ADMIN_KEY,
          protocol,
        });
        expect((await client.billing.listPlans({})).plans).toHaveLength(4);
        const anonymous = createTollgateClient({ baseUrl: server.baseUrl, protocol });
        const error = await anonymous.billing.listPlans({}).then(
          () => undefined,
          (e: unknown) => ConnectError.from(e),
        );
        expect(error?.code).toBe(Code.Unauthenticated);
      },
    );
  });
});

describe("SDK retries and error mapping", () => {
  let calls: Record<string, number>;
  let url: string;
  let close: () => void;

  beforeAll(async () => {
    // A scripted BillingService that fails the first two calls of each RPC with Unavailable.
    calls = {};
    const failTwice = (name: string) => {
      calls[name] = (calls[name] ?? 0) + 1;
      if ((calls[name] ?? 0) <= 2) {
        const metadata = new Headers({ "tollgate-error-reason": "BILLING_PROVIDER" });
        throw new ConnectError("stripe is down", Code.Unavailable, metadata);
      }
    };
    const server = http2.createServer(
      connectNodeAdapter({
        routes: (router) =>
          router.service(BillingService, {
            listPlans: () => {
              failTwice("listPlans");
              return { plans: [] };
            },
            createCustomer: () => {
              failTwice("createCustomer");
              return {};
            },
          }),
      }),
    );
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    close = () => server.close();
  });

  afterAll(() => close?.());

  it("should retry calls that are safe to repeat, and only those", async () => {
    const client = createTollgateClient({ baseUrl: url, retryBaseDelayMs: 5 });
    await client.billing.listPlans({});
    expect(calls.listPlans).toBe(3);

    const unsafe = await client.billing
      .createCustomer({ tenantId: randomUUID(), email: "a@example.com" })
      .catch((e: unknown) => e);
    expect(calls.createCustomer).toBe(1);
    expect(unsafe).toBeInstanceOf(BillingProviderError);
    expect((unsafe as BillingProviderError).retryable).toBe(true);

    await client.billing.createCustomer({
      tenantId: randomUUID(),
      email: "a@example.com",
      requestId: "r1",
    });
    expect(calls.createCustomer).toBe(3);
  });

  it("should map Connect errors to the SDK's errors", () => {
    const denial = new EntitlementEnforcementError({
      resourceType: "executions",
      limit: "100",
      used: "100",
      reason: "executions limit reached",
      denialReason: DenialReason.LIMIT_EXCEEDED,
    });
    // as a caller sees it: a plain ConnectError with the denial in its metadata
    const onTheWire = new ConnectError(denial.rawMessage, denial.code, denial.metadata);
    const mapped = fromConnectError(onTheWire);
    expect(mapped).toBeInstanceOf(EntitlementEnforcementError);
    expect(mapped).toMatchObject({
      resourceType: "executions",
      limit: "100",
      used: "100",
      denialReason: DenialReason.LIMIT_EXCEEDED,
    });

    const provider = fromConnectError(
      new ConnectError(
        "card declined",
        Code.FailedPrecondition,
        new Headers({ "tollgate-error-reason": "BILLING_PROVIDER" }),
      ),
    );
    expect(provider).toBeInstanceOf(BillingProviderError);
    expect((provider as BillingProviderError).retryable).toBe(false);

    const other = fromConnectError(new ConnectError("no such tenant", Code.NotFound));
    expect(other).not.toBeInstanceOf(BillingProviderError);
    expect(other.code).toBe(Code.NotFound);
  });
});
