import { randomUUID } from "node:crypto";
import type { DescMethod, DescService } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BillingService } from "../gen/tollgate/v1/billing_service_pb.js";
import { EntitlementService } from "../gen/tollgate/v1/entitlement_service_pb.js";
import { EventService } from "../gen/tollgate/v1/event_service_pb.js";
import { PricingModel } from "../gen/tollgate/v1/resource_pb.js";
import { UsageService } from "../gen/tollgate/v1/usage_service_pb.js";
import { countRows, queryRows, startTestApp, type TestApp, tableNames } from "./support/app.js";
import { createKeyWithCli, runCli } from "./support/cli.js";
import { errorOf, grpcClient } from "./support/clients.js";
import { createTestDatabase, type TestDatabase } from "./support/database.js";
import { startServerProcess } from "./support/server-process.js";

const BOOTSTRAP_KEY = "tg_b00tstr4_AdminSecretAdminSecretAdminSecret42";
const OK = "ok" as const;
type Expected = Code | typeof OK;
type Credential =
  | "none"
  | "malformed"
  | "unknown"
  | "revoked"
  | "other tenant"
  | "own tenant"
  | "admin";

describe("security", () => {
  const tenantA = randomUUID();
  const tenantB = randomUUID();
  let db: TestDatabase;
  let server: TestApp;
  const headers = new Map<Credential, Record<string, string>>();
  let customerA: string;
  let subscriptionA: string;
  let reservations: string[];
  let grantId: string;
  let endpointId: string;
  let doomedEndpointId: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    // The meter sync is a background writer: left on, it may report an earlier call's usage
    // while a denied call is being checked for writing nothing.
    server = await startTestApp(
      db.url,
      {},
      { TOLLGATE_BOOTSTRAP_ADMIN_KEY: BOOTSTRAP_KEY, METER_SYNC_INTERVAL_SECONDS: "86400" },
    );
    const keyA = await createKeyWithCli(db.url, tenantA);
    const keyB = await createKeyWithCli(db.url, tenantB);
    const revoked = await createKeyWithCli(db.url, tenantA);
    await runCli(db.url, ["keys", "revoke", revoked.slice(0, 11)]);
    const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
    headers.set("none", {});
    headers.set("malformed", { authorization: "Bearer not-a-key" });
    headers.set("unknown", bearer("tg_zzzzzzzz_UnknownUnknownUnknownUnknown00"));
    headers.set("revoked", bearer(revoked));
    headers.set("other tenant", bearer(keyB));
    headers.set("own tenant", bearer(keyA));
    headers.set("admin", bearer(BOOTSTRAP_KEY));

    const billing = grpcClient(BillingService, server.baseUrl);
    const admin = { headers: headers.get("admin") };
    const { customer } = await billing.createCustomer(
      { tenantId: tenantA, email: "a@example.com" },
      admin,
    );
    customerA = customer!.id;
    const { subscription } = await billing.createSubscription(
      { customerId: customerA, priceId: "price_pro_monthly" },
      admin,
    );
    subscriptionA = subscription!.id;
    const entitlements = grpcClient(EntitlementService, server.baseUrl);
    reservations = [];
    for (let i = 0; i < 2; i++) {
      const held = await entitlements.reserve(
        { tenantId: tenantA, resourceType: "executions", quantity: "2" },
        admin,
      );
      reservations.push(held.reservationId);
    }
    const { grant } = await entitlements.grantCredits(
      { tenantId: tenantA, resourceType: "executions", quantity: "5" },
      admin,
    );
    grantId = grant!.id;
    const events = grpcClient(EventService, server.baseUrl);
    const endpoints = [];
    for (let i = 0; i < 2; i++) {
      const { endpoint } = await events.createWebhookEndpoint(
        { url: "http://127.0.0.1:9/hook" },
        admin,
      );
      // Disabled: nothing is sent while the matrix runs.
      await events.updateWebhookEndpoint(
        { endpointId: endpoint!.id, enabled: false, updateMask: { paths: ["enabled"] } },
        admin,
      );
      endpoints.push(endpoint!.id);
    }
    [endpointId, doomedEndpointId] = endpoints as [string, string];
  });

  afterAll(async () => {
    await server?.stop();
    await db?.drop();
  });

  // One request per RPC, naming tenant A wherever the RPC names a tenant, and the expected code
  // for the callers that get past authentication. Usage streams answer OK for any tenant key:
  // events naming another tenant are rejected one by one (tested below).
  const rpcs = (): [DescService, string, unknown, Partial<Record<Credential, Expected>>][] => {
    const tenantScoped = { "other tenant": Code.PermissionDenied, "own tenant": OK, admin: OK };
    // Objects named by id answer another tenant's key as if they did not exist: no oracle.
    const byId = { "other tenant": Code.NotFound, "own tenant": OK, admin: OK };
    const adminOnly = {
      "other tenant": Code.PermissionDenied,
      "own tenant": Code.PermissionDenied,
    };
    const anyKey = { "other tenant": OK, "own tenant": OK, admin: OK };
    const event = { eventId: "e1", tenantId: tenantA, resourceType: "executions" };
    return [
      [
        BillingService,
        "createCustomer",
        { tenantId: tenantA, email: "x@example.com" },
        { ...adminOnly, admin: Code.AlreadyExists },
      ],
      [BillingService, "getCustomer", { tenantId: tenantA }, tenantScoped],
      [BillingService, "listPlans", {}, { "other tenant": OK, "own tenant": OK, admin: OK }],
      [
        BillingService,
        "createSubscription",
        { customerId: customerA, priceId: "price_pro_monthly" },
        { ...adminOnly, admin: Code.FailedPrecondition },
      ],
      [
        BillingService,
        "updateSubscription",
        { subscriptionId: subscriptionA, newPriceId: "price_team_monthly" },
        { ...adminOnly, admin: OK },
      ],
      [
        BillingService,
        "cancelSubscription",
        { subscriptionId: subscriptionA },
        { ...adminOnly, admin: OK },
      ],
      [BillingService, "getSubscription", { subscriptionId: subscriptionA }, byId],
      [BillingService, "listSubscriptions", { tenantId: tenantA }, tenantScoped],
      [BillingService, "listAuditEvents", { tenantId: tenantA }, { ...adminOnly, admin: OK }],
      [BillingService, "listCustomers", { query: "" }, { ...adminOnly, admin: OK }],
      [BillingService, "countCustomers", {}, { ...adminOnly, admin: OK }],
      [BillingService, "getUpcomingInvoice", { tenantId: tenantA }, tenantScoped],
      [BillingService, "getPlan", { planId: "pro", version: 1 }, anyKey],
      // The admin's calls are refused on their merits: one version only, and a time past.
      [
        BillingService,
        "migrateSubscriptions",
        { planId: "pro", fromVersion: 1, toVersion: 2, dryRun: true },
        { ...adminOnly, admin: Code.InvalidArgument },
      ],
      [BillingService, "getTestClock", {}, { ...adminOnly, admin: OK }],
      [
        BillingService,
        "advanceTestClock",
        { toTime: timestampFromDate(new Date(Date.now() - 86_400_000)) },
        { ...adminOnly, admin: Code.InvalidArgument },
      ],
      ...["check", "checkAndRecord", "recordUsage", "getEntitlements", "reserve"].map(
        (name) =>
          [
            EntitlementService,
            name,
            { tenantId: tenantA, resourceType: "executions" },
            tenantScoped,
          ] as [DescService, string, unknown, Partial<Record<Credential, Expected>>],
      ),
      [
        EntitlementService,
        "commitReservation",
        { reservationId: reservations[0], actualQuantity: "1" },
        byId,
      ],
      [EntitlementService, "releaseReservation", { reservationId: reservations[1] }, byId],
      [UsageService, "streamUsage", { events: [event] }, anyKey],
      [UsageService, "trackUsage", { events: [event] }, anyKey],
      [
        UsageService,
        "getUsage",
        {
          tenantId: tenantA,
          startTime: timestampFromDate(new Date(Date.now() - 86_400_000)),
          endTime: timestampFromDate(new Date(Date.now() + 86_400_000)),
        },
        tenantScoped,
      ],
      [UsageService, "getIngestStats", {}, { ...adminOnly, admin: OK }],
      // Tenant keys may void their own usage only with TENANT_SELF_SERVICE_CORRECTIONS=true.
      [
        UsageService,
        "voidUsage",
        { tenantId: tenantA, eventIds: ["e1"], reason: "matrix" },
        { ...adminOnly, admin: OK },
      ],
      [
        UsageService,
        "replaceUsage",
        {
          tenantId: tenantA,
          resourceType: "executions",
          startTime: timestampFromDate(new Date(Date.now() + 86_400_000)),
          endTime: timestampFromDate(new Date(Date.now() + 2 * 86_400_000)),
        },
        { ...adminOnly, admin: OK },
      ],
      [UsageService, "listUsageEvents", { tenantId: tenantA }, tenantScoped],
      [
        EntitlementService,
        "setEntitlementOverride",
        { tenantId: tenantA, resourceType: "executions", limit: "500" },
        { ...adminOnly, admin: OK },
      ],
      [
        EntitlementService,
        "deleteEntitlementOverride",
        { tenantId: tenantA, resourceType: "executions" },
        { ...adminOnly, admin: OK },
      ],
      [
        EntitlementService,
        "grantCredits",
        { tenantId: tenantA, resourceType: "executions", quantity: "10" },
        { ...adminOnly, admin: OK },
      ],
      [EntitlementService, "listGrants", { tenantId: tenantA }, { ...adminOnly, admin: OK }],
      [
        BillingService,
        "setPriceOverride",
        {
          tenantId: tenantA,
          resourceType: "executions",
          pricing: { model: PricingModel.PER_UNIT, unitAmount: "0.004" },
        },
        { ...adminOnly, admin: OK },
      ],
      [BillingService, "listPriceOverrides", { tenantId: tenantA }, { ...adminOnly, admin: OK }],
      [
        BillingService,
        "deletePriceOverride",
        { tenantId: tenantA, id: `pro_${"0".repeat(24)}` },
        { ...adminOnly, admin: Code.NotFound },
      ],
      [
        EntitlementService,
        "listEntitlementOverrides",
        { tenantId: tenantA },
        { ...adminOnly, admin: OK },
      ],
      [EntitlementService, "voidGrant", { grantId }, { ...adminOnly, admin: OK }],
      [EntitlementService, "getFeatures", { tenantId: tenantA }, tenantScoped],
      [EntitlementService, "checkFeature", { tenantId: tenantA, feature: "sso" }, tenantScoped],
      [
        EntitlementService,
        "setFeatureOverride",
        { tenantId: tenantA, feature: "sso", value: "true" },
        { ...adminOnly, admin: OK },
      ],
      [
        EntitlementService,
        "listFeatureOverrides",
        { tenantId: tenantA },
        { ...adminOnly, admin: OK },
      ],
      [
        EntitlementService,
        "deleteFeatureOverride",
        { tenantId: tenantA, feature: "sso" },
        { ...adminOnly, admin: OK },
      ],
      [EventService, "listEvents", { tenantId: tenantA }, tenantScoped],
      [EventService, "streamEvents", { tenantId: tenantA }, tenantScoped],
      [
        EventService,
        "createWebhookEndpoint",
        { url: "http://127.0.0.1:9/other" },
        { ...adminOnly, admin: OK },
      ],
      [EventService, "listWebhookEndpoints", {}, { ...adminOnly, admin: OK }],
      [
        EventService,
        "updateWebhookEndpoint",
        { endpointId, enabled: false, updateMask: { paths: ["enabled"] } },
        { ...adminOnly, admin: OK },
      ],
      [EventService, "rotateWebhookSecret", { endpointId }, { ...adminOnly, admin: OK }],
      [EventService, "listDeliveries", { endpointId }, { ...adminOnly, admin: OK }],
      [
        EventService,
        "retryDelivery",
        { deliveryId: `whd_${"0".repeat(32)}` },
        { ...adminOnly, admin: Code.NotFound },
      ],
      [
        EventService,
        "deleteWebhookEndpoint",
        { endpointId: doomedEndpointId },
        { ...adminOnly, admin: OK },
      ],
    ];
  };

  it("should cover every RPC of the contract in the matrix", () => {
    const covered = rpcs().map(([service, name]) => `${service.typeName}/${name}`);
    const all = [BillingService, EntitlementService, UsageService, EventService].flatMap((s) =>
      s.methods.map((m) => `${s.typeName}/${m.localName}`),
    );
    expect(covered.sort()).toEqual(all.sort());
  });

  const credentials: Credential[] = [
    "none",
    "malformed",
    "unknown",
    "revoked",
    "other tenant",
    "own tenant",
    "admin",
  ];

  for (const credential of credentials) {
    it(`should answer every RPC correctly for ${credential} and write nothing when denied`, async () => {
      for (const [service, name, request, expectations] of rpcs()) {
        const expected = expectations[credential] ?? Code.Unauthenticated;
        const before = await countRows(db.url, await callTables(db.url));
        const outcome = await call(
          server.baseUrl,
          service,
          name,
          request,
          headers.get(credential)!,
        );
        expect(`${service.typeName}/${name}: ${describeOutcome(outcome)}`).toBe(
          `${service.typeName}/${name}: ${describeOutcome(expected)}`,
        );
        if (expected === Code.Unauthenticated || expected === Code.PermissionDenied) {
          expect(await countRows(db.url, await callTables(db.url))).toEqual(before);
        }
      }
    });
  }

  it("should reject, one by one, streamed events that name another tenant", async () => {
    // given tenant B's key streaming events for B and, wrongly, for A
    const usage = grpcClient(UsageService, server.baseUrl);
    const before = await queryRows(
      db.url,
      "select count(*)::int as n from usage_events where tenant_id = $1",
      [tenantA],
    );
    async function* batches() {
      yield { events: [{ eventId: "b-1", tenantId: tenantB, resourceType: "executions" }] };
      yield { events: [{ eventId: "a-1", tenantId: tenantA, resourceType: "executions" }] };
    }

    // when the stream ends
    const summary = await usage.streamUsage(batches(), { headers: headers.get("other tenant") });

    // then B's event is stored and A's is rejected with the reason, and nothing landed for A
    expect(summary.acceptedCount).toBe(1n);
    expect(summary.rejectedCount).toBe(1n);
    expect(summary.rejectedEvents).toEqual([
      expect.objectContaining({
        eventId: "a-1",
        eventIndex: 1,
        reason: expect.stringMatching(/^permission denied/),
      }),
    ]);
    expect(
      await queryRows(db.url, "select count(*)::int as n from usage_events where tenant_id = $1", [
        tenantA,
      ]),
    ).toEqual(before);
  });

  it("should audit key creation and revocation with the operator as actor", async () => {
    const billing = grpcClient(BillingService, server.baseUrl);
    const { auditEvents } = await billing.listAuditEvents(
      { tenantId: tenantA, pageSize: 100 },
      { headers: headers.get("admin") },
    );
    const keyEvents = auditEvents.filter((e) => e.action.startsWith("api_key."));
    expect(keyEvents.map((e) => e.action).sort()).toEqual([
      "api_key.create",
      "api_key.create",
      "api_key.revoke",
    ]);
    for (const event of keyEvents) {
      expect(event.actor).toMatch(/^cli:/);
      expect(JSON.stringify(event.after)).not.toMatch(/secret|Hash/i);
    }
    const all = await billing.listAuditEvents({ pageSize: 100 }, { headers: headers.get("admin") });
    expect(all.auditEvents.some((e) => e.actor === "bootstrap" && e.target === "tg_b00tstr4")).toBe(
      true,
    );
  });

  it("should page the audit trail with opaque tokens", async () => {
    const billing = grpcClient(BillingService, server.baseUrl);
    const admin = { headers: headers.get("admin") };
    const everything = await billing.listAuditEvents({ tenantId: tenantA, pageSize: 100 }, admin);
    const ids: string[] = [];
    let pageToken = "";
    do {
      const page = await billing.listAuditEvents(
        { tenantId: tenantA, pageSize: 2, pageToken },
        admin,
      );
      ids.push(...page.auditEvents.map((e) => e.id));
      pageToken = page.nextPageToken;
    } while (pageToken !== "");
    expect(ids).toEqual(everything.auditEvents.map((e) => e.id));
    expect(ids.length).toBeGreaterThan(4);
  });

  it("should limit billing mutations per key and recover as tokens refill", async () => {
    // given a server allowing bursts of 3 at one mutation per second, and a fresh admin key
    const limited = await startTestApp(
      db.url,
      {},
      { BILLING_RATE_LIMIT_BURST: "3", BILLING_RATE_LIMIT_PER_MINUTE: "60" },
    );
    try {
      const key = await createKeyWithCli(db.url);
      const billing = grpcClient(BillingService, limited.baseUrl);
      const options = { headers: { authorization: `Bearer ${key}` } };
      const mutate = () =>
        billing.createCustomer({ tenantId: randomUUID(), email: "r@example.com" }, options);

      // when a fourth mutation follows three at once
      for (let i = 0; i < 3; i++) await mutate();
      const error = await errorOf(mutate());

      // then it is refused with a retry hint, reads are not limited, and it recovers
      expect(error?.code).toBe(Code.ResourceExhausted);
      expect(error?.metadata.get("retry-after")).toBe("1");
      await billing.listPlans({}, options);
      await new Promise((resolve) => setTimeout(resolve, 1100));
      await expect(mutate()).resolves.toBeDefined();
    } finally {
      await limited.stop();
    }
  });
});

describe("start-up modes", () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase();
  });

  afterAll(async () => {
    await db?.drop();
  });

  it("should refuse to start in production without any API key", async () => {
    await expect(
      startServerProcess({
        DATABASE_URL: db.url,
        ENVIRONMENT: "production",
        BILLING_PROVIDER: "mock",
      }),
    ).rejects.toThrow(/exited with 2 before serving[\s\S]*no API keys exist/);
  });

  it("should run open on loopback only, and say so, when development has no keys", async () => {
    const server = await startServerProcess({ DATABASE_URL: db.url, HOST: "0.0.0.0" });
    try {
      const serving = server.logs().find((l) => typeof l.port === "number");
      expect(serving).toMatchObject({ host: "127.0.0.1", authentication: "open" });
      expect(server.logs().some((l) => String(l.msg).startsWith("NO API KEYS"))).toBe(true);
    } finally {
      await server.stop();
    }
  });

  it("should let a tenant key void its own usage only when self-service corrections are on", async () => {
    // given a server with TENANT_SELF_SERVICE_CORRECTIONS=true and two tenants' keys
    const server = await startServerProcess({
      DATABASE_URL: db.url,
      TOLLGATE_BOOTSTRAP_ADMIN_KEY: BOOTSTRAP_KEY,
      TENANT_SELF_SERVICE_CORRECTIONS: "true",
    });
    const own = randomUUID();
    const ownKey = { headers: { authorization: `Bearer ${await createKeyWithCli(db.url, own)}` } };
    const otherKey = {
      headers: { authorization: `Bearer ${await createKeyWithCli(db.url, randomUUID())}` },
    };
    try {
      const usage = grpcClient(UsageService, server.baseUrl);
      await usage.trackUsage(
        { events: [{ eventId: "mine", tenantId: own, resourceType: "executions" }] },
        ownKey,
      );
      // when the other tenant's key tries, and then the tenant's own
      const foreign = await errorOf(
        usage.voidUsage({ tenantId: own, eventIds: ["mine"], reason: "not yours" }, otherKey),
      );
      const mine = await usage.voidUsage(
        { tenantId: own, eventIds: ["mine"], reason: "my job failed" },
        ownKey,
      );
      // then only the owner's void goes through, and it is audited under its key
      expect(foreign.code).toBe(Code.PermissionDenied);
      expect(mine.voidedCount).toBe(1n);
      const [audit] = await queryRows<{ actor: string; action: string }>(
        db.url,
        "select actor, action from audit_events where tenant_id = $1 and action like 'usage.%'",
        [own],
      );
      expect(audit?.action).toBe("usage.void");
      expect(ownKey.headers.authorization).toContain(audit?.actor);
      // and ReplaceUsage stays admin only
      const replace = await errorOf(
        usage.replaceUsage(
          {
            tenantId: own,
            resourceType: "executions",
            startTime: timestampFromDate(new Date(Date.now() - 3_600_000)),
            endTime: timestampFromDate(new Date()),
          },
          ownKey,
        ),
      );
      expect(replace.code).toBe(Code.PermissionDenied);
    } finally {
      await server.stop();
    }
  });

  it("should keep every secret out of the logs, even at trace level", async () => {
    // given a server with a bootstrap key and Stripe secrets, logging everything
    const stripeKey = "sk_test_51SecretStripeKeyValue";
    const webhookSecret = "whsec_SecretWebhookValue";
    const server = await startServerProcess({
      DATABASE_URL: db.url,
      ENVIRONMENT: "production",
      BILLING_PROVIDER: "mock",
      STRIPE_SECRET_KEY: stripeKey,
      STRIPE_WEBHOOK_SECRET: webhookSecret,
      TOLLGATE_BOOTSTRAP_ADMIN_KEY: BOOTSTRAP_KEY,
      LOG_LEVEL: "trace",
    });
    const tenantKey = await createKeyWithCli(db.url, randomUUID());
    const wrongKey = `${tenantKey.slice(0, 12)}WrongSecretWrongSecretWrong`;
    try {
      // when calls carry good, bad and foreign keys over gRPC and Connect
      for (const key of [BOOTSTRAP_KEY, tenantKey, wrongKey]) {
        await call(
          server.baseUrl,
          BillingService,
          "getCustomer",
          { tenantId: randomUUID() },
          {
            authorization: `Bearer ${key}`,
          },
        );
        await fetch(`${server.baseUrl}/tollgate.v1.BillingService/ListPlans`, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
          body: "{}",
        });
      }
    } finally {
      await server.stop();
    }

    // then the log mentions key prefixes at most, never a secret
    const output = server.output();
    expect(output).toContain('"msg":"configuration"');
    expect(output).toContain(tenantKey.slice(0, 11));
    for (const secret of [BOOTSTRAP_KEY, tenantKey, wrongKey, stripeKey, webhookSecret, db.url]) {
      expect(output).not.toContain(secret);
    }
    for (const secret of [BOOTSTRAP_KEY, tenantKey, wrongKey]) {
      expect(output).not.toContain(secret.slice(12));
    }
  });
});

async function call(
  baseUrl: string,
  service: DescService,
  name: string,
  request: unknown,
  headers: Record<string, string>,
): Promise<Expected> {
  const client = grpcClient(service, baseUrl) as unknown as Record<
    string,
    (input: unknown, options: { headers: Record<string, string> }) => Promise<unknown>
  >;
  const method = service.methods.find((m: DescMethod) => m.localName === name);
  if (method?.methodKind === "server_streaming") {
    // A stream that is allowed stays open: its first 300 ms without an error count as OK.
    const stop = new AbortController();
    const timer = setTimeout(() => stop.abort(), 300);
    const open = client[name] as unknown as (
      input: unknown,
      options: { headers: Record<string, string>; signal: AbortSignal },
    ) => AsyncIterable<unknown>;
    try {
      for await (const _ of open(request, { headers, signal: stop.signal })) break;
      return OK;
    } catch (error) {
      const code = ConnectError.from(error).code;
      return stop.signal.aborted && code === Code.Canceled ? OK : code;
    } finally {
      clearTimeout(timer);
    }
  }
  const input =
    method?.methodKind === "client_streaming"
      ? (async function* () {
          yield request;
        })()
      : request;
  try {
    await client[name]?.(input, { headers });
    return OK;
  } catch (error) {
    return ConnectError.from(error).code;
  }
}

// Every table a call may write; background work drains the settle queue and records webhook
// attempts on its own schedule, so those two are left out of "a denied call wrote nothing".
async function callTables(databaseUrl: string): Promise<string[]> {
  return (await tableNames(databaseUrl)).filter(
    (t) => t !== "counter_settle_queue" && t !== "webhook_attempts",
  );
}

function describeOutcome(outcome: Expected): string {
  return outcome === OK ? "ok" : Code[outcome];
}
