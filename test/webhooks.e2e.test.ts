import { randomUUID } from "node:crypto";
import { Code, ConnectError, type createClient } from "@connectrpc/connect";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BillingService } from "../gen/tollgate/v1/billing_service_pb.js";
import { EntitlementService } from "../gen/tollgate/v1/entitlement_service_pb.js";
import { DeliveryState, EventService } from "../gen/tollgate/v1/event_service_pb.js";
import { queryRows, startTestApp, type TestApp } from "./support/app.js";
import { grpcClient } from "./support/clients.js";
import { createTestDatabase, type TestDatabase } from "./support/database.js";
import { startServerProcess } from "./support/server-process.js";
import { startWebhookReceiver, type WebhookReceiver } from "./support/webhook-receiver.js";

const FAST = {
  WEBHOOK_RETRY_SCHEDULE: "0,0.2,0.2,0.2",
  WEBHOOK_TIMEOUT_SECONDS: "1",
  BILLING_SWEEP_INTERVAL_SECONDS: "0.2",
};

describe("webhooks", () => {
  let db: TestDatabase;
  let server: TestApp;
  const receivers: WebhookReceiver[] = [];
  let events: ReturnType<typeof createClient<typeof EventService>>;
  let entitlements: ReturnType<typeof createClient<typeof EntitlementService>>;

  beforeAll(async () => {
    db = await createTestDatabase();
    server = await startTestApp(db.url, {}, FAST);
    events = grpcClient(EventService, server.baseUrl);
    entitlements = grpcClient(EntitlementService, server.baseUrl);
  });

  afterAll(async () => {
    await server?.stop();
    await Promise.all(receivers.map((r) => r.close()));
    await db?.drop();
  });

  const receiver = async (...args: Parameters<typeof startWebhookReceiver>) => {
    const started = await startWebhookReceiver(...args);
    receivers.push(started);
    return started;
  };
  // An endpoint for one event type, so each test sees only the events it causes.
  const endpointFor = async (url: string, types = ["entitlement.denied"]) =>
    events.createWebhookEndpoint({ url, types, description: "test" });
  const deny = async () => {
    const tenantId = randomUUID();
    await entitlements.checkAndRecord({ tenantId, resourceType: "agents", quantity: "3" });
    return tenantId;
  };
  const deliveriesOf = async (endpointId: string) =>
    (await events.listDeliveries({ endpointId, pageSize: 100 })).deliveries;

  it("should sign every delivery per Standard Webhooks, with both secrets during a rotation", async () => {
    // given an endpoint for subscription events
    const hooks = await receiver();
    const { endpoint, secret } = await endpointFor(hooks.url, [
      "subscription.created",
      "subscription.updated",
      "subscription.canceled",
    ]);
    expect(secret).toMatch(/^whsec_/);

    // when a subscription is created, upgraded and canceled
    const tenantId = randomUUID();
    const billing = grpcClient(BillingService, server.baseUrl);
    const { customer } = await billing.createCustomer({ tenantId, email: "hooks@example.com" });
    const { subscription } = await billing.createSubscription({
      customerId: customer!.id,
      priceId: "price_pro_monthly",
    });
    await billing.updateSubscription({
      subscriptionId: subscription!.id,
      newPriceId: "price_team_monthly",
    });
    const rotated = await events.rotateWebhookSecret({ endpointId: endpoint!.id });
    await billing.cancelSubscription({ subscriptionId: subscription!.id, immediate: true });

    // then every delivery verifies with the secret in force, and the one after the rotation
    // with both the new and the previous secret
    await expect.poll(() => hooks.received.length, { timeout: 10_000 }).toBe(3);
    const types = hooks.received.map((r) => {
      const secrets = r === hooks.received[2] ? [secret, rotated.secret] : [secret];
      let body: { type: string; timestamp: string; data: Record<string, unknown> } | undefined;
      for (const key of secrets) {
        body = new Webhook(key).verify(r.body, r.headers) as typeof body;
      }
      expect(r.headers["webhook-id"]).toMatch(/^evt_[0-9a-f]{32}$/);
      expect(body?.data).toMatchObject({ tenant_id: tenantId, id: subscription!.id });
      expect(Number.isNaN(Date.parse(body?.timestamp ?? ""))).toBe(false);
      return body?.type;
    });
    expect(types).toEqual([
      "subscription.created",
      "subscription.updated",
      "subscription.canceled",
    ]);
    const forged = { ...hooks.received[0]!.headers, "webhook-signature": "v1,AAAA" };
    expect(() => new Webhook(secret).verify(hooks.received[0]!.body, forged)).toThrow();
  });

  it("should record every subscription lifecycle event once, whichever path changed it", async () => {
    // given a subscription with a two-day trial, changed by RPCs
    const tenantId = randomUUID();
    const billing = grpcClient(BillingService, server.baseUrl);
    const { customer } = await billing.createCustomer({ tenantId, email: "life@example.com" });
    const { subscription } = await billing.createSubscription({
      customerId: customer!.id,
      priceId: "price_pro_monthly",
      trialDays: 2,
    });
    // the trial ends within three days: the sweep announces it once
    await expect
      .poll(
        async () =>
          (await events.listEvents({ tenantId, types: ["subscription.trial_will_end"] })).events
            .length,
        { timeout: 10_000 },
      )
      .toBe(1);
    // (a provider webhook's past due, the sync path, is followed in stripe.e2e.test.ts: a
    // change written by SQL outside Tollgate is no event, since no trigger writes events)
    await billing.cancelSubscription({ subscriptionId: subscription!.id, immediate: true });
    await new Promise((resolve) => setTimeout(resolve, 600));

    // then the log holds each transition once, in order, and the plan's entitlements were
    // announced once when it began and once when it ended
    const { events: all } = await events.listEvents({ tenantId, pageSize: 100 });
    expect(all.map((e) => e.type).reverse()).toEqual([
      "subscription.created",
      "entitlement.updated",
      "subscription.trial_will_end",
      "subscription.canceled",
      "entitlement.updated",
    ]);
    const log = all.filter((e) => e.type.startsWith("subscription."));
    expect(log.every((e) => e.data?.id === subscription!.id)).toBe(true);
    // every event carries the subscription in one shape, whichever path wrote it
    expect(
      new Set(
        log.map((e) =>
          Object.keys(e.data ?? {})
            .sort()
            .join(","),
        ),
      ).size,
    ).toBe(1);
  });

  it("should record a generic reason for an unreachable destination, never which port was closed", async () => {
    // given: an endpoint on a loopback port nothing listens on
    const closed = await receiver();
    const url = closed.url;
    await closed.close();
    const { endpoint } = await endpointFor(url);

    // when an event is sent there and fails every attempt
    await deny();
    await expect
      .poll(async () => (await deliveriesOf(endpoint!.id))[0]?.state, { timeout: 10_000 })
      .toBe(DeliveryState.FAILED);

    // then: every attempt says the same thing, with no address, port or socket error in it
    const [delivery] = await deliveriesOf(endpoint!.id);
    const errors = new Set(delivery?.attempts.map((a) => a.error));
    expect([...errors]).toEqual([
      "could not reach the receiver (refused by the destination policy, or unreachable)",
    ]);
  });

  it("should retry a failing receiver with the same webhook-id until it answers 2xx", async () => {
    // given a receiver that answers 500 three times, then 200
    const hooks = await receiver((_, i) => ({ status: i < 3 ? 500 : 200 }));
    const { endpoint } = await endpointFor(hooks.url);

    // when one event is emitted
    await deny();

    // then it arrives four times with one webhook-id, and the delivery shows each attempt
    await expect.poll(() => hooks.received.length, { timeout: 10_000 }).toBe(4);
    expect(new Set(hooks.received.map((r) => r.headers["webhook-id"])).size).toBe(1);
    await expect
      .poll(async () => (await deliveriesOf(endpoint!.id))[0]?.state, { timeout: 5_000 })
      .toBe(DeliveryState.SUCCEEDED);
    const [delivery] = await deliveriesOf(endpoint!.id);
    expect(delivery?.attempts.map((a) => a.statusCode)).toEqual([500, 500, 500, 200]);
    expect(delivery?.eventId).toBe(hooks.received[0]?.headers["webhook-id"]);
  });

  it("should give up after the schedule, and try again on RetryDelivery", async () => {
    let healthy = false;
    const hooks = await receiver(() => ({ status: healthy ? 204 : 502 }));
    const { endpoint } = await endpointFor(hooks.url);
    await deny();
    await expect
      .poll(async () => (await deliveriesOf(endpoint!.id))[0]?.state, { timeout: 10_000 })
      .toBe(DeliveryState.FAILED);
    expect(hooks.received).toHaveLength(4);
    healthy = true;
    const [failed] = await deliveriesOf(endpoint!.id);
    await events.retryDelivery({ deliveryId: failed!.id });
    await expect
      .poll(async () => (await deliveriesOf(endpoint!.id))[0]?.state, { timeout: 10_000 })
      .toBe(DeliveryState.SUCCEEDED);
    expect(hooks.received).toHaveLength(5);
  });

  it("should disable an endpoint that answers 410", async () => {
    const hooks = await receiver(() => ({ status: 410 }));
    const { endpoint } = await endpointFor(hooks.url);
    await deny();
    await expect
      .poll(
        async () =>
          (await events.listWebhookEndpoints({})).endpoints.find((e) => e.id === endpoint!.id)
            ?.enabled,
        {
          timeout: 10_000,
        },
      )
      .toBe(false);
    const [gone] = (await events.listWebhookEndpoints({})).endpoints.filter(
      (e) => e.id === endpoint!.id,
    );
    expect(gone?.disabledReason).toContain("410");
    expect((await deliveriesOf(endpoint!.id))[0]?.state).toBe(DeliveryState.FAILED);
    await deny();
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(hooks.received).toHaveLength(1);
    expect(await deliveriesOf(endpoint!.id)).toHaveLength(1);
  });

  it("should wait as long as Retry-After says on 429", async () => {
    const hooks = await receiver((_, i) =>
      i === 0 ? { status: 429, headers: { "retry-after": "1" } } : { status: 200 },
    );
    await endpointFor(hooks.url);
    await deny();
    await expect.poll(() => hooks.received.length, { timeout: 10_000 }).toBe(2);
    const [first, second] = hooks.received;
    expect(second!.time - first!.time).toBeGreaterThanOrEqual(950);
  });

  it("should answer API calls while a receiver hangs", async () => {
    // given an endpoint whose receiver never answers
    const hooks = await receiver(() => "hang");
    const { endpoint } = await endpointFor(hooks.url);

    // when 30 calls each emit an event
    await Promise.all(Array.from({ length: 30 }, () => deny()));

    // then every call was answered while the receiver still holds its requests open, and the
    // attempts end at the timeout
    await expect.poll(() => hooks.hanging(), { timeout: 5_000 }).toBeGreaterThan(0);
    const held = await Promise.all(Array.from({ length: 30 }, () => deny()));
    expect(held).toHaveLength(30);
    expect(hooks.hanging()).toBeGreaterThan(0);
    await expect
      .poll(
        async () =>
          (await deliveriesOf(endpoint!.id)).some((d) =>
            d.lastError.includes("no answer within 1 s"),
          ),
        {
          timeout: 10_000,
        },
      )
      .toBe(true);
    await events.updateWebhookEndpoint({
      endpointId: endpoint!.id,
      enabled: false,
      updateMask: { paths: ["enabled"] },
    });
  });

  it("should never make one attempt twice on two replicas", async () => {
    // given a second replica on the same database and a receiver for a fresh endpoint
    const other = await startTestApp(db.url, {}, FAST);
    try {
      const hooks = await receiver();
      const { endpoint } = await endpointFor(hooks.url);

      // when 40 events are emitted through both replicas
      const second = grpcClient(EntitlementService, other.baseUrl);
      await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          (i % 2 === 0 ? entitlements : second).checkAndRecord({
            tenantId: randomUUID(),
            resourceType: "agents",
            quantity: "3",
          }),
        ),
      );

      // then each event arrives exactly once
      await expect.poll(() => hooks.received.length, { timeout: 10_000 }).toBe(40);
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(new Set(hooks.received.map((r) => r.headers["webhook-id"])).size).toBe(40);
      expect(hooks.received).toHaveLength(40);
      const attempts = await queryRows(
        db.url,
        `select count(*)::int as n from webhook_attempts a
         join webhook_deliveries d on d.tenant_id = a.tenant_id and d.id = a.delivery_id
         where d.endpoint_id = $1`,
        [endpoint!.id],
      );
      expect(attempts).toEqual([{ n: 40 }]);
    } finally {
      await other.stop();
    }
  });

  it("should deliver after a restart what a killed server was sending", async () => {
    // given a server process, the only sender (the in-process app is stopped), whose receiver
    // holds the first attempt open
    await server.stop();
    const hooks = await receiver((_, i) => (i === 0 ? "hang" : { status: 200 }));
    const env = { DATABASE_URL: db.url, ...FAST, WEBHOOK_TIMEOUT_SECONDS: "3" };
    const first = await startServerProcess(env);
    let restarted: Awaited<ReturnType<typeof startServerProcess>> | undefined;
    try {
      const { endpoint } = await grpcClient(EventService, first.baseUrl).createWebhookEndpoint({
        url: hooks.url,
        types: ["entitlement.denied"],
      });
      await grpcClient(EntitlementService, first.baseUrl).checkAndRecord({
        tenantId: randomUUID(),
        resourceType: "agents",
        quantity: "3",
      });
      await expect.poll(() => hooks.hanging(), { timeout: 10_000 }).toBe(1);

      // when it is killed mid-delivery and comes back
      await first.stop("SIGKILL");
      restarted = await startServerProcess(env);

      // then the event arrives again, with the same webhook-id, once the lease lapses
      await expect.poll(() => hooks.received.length, { timeout: 20_000, interval: 200 }).toBe(2);
      expect(hooks.received[1]?.headers["webhook-id"]).toBe(
        hooks.received[0]?.headers["webhook-id"],
      );
      const restartedEvents = grpcClient(EventService, restarted.baseUrl);
      await expect
        .poll(
          async () =>
            (await restartedEvents.listDeliveries({ endpointId: endpoint!.id })).deliveries[0]
              ?.state,
          { timeout: 5_000 },
        )
        .toBe(DeliveryState.SUCCEEDED);
      const [delivery] = (await restartedEvents.listDeliveries({ endpointId: endpoint!.id }))
        .deliveries;
      // the killed attempt left no outcome; the lease let the second one through
      expect(delivery?.attemptCount).toBe(2);
      expect(delivery?.attempts.map((a) => a.statusCode)).toEqual([200]);
    } finally {
      await first.stop("SIGKILL").catch(() => undefined);
      await restarted?.stop();
      server = await startTestApp(db.url, {}, FAST);
      events = grpcClient(EventService, server.baseUrl);
      entitlements = grpcClient(EntitlementService, server.baseUrl);
    }
  });

  it("should refuse plain http and private addresses outside development", async () => {
    const staging = await startTestApp(db.url, {}, { ENVIRONMENT: "staging" });
    const allowed = await startTestApp(
      db.url,
      {},
      { ENVIRONMENT: "staging", WEBHOOK_ALLOW_PRIVATE_NETWORKS: "true" },
    );
    try {
      const strict = grpcClient(EventService, staging.baseUrl);
      const codeOf = (url: string, client = strict) =>
        client.createWebhookEndpoint({ url }).then(
          () => "ok",
          (e) => `${Code[ConnectError.from(e).code]}: ${ConnectError.from(e).message}`,
        );
      expect(await codeOf("http://hooks.example.com/x")).toMatch(/InvalidArgument.*https/);
      expect(await codeOf("https://127.0.0.1/x")).toMatch(/InvalidArgument.*127\.0\.0\.1.*private/);
      expect(await codeOf("https://localhost/x")).toMatch(/InvalidArgument.*loopback/);
      expect(await codeOf("https://[::ffff:10.0.0.1]/x")).toMatch(/InvalidArgument/);
      expect(await codeOf("https://169.254.169.254/latest")).toMatch(/InvalidArgument/);
      expect(await codeOf("ftp://example.com/x")).toMatch(/InvalidArgument/);
      const relaxed = grpcClient(EventService, allowed.baseUrl);
      expect(await codeOf("https://127.0.0.1/x", relaxed)).toBe("ok");
      expect(await codeOf("http://127.0.0.1/x", relaxed)).toMatch(/InvalidArgument.*https/);
    } finally {
      await staging.stop();
      await allowed.stop();
    }
  });
});
