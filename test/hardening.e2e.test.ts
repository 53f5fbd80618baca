import { randomUUID } from "node:crypto";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BillingService } from "../gen/tollgate/v1/billing_service_pb.js";
import { UsageService } from "../gen/tollgate/v1/usage_service_pb.js";
import { createTestDatabase, type TestDatabase } from "./support/database.js";
import { type FakeStripe, startFakeStripe } from "./support/fake-stripe.js";
import { type ServerProcess, startServerProcess } from "./support/server-process.js";

/** Polls `GET /healthz` until `until` settles; returns the slowest answer in ms (Infinity if one failed). */
async function watchHealth(baseUrl: string, until: Promise<unknown>): Promise<number> {
  let settled = false;
  void until.finally(() => {
    settled = true;
  });
  let slowest = 0;
  while (!settled) {
    const started = performance.now();
    const res = await fetch(`${baseUrl}/healthz`, { signal: AbortSignal.timeout(5_000) }).catch(
      () => undefined,
    );
    slowest = Math.max(slowest, res?.ok ? performance.now() - started : Number.POSITIVE_INFINITY);
    await new Promise((r) => setTimeout(r, 100));
  }
  return slowest;
}

describe("hardening: one tenant cannot freeze the server", () => {
  let db: TestDatabase;
  let server: ServerProcess;

  beforeAll(async () => {
    db = await createTestDatabase();
    server = await startServerProcess({ DATABASE_URL: db.url });
  });
  afterAll(async () => {
    await server?.stop();
    await db?.drop();
  });

  it("should answer three concurrent TrackUsage calls of 20,000, 20,000 and 31,000 events and keep /healthz answering", async () => {
    // given: the default buffer of 50,000 events, which the third call does not fit beside
    // what one finished flush leaves held
    const tenantId = randomUUID();
    const usage = createClient(UsageService, createGrpcTransport({ baseUrl: server.baseUrl }));
    const call = (n: number) =>
      usage.trackUsage(
        {
          events: Array.from({ length: n }, () => ({
            eventId: randomUUID(),
            tenantId,
            resourceType: "tokens",
            quantity: "1",
          })),
        },
        { timeoutMs: 60_000 },
      );

    // when
    const calls = Promise.allSettled([call(20_000), call(20_000), call(31_000)]);
    const slowestHealth = await watchHealth(server.baseUrl, calls);
    const results = await calls;

    // then: every call answered, each accepted in full or refused ResourceExhausted
    for (const result of results) {
      if (result.status === "fulfilled") {
        expect(Number(result.value.acceptedCount)).toBeGreaterThanOrEqual(20_000);
      } else {
        expect(ConnectError.from(result.reason).code).toBe(Code.ResourceExhausted);
      }
    }
    expect(results.filter((r) => r.status === "fulfilled").length).toBeGreaterThanOrEqual(2);
    expect(slowestHealth).toBeLessThan(5_000);
    const health = await fetch(`${server.baseUrl}/healthz`);
    expect(health.status).toBe(200);
  });
});

describe("hardening: the Stripe side", () => {
  let db: TestDatabase;
  let stripe: FakeStripe;
  let server: ServerProcess;

  beforeAll(async () => {
    db = await createTestDatabase();
    stripe = await startFakeStripe();
    server = await startServerProcess({
      DATABASE_URL: db.url,
      BILLING_PROVIDER: "stripe",
      STRIPE_SECRET_KEY: "sk_test_tollgate",
      STRIPE_WEBHOOK_SECRET: `whsec_${randomUUID().replaceAll("-", "")}`,
      STRIPE_API_URL: stripe.url,
      BILLING_LEASE_SECONDS: "1",
    });
  });
  afterAll(async () => {
    await server?.stop();
    await stripe?.close();
    await db?.drop();
  });

  it("should answer a 1 MB unsigned junk POST /webhooks/stripe with 400 and log under 1 KB", async () => {
    // given
    const junk = `{"customer_email":"${"secret-data-".repeat(87_000)}"}`;
    const before = server.output().length;

    // when
    const res = await fetch(`${server.baseUrl}/webhooks/stripe`, { method: "POST", body: junk });

    // then
    expect(res.status).toBe(400);
    await new Promise((r) => setTimeout(r, 200));
    const written = server.output().slice(before);
    const lines = written.split("\n").filter((line) => line.includes("stripe webhook refused"));
    expect(lines).toHaveLength(1);
    expect(Buffer.byteLength(lines[0] ?? "")).toBeLessThan(1024);
    expect(written).not.toContain("secret-data-");
  });

  it("should create one Stripe subscription when the first create outlives the billing lease", async () => {
    // given: a customer, and Stripe answering the next subscription create after 4 s, four
    // times the 1 s lease
    const billing = createClient(BillingService, createGrpcTransport({ baseUrl: server.baseUrl }));
    const tenantId = randomUUID();
    const { customer } = await billing.createCustomer({ tenantId, email: "slow@example.com" });
    stripe.fail("/v1/subscriptions", { delayMs: 4_000 });

    // when: a second subscribe with another request id arrives while the first waits on Stripe
    const first = billing.createSubscription({
      customerId: customer!.id,
      priceId: "price_pro_monthly",
      requestId: "first",
    });
    await new Promise((r) => setTimeout(r, 2_000));
    const second = billing.createSubscription({
      customerId: customer!.id,
      priceId: "price_pro_monthly",
      requestId: "second",
    });
    const [one, two] = await Promise.allSettled([first, second]);

    // then: the first subscribed, the second was refused, Stripe holds one subscription
    expect(one.status).toBe("fulfilled");
    expect(two.status).toBe("rejected");
    expect(ConnectError.from((two as PromiseRejectedResult).reason).code).toBe(
      Code.FailedPrecondition,
    );
    const creates = stripe.requests.filter(
      (r) => r.method === "POST" && r.path === "/v1/subscriptions",
    );
    expect(creates).toHaveLength(1);
    const stripeCustomer = [...stripe.subscriptions.values()].filter(
      (s) => s.customer === customer!.id || (s.metadata as Record<string, string>)?.tenant_id === tenantId,
    );
    expect(stripeCustomer).toHaveLength(1);
  });
});
