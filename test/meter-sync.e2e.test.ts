import { randomBytes, randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { queryRows } from "./support/app.js";
import { grpcTransport, tollgateClients } from "./support/clients.js";
import { createTestDatabase, type TestDatabase } from "./support/database.js";
import { type FakeStripe, startFakeStripe } from "./support/fake-stripe.js";
import { type ServerProcess, startReplicas, startServerProcess } from "./support/server-process.js";
import { startServerBehindProxy, type TcpProxy } from "./support/tcp-proxy.js";

const METERED = {
  price_pro_executions_metered: {
    eventName: "tollgate_executions",
    included: 10_000,
    unitAmountDecimal: "0.6",
  },
  price_pro_tokens_metered: {
    eventName: "tollgate_tokens",
    included: 10_000_000,
    unitAmountDecimal: "0.0006",
  },
  price_pro_api_calls_metered: {
    eventName: "tollgate_api_calls",
    included: 100_000,
    unitAmountDecimal: "0.05",
  },
};

const clients = (baseUrl: string) => {
  return tollgateClients(grpcTransport(baseUrl));
};

/** Every meter-event request the fake received, as (identifier, value) pairs. */
const meterRequests = (stripe: FakeStripe) =>
  stripe.requests
    .filter((r) => r.path === "/v1/billing/meter_events")
    .map((r) => ({
      identifier: r.params.identifier ?? "",
      value: r.params["payload[value]"] ?? "",
      time: r.time,
    }));

describe("meter sync to Stripe, exactly once", () => {
  let db: TestDatabase;
  let stripe: FakeStripe;
  const servers: ServerProcess[] = [];
  const proxies: TcpProxy[] = [];
  const ownDatabases: TestDatabase[] = [];

  const env = (extra: Record<string, string> = {}) => ({
    DATABASE_URL: db.url,
    BILLING_PROVIDER: "stripe",
    STRIPE_SECRET_KEY: "sk_test_tollgate",
    STRIPE_WEBHOOK_SECRET: `whsec_${randomBytes(16).toString("hex")}`,
    STRIPE_API_URL: stripe.url,
    BILLING_RATE_LIMIT_BURST: "1000",
    METER_SYNC_INTERVAL_SECONDS: "0.2",
    ...extra,
  });

  beforeAll(async () => {
    db = await createTestDatabase();
    stripe = await startFakeStripe({
      unitAmounts: { price_pro_monthly: 4900 },
      metered: METERED,
    });
  });

  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.stop()));
    await Promise.all(proxies.splice(0).map((p) => p.close()));
    stripe.beforeMeterAnswer = undefined;
    stripe.reset();
  });

  afterAll(async () => {
    await stripe?.close();
    await db?.drop();
    await Promise.all(ownDatabases.map((own) => own.drop()));
  });

  const subscribe = async (api: ReturnType<typeof clients>) => {
    const tenantId = randomUUID();
    const { customer } = await api.billing.createCustomer({ tenantId, email: "m@example.com" });
    await api.billing.createSubscription({
      customerId: customer!.id,
      priceId: "price_pro_monthly",
    });
    return { tenantId, customerId: customer!.id };
  };

  const usedOf = async (tenantId: string, resourceType: string) => {
    const [row] = await queryRows<{ used: string }>(
      db.url,
      "select used::text from usage_counters where tenant_id = $1 and resource_type = $2",
      [tenantId, resourceType],
    );
    return Number(row?.used ?? 0);
  };

  it("should subscribe to a dimension limit's price and feed its meter apart from the total's", async () => {
    // given the example catalog's PRO: tokens (llm_tokens) with gpt-4 priced apart, on a
    // database of its own (a catalog file seeds an empty database only)
    const own = await createTestDatabase();
    ownDatabases.push(own);
    const server = await startServerProcess(
      env({
        DATABASE_URL: own.url,
        PLAN_CATALOG_PATH: fileURLToPath(
          new URL("../examples/catalogs/llm-platform.json", import.meta.url),
        ),
      }),
    );
    servers.push(server);
    const api = clients(server.baseUrl);
    const tenantId = randomUUID();
    const { customer } = await api.billing.createCustomer({ tenantId, email: "d@example.com" });
    await api.billing.createSubscription({
      customerId: customer!.id,
      priceId: "price_llm_pro_monthly",
    });

    // when 150,000 gpt-4 tokens and 10 others are used
    await api.entitlements.recordUsage({
      tenantId,
      resourceType: "tokens",
      quantity: "150000",
      dimensions: { model: "gpt-4" },
    });
    await api.entitlements.recordUsage({ tenantId, resourceType: "tokens", quantity: "10" });

    // then the subscription carries both metered prices, gpt-4's meter gets its 150,000 and
    // the total's the rest of the usage (150,010 less gpt-4's 50,000 beyond its allowance)
    const created = stripe.requests.find((r) => r.path === "/v1/subscriptions");
    expect(Object.values(created?.params ?? {})).toEqual(
      expect.arrayContaining(["price_llm_tokens", "price_llm_tokens_gpt_4"]),
    );
    await expect.poll(() => stripe.meterTotal(customer!.id, "llm_tokens_gpt_4")).toBe(150_000);
    await expect.poll(() => stripe.meterTotal(customer!.id, "llm_tokens")).toBe(100_010);
  });

  it("should send each delta with its identifier, value and customer, and Stripe's sums equal the usage", async () => {
    const server = await startServerProcess(env());
    servers.push(server);
    const api = clients(server.baseUrl);
    const { tenantId, customerId } = await subscribe(api);

    // when usage arrives in two rounds, with a fractional token amount
    await api.entitlements.checkAndRecord({ tenantId, resourceType: "executions", quantity: "12" });
    await api.entitlements.recordUsage({ tenantId, resourceType: "tokens", quantity: "7.5" });
    await expect.poll(() => stripe.meterTotal(customerId, "tollgate_executions")).toBe(12);
    await api.entitlements.recordUsage({ tenantId, resourceType: "executions", quantity: "30" });

    // then Stripe holds exactly the usage: whole units, in deltas with distinct identifiers
    await expect.poll(() => stripe.meterTotal(customerId, "tollgate_executions")).toBe(42);
    expect(await usedOf(tenantId, "executions")).toBe(42);
    await expect.poll(() => stripe.meterTotal(customerId, "tollgate_tokens")).toBe(7);
    const executions = stripe.meterEvents.filter((e) => e.eventName === "tollgate_executions");
    expect(executions.map((e) => [e.customerId, e.value, e.accepted, e.via])).toEqual([
      [customerId, "12", true, "v1"],
      [customerId, "30", true, "v1"],
    ]);
    expect(new Set(stripe.meterEvents.map((e) => e.identifier)).size).toBe(
      stripe.meterEvents.length,
    );
    for (const event of stripe.meterEvents) {
      expect(event.identifier).toMatch(/^tg_[0-9a-f]{40}$/);
      expect(Math.abs(event.timestamp - Date.now() / 1000)).toBeLessThan(60);
    }
    // the identifier doubles as the idempotency key of the request
    expect(
      stripe.requests
        .filter((r) => r.path === "/v1/billing/meter_events")
        .every((r) => r.idempotencyKey === r.params.identifier),
    ).toBe(true);

    // and the invoice preview comes from Stripe, mapped to major units
    const { invoice } = await api.billing.getUpcomingInvoice({ tenantId });
    expect(invoice).toMatchObject({ currency: "usd", subtotal: "49.00", total: "49.00" });
    expect(invoice?.lines.map((l) => [l.resourceType, l.quantity, l.unitAmount, l.amount])).toEqual(
      [
        ["", "1", "49", "49.00"],
        ["executions", "42", "0.006", "0.00"],
        ["tokens", "7", "0.000006", "0.00"],
        ["api_calls", "0", "0.0005", "0.00"],
      ],
    );
  });

  it("should back off on 429 and 500 answers and then deliver", async () => {
    // given Stripe answers the next meter events 429 twice, then 500 twice
    stripe.fail(
      "/v1/billing/meter_events",
      { status: 429, error: { type: "rate_limit_error", message: "Too many requests" } },
      2,
    );
    stripe.fail(
      "/v1/billing/meter_events",
      { status: 500, error: { type: "api_error", message: "Something went wrong" } },
      2,
    );
    const server = await startServerProcess(env());
    servers.push(server);
    const api = clients(server.baseUrl);
    const { tenantId, customerId } = await subscribe(api);

    // when usage is recorded
    await api.entitlements.recordUsage({ tenantId, resourceType: "api_calls", quantity: "5" });

    // then it arrives once, after four tries spaced further and further apart
    await expect
      .poll(() => stripe.meterTotal(customerId, "tollgate_api_calls"), { timeout: 15_000 })
      .toBe(5);
    const tries = meterRequests(stripe);
    expect(tries).toHaveLength(5);
    expect(new Set(tries.map((t) => `${t.identifier}=${t.value}`)).size).toBe(1);
    // the n-th retry waits at least 0.8 (the jitter's floor) * 200 ms * 2^(n-1)
    const gaps = tries.slice(1).map((t, i) => t.time - (tries[i] as { time: number }).time);
    expect(gaps.map((gap, n) => gap >= 0.8 * 200 * 2 ** n)).toEqual([true, true, true, true]);
    // (Stripe has it before our commit lands, so the row is polled)
    const report = async () =>
      (
        await queryRows<{ state: string; attempts: number }>(
          db.url,
          "select state, attempts from meter_reports where tenant_id = $1",
          [tenantId],
        )
      )[0];
    await expect.poll(report).toEqual({ state: "sent", attempts: 5 });
    // and the retries show on /metrics and in the log
    const stats = async () => {
      const text = await (await fetch(`${server.baseUrl}/metrics`)).text();
      return ["retried", "sent", "pending"].map(
        (stat) => new RegExp(`tollgate_meter_sync\\{stat="${stat}"\\} (\\d+)`).exec(text)?.[1],
      );
    };
    await expect.poll(stats).toEqual(["4", "1", "0"]);
    expect(
      server.logs().filter((l) => l.msg === "meter events not delivered; backing off"),
    ).toHaveLength(4);
  });

  it("should have two replicas report each delta once", async () => {
    const replicas = await startReplicas(env(), 2);
    servers.push(...replicas);
    const [a, b] = replicas.map((r) => clients(r.baseUrl)) as [
      ReturnType<typeof clients>,
      ReturnType<typeof clients>,
    ];
    const tenants = await Promise.all(Array.from({ length: 20 }, () => subscribe(a)));

    // when usage keeps arriving on both replicas while both sync
    for (let round = 0; round < 5; round++) {
      await Promise.all(
        tenants.map(({ tenantId }, i) =>
          (i % 2 ? a : b).entitlements.checkAndRecord({
            tenantId,
            resourceType: "executions",
            quantity: String(round + 1),
          }),
        ),
      );
      await sleep(150);
    }

    // then Stripe gets every tenant's exact total, and no delta was sent twice
    for (const { customerId } of tenants) {
      await expect.poll(() => stripe.meterTotal(customerId, "tollgate_executions")).toBe(15);
    }
    const sent = meterRequests(stripe).map((r) => r.identifier);
    expect(new Set(sent).size).toBe(sent.length);
    expect(stripe.meterEvents.every((e) => e.accepted)).toBe(true);
  });

  it("should neither lose nor double-count when killed after Stripe answered and before the commit", async () => {
    // given a server whose database link the test can freeze
    const { DATABASE_URL: _direct, ...viaProxy } = env();
    const { proxy, server } = await startServerBehindProxy(db.url, viaProxy);
    proxies.push(proxy);
    servers.push(server);
    const api = clients(server.baseUrl);
    const { tenantId, customerId } = await subscribe(api);

    // when Stripe records a delta and answers, but the server's commit never reaches the
    // database, and the server is killed with SIGKILL
    let answered = false;
    stripe.beforeMeterAnswer = async () => {
      if (answered) return;
      answered = true;
      proxy.freeze();
    };
    await api.entitlements.recordUsage({ tenantId, resourceType: "executions", quantity: "17" });
    await expect.poll(() => answered).toBe(true);
    await sleep(300);
    await server.stop("SIGKILL");
    proxy.cut();
    stripe.beforeMeterAnswer = undefined;
    const [pending] = await queryRows<{ state: string }>(
      db.url,
      "select state from meter_reports where tenant_id = $1",
      [tenantId],
    );
    expect(pending?.state).toBe("pending");

    // and restarted, with more usage arriving
    const restarted = await startServerProcess(env());
    servers.push(restarted);
    await clients(restarted.baseUrl).entitlements.recordUsage({
      tenantId,
      resourceType: "executions",
      quantity: "5",
    });

    // then the delta is re-sent with the same identifier and value, and the sums match
    await expect.poll(() => stripe.meterTotal(customerId, "tollgate_executions")).toBe(22);
    const tries = meterRequests(stripe);
    const byIdentifier = new Map<string, Set<string>>();
    for (const t of tries)
      byIdentifier.set(t.identifier, (byIdentifier.get(t.identifier) ?? new Set()).add(t.value));
    expect([...byIdentifier.values()].every((values) => values.size === 1)).toBe(true);
    expect(tries.filter((t) => t.value === "17")).toHaveLength(2);
    expect(await usedOf(tenantId, "executions")).toBe(22);
    const states = async () =>
      (
        await queryRows<{ state: string }>(
          db.url,
          "select state from meter_reports where tenant_id = $1",
          [tenantId],
        )
      ).map((row) => row.state);
    await expect.poll(states).toEqual(["sent", "sent"]);
  });

  it("should use the v2 meter event stream when STRIPE_METER_STREAM is true", async () => {
    const server = await startServerProcess(env({ STRIPE_METER_STREAM: "true" }));
    servers.push(server);
    const api = clients(server.baseUrl);
    const tenants = await Promise.all(Array.from({ length: 5 }, () => subscribe(api)));
    await Promise.all(
      tenants.map(({ tenantId }) =>
        api.entitlements.recordUsage({ tenantId, resourceType: "executions", quantity: "3" }),
      ),
    );
    for (const { customerId } of tenants) {
      await expect.poll(() => stripe.meterTotal(customerId, "tollgate_executions")).toBe(3);
    }
    expect(stripe.meterEvents.every((e) => e.via === "v2" && e.accepted)).toBe(true);
    const sessions = stripe.requests.filter((r) => r.path === "/v2/billing/meter_event_session");
    expect(sessions).toHaveLength(1);
  });

  it("should report a void as one compensating delta, exact after a SIGKILL between the void and its report", async () => {
    // given 100 executions reported to Stripe
    const first = await startServerProcess(env());
    servers.push(first);
    const api = clients(first.baseUrl);
    const { tenantId, customerId } = await subscribe(api);
    // (after the subscription began: earlier usage is the default plan's)
    const at = timestampFromDate(new Date());
    await api.usage.trackUsage({
      events: Array.from({ length: 100 }, (_, i) => ({
        eventId: `ev-${i}`,
        tenantId,
        resourceType: "executions",
        quantity: "1",
        occurTime: at,
        attributes: {},
      })),
    });
    // (ingested usage is settled by the sweep before it is reported)
    await expect
      .poll(() => stripe.meterTotal(customerId, "tollgate_executions"), { timeout: 10_000 })
      .toBe(100);
    await first.stop();

    // when a replica that will not sync before it dies voids 10 of them, and is killed
    const quiet = await startServerProcess(env({ METER_SYNC_INTERVAL_SECONDS: "86400" }));
    const voided = await clients(quiet.baseUrl).usage.voidUsage({
      tenantId,
      eventIds: Array.from({ length: 10 }, (_, i) => `ev-${i}`),
      reason: "metered twice",
      requestId: "void-1",
    });
    expect(voided.voidedCount).toBe(10n);
    await quiet.stop("SIGKILL");
    expect(stripe.meterTotal(customerId, "tollgate_executions")).toBe(100);

    // and a replica starts again
    const restarted = await startServerProcess(env());
    servers.push(restarted);

    // then Stripe's sum is exact: one compensating delta of -10, every identifier distinct
    await expect
      .poll(() => stripe.meterTotal(customerId, "tollgate_executions"), { timeout: 10_000 })
      .toBe(90);
    // (Stripe has the delta before the report's row is marked sent: wait for that commit)
    const reports = async () =>
      (
        await queryRows<{ value: string; state: string }>(
          db.url,
          "select value::text, state from meter_reports where tenant_id = $1 order by create_time",
          [tenantId],
        )
      ).map((r) => [r.value, r.state]);
    await expect.poll(reports, { timeout: 10_000 }).toEqual([
      ["100", "sent"],
      ["-10", "sent"],
    ]);
    expect(new Set(stripe.meterEvents.map((e) => e.identifier)).size).toBe(
      stripe.meterEvents.length,
    );
    const { entitlements } = await clients(restarted.baseUrl).entitlements.getEntitlements({
      tenantId,
    });
    expect(entitlements.find((e) => e.resourceType === "executions")?.used).toBe("90");

    // and the invoice preview bills the corrected usage
    const { invoice } = await clients(restarted.baseUrl).billing.getUpcomingInvoice({ tenantId });
    expect(invoice?.lines.find((l) => l.resourceType === "executions")?.quantity).toBe("90");
  });
});
