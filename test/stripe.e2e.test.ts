import { randomBytes, randomUUID } from "node:crypto";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type createClient } from "@connectrpc/connect";
import Stripe from "stripe";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { BillingService, SubscriptionState } from "../gen/tollgate/v1/billing_service_pb.js";
import { EntitlementService } from "../gen/tollgate/v1/entitlement_service_pb.js";
import { EventService } from "../gen/tollgate/v1/event_service_pb.js";
import { queryRows } from "./support/app.js";
import { errorOf, grpcClient } from "./support/clients.js";
import { createTestDatabase, type TestDatabase } from "./support/database.js";
import { type FakeStripe, startFakeStripe, stripeEnv } from "./support/fake-stripe.js";
import { type ServerProcess, startServerProcess } from "./support/server-process.js";

const WEBHOOK_SECRET = `whsec_${randomBytes(16).toString("hex")}`;
const signer = new Stripe("sk_test_signer");

describe("the Stripe provider against a fake Stripe", () => {
  let db: TestDatabase;
  let stripe: FakeStripe;
  let server: ServerProcess;
  let billing: ReturnType<typeof createClient<typeof BillingService>>;

  beforeAll(async () => {
    db = await createTestDatabase();
    stripe = await startFakeStripe();
    server = await startServerProcess({
      DATABASE_URL: db.url,
      ...stripeEnv(stripe, WEBHOOK_SECRET),
      BILLING_RATE_LIMIT_BURST: "1000",
    });
    billing = grpcClient(BillingService, server.baseUrl);
  });

  afterAll(async () => {
    await server?.stop();
    await stripe?.close();
    await db?.drop();
  });

  beforeEach(() => stripe.reset());

  const subscribe = async (priceId = "price_pro_monthly", trialDays = 0) => {
    const tenantId = randomUUID();
    const { customer } = await billing.createCustomer({ tenantId, email: "s@example.com" });
    const { subscription } = await billing.createSubscription({
      customerId: customer!.id,
      priceId,
      trialDays,
    });
    return { tenantId, customerId: customer!.id, subscriptionId: subscription!.id };
  };

  it("should run the seed's billing flow with the parameters and idempotency keys Stripe expects", async () => {
    // given a tenant
    const tenantId = randomUUID();

    // when the seed's flow runs through the Stripe provider
    const { customer } = await billing.createCustomer({
      tenantId,
      email: "user@example.com",
      name: "John Doe",
      requestId: "c-1",
    });
    const { subscription } = await billing.createSubscription({
      customerId: customer!.id,
      priceId: "price_pro_monthly",
      trialDays: 14,
      requestId: "s-1",
    });
    const upgraded = await billing.updateSubscription({
      subscriptionId: subscription!.id,
      newPriceId: "price_team_monthly",
      requestId: "u-1",
    });
    const later = await billing.cancelSubscription({
      subscriptionId: subscription!.id,
      requestId: "x-1",
    });
    const now = await billing.cancelSubscription({
      subscriptionId: subscription!.id,
      immediate: true,
      requestId: "x-2",
    });

    // then Stripe received exactly these calls
    const calls = stripe.requests.map((r) => [r.method, r.path.replace(subscription!.id, ":id")]);
    expect(calls).toEqual([
      ["POST", "/v1/customers"],
      ["POST", "/v1/subscriptions"],
      ["GET", "/v1/subscriptions/:id"],
      ["POST", "/v1/subscriptions/:id"],
      ["POST", "/v1/subscriptions/:id"],
      ["DELETE", "/v1/subscriptions/:id"],
    ]);
    const [createCustomer, createSubscription, , update, cancelLater, cancelNow] = stripe.requests;
    expect(createCustomer?.params).toMatchObject({
      email: "user@example.com",
      name: "John Doe",
      "metadata[tenant_id]": tenantId,
    });
    // the plan's fee and one metered price per metered resource
    expect(createSubscription?.params).toEqual({
      customer: customer!.id,
      "items[0][price]": "price_pro_monthly",
      "items[1][price]": "price_pro_executions_metered",
      "items[2][price]": "price_pro_tokens_metered",
      "items[3][price]": "price_pro_api_calls_metered",
      trial_period_days: "14",
    });
    // an upgrade moves each item to TEAM's price, keeping the items
    expect(update?.params).toMatchObject({
      "items[0][price]": "price_team_monthly",
      "items[1][price]": "price_team_executions_metered",
      "items[2][price]": "price_team_tokens_metered",
      "items[3][price]": "price_team_api_calls_metered",
      proration_behavior: "create_prorations",
    });
    const kept = stripe.subscriptions.get(update!.path.split("/").pop()!)!;
    const itemIds = (kept.items as { data: { id: string }[] }).data.map((i) => i.id);
    expect([0, 1, 2, 3].map((n) => update?.params[`items[${n}][id]`])).toEqual(itemIds);
    expect(cancelLater?.params).toEqual({ cancel_at_period_end: "true" });
    expect(
      [createCustomer, createSubscription, update, cancelLater, cancelNow].map(
        (r) => r?.idempotencyKey,
      ),
    ).toEqual([
      `tollgate:${tenantId}:customer.create:c-1`,
      `tollgate:${tenantId}:subscription.create:s-1`,
      `tollgate:${tenantId}:subscription.update:u-1`,
      `tollgate:${tenantId}:subscription.cancel:x-1`,
      `tollgate:${tenantId}:subscription.cancel:x-2`,
    ]);

    // and Tollgate reports the states Stripe's objects carry, periods read from the items
    expect(subscription?.state).toBe(SubscriptionState.TRIALING);
    const stored = stripe.subscriptions.get(subscription!.id) as {
      items: { data: { current_period_end: number }[] };
    };
    expect(timestampDate(subscription!.currentPeriodEndTime!).getTime() / 1000).toBe(
      stored.items.data[0]?.current_period_end,
    );
    expect(upgraded.subscription).toMatchObject({ planId: "team", priceId: "price_team_monthly" });
    expect(later.subscription?.cancelAtPeriodEnd).toBe(true);
    expect(now.subscription?.state).toBe(SubscriptionState.CANCELED);
  });

  it("should retry a dropped connection with the same idempotency key and create once", async () => {
    stripe.fail("/v1/customers", { drop: true });
    const tenantId = randomUUID();
    const { customer } = await billing.createCustomer({
      tenantId,
      email: "r@example.com",
      requestId: "drop-1",
    });
    const attempts = stripe.requests.filter((r) => r.path === "/v1/customers");
    expect(attempts).toHaveLength(2);
    expect(new Set(attempts.map((a) => a.idempotencyKey))).toEqual(
      new Set([`tollgate:${tenantId}:customer.create:drop-1`]),
    );
    expect(customer?.id).toMatch(/^cus_/);
  });

  it.each([
    [
      "a declined card",
      {
        status: 402,
        error: { type: "card_error", code: "card_declined", message: "Your card was declined." },
      },
      Code.FailedPrecondition,
    ],
    [
      "an invalid request",
      { status: 400, error: { type: "invalid_request_error", message: "No such price" } },
      Code.FailedPrecondition,
    ],
    [
      "rate limiting",
      { status: 429, error: { type: "rate_limit_error", message: "Too many requests" } },
      Code.Unavailable,
    ],
    [
      "a Stripe outage",
      { status: 500, error: { type: "api_error", message: "Something went wrong" } },
      Code.Unavailable,
    ],
  ])("should map %s to its code and write nothing", async (_name, failure, code) => {
    const tenantId = randomUUID();
    const { customer } = await billing.createCustomer({ tenantId, email: "e@example.com" });
    // The SDK retries 429 and 5xx itself (maxNetworkRetries 2), so every attempt fails.
    stripe.fail("/v1/subscriptions", failure, 3);
    const error = await errorOf(
      billing.createSubscription({ customerId: customer!.id, priceId: "price_pro_monthly" }),
    );
    expect(error?.code).toBe(code);
    expect(error?.metadata.get("tollgate-error-reason")).toBe("BILLING_PROVIDER");
    expect(error?.rawMessage).toContain(failure.error.message);
    const rows = await queryRows(db.url, "select id from subscriptions where tenant_id = $1", [
      tenantId,
    ]);
    expect(rows).toEqual([]);
  });

  const metadataKeys = (n: number) =>
    Object.fromEntries(Array.from({ length: n }, (_, i) => [`key_${i}`, `value ${i}`]));
  it.each([
    ["a 255-character request_id", { requestId: "r".repeat(255) }, "ok"],
    ["a 256-character request_id", { requestId: "r".repeat(256) }, Code.InvalidArgument],
    ["a request_id with non-ASCII characters", { requestId: "signup ✓ 1" }, "ok"],
    ["a request_id with a control character", { requestId: "signup\u0007" }, Code.InvalidArgument],
    ["49 metadata keys (Stripe gets 50 with tenant_id)", { metadata: metadataKeys(49) }, "ok"],
    ["50 metadata keys", { metadata: metadataKeys(50) }, Code.InvalidArgument],
    ["a 40-character metadata key", { metadata: { ["k".repeat(40)]: "v" } }, "ok"],
    ["a 41-character metadata key", { metadata: { ["k".repeat(41)]: "v" } }, Code.InvalidArgument],
    ["square brackets in a metadata key", { metadata: { "plan[0]": "v" } }, Code.InvalidArgument],
    ["a 500-character metadata value", { metadata: { k: "v".repeat(500) } }, "ok"],
    ["a 501-character metadata value", { metadata: { k: "v".repeat(501) } }, Code.InvalidArgument],
    ["NUL in the name", { name: "John\u0000Doe" }, Code.InvalidArgument],
  ] as const)(
    "should take %s within Stripe's limits, or refuse it before calling Stripe",
    async (_name, input, expected) => {
      // given a tenant and an input at or just past one of Stripe's limits
      const tenantId = randomUUID();

      // when a customer is created with it
      const result = await billing
        .createCustomer({ tenantId, email: "b@example.com", ...input })
        .then(
          (r) => ({ ok: true as const, customerId: r.customer?.id ?? "" }),
          (e: unknown) => ({ ok: false as const, code: ConnectError.from(e).code }),
        );

      // then it is either accepted by Tollgate and by Stripe with a valid idempotency key ...
      if (expected === "ok") {
        expect(result).toMatchObject({ ok: true });
        expect(stripe.requests).toHaveLength(1);
        const key = stripe.requests[0]?.idempotencyKey ?? "";
        expect(key.length).toBeLessThanOrEqual(255);
        expect(key).toMatch(/^[\x21-\x7e]+$/);
        if ("requestId" in input) {
          // ... that is stable: a retry returns the same customer without calling Stripe again
          const again = await billing.createCustomer({
            tenantId,
            email: "b@example.com",
            ...input,
          });
          expect(again.customer?.id).toBe(result.ok ? result.customerId : "");
          expect(stripe.requests).toHaveLength(1);
          // ... and a subscription request id of the same length fits as well
          const { subscription } = await billing.createSubscription({
            customerId: again.customer?.id ?? "",
            priceId: "price_pro_monthly",
            requestId: `sub-${input.requestId}`.slice(0, 255),
          });
          expect(subscription?.id).toMatch(/^sub_/);
          expect(stripe.requests[1]?.idempotencyKey?.length).toBeLessThanOrEqual(255);
        }
        return;
      }
      // ... or refused as InvalidArgument before any call to Stripe, with nothing stored
      expect(result).toEqual({ ok: false, code: expected });
      expect(stripe.requests).toEqual([]);
      expect(
        await queryRows(db.url, "select id from customers where tenant_id = $1", [tenantId]),
      ).toEqual([]);
    },
  );

  describe("webhooks", () => {
    const deliver = (payload: string, header: string) =>
      fetch(`${server.baseUrl}/webhooks/stripe`, {
        method: "POST",
        headers: { "content-type": "application/json", "stripe-signature": header },
        body: payload,
      });
    const event = (
      type: string,
      object: Record<string, unknown>,
      created = Math.floor(Date.now() / 1000),
    ) =>
      JSON.stringify({
        ...stripe.fixture("event"),
        id: `evt_${randomBytes(10).toString("hex")}`,
        type,
        created,
        data: { object },
      });
    const signed = (payload: string, options: { secret?: string; timestamp?: number } = {}) =>
      signer.webhooks.generateTestHeaderString({
        payload,
        secret: options.secret ?? WEBHOOK_SECRET,
        timestamp: options.timestamp,
      });
    const state = async (subscriptionId: string) =>
      (await billing.getSubscription({ subscriptionId })).subscription?.state;
    const syncRows = async (subscriptionId: string) =>
      queryRows(
        db.url,
        "select id from audit_events where target = $1 and action = 'subscription.sync'",
        [subscriptionId],
      );

    it("should follow a subscription Stripe marks past due, once per event id", async () => {
      // given an active subscription that Stripe moved to past_due
      const { tenantId, subscriptionId } = await subscribe();
      const object = stripe.subscriptions.get(subscriptionId) as Record<string, unknown>;
      object.status = "past_due";
      const payload = event("customer.subscription.updated", object);

      // when the event is delivered, twice
      const first = await deliver(payload, signed(payload));
      const second = await deliver(payload, signed(payload));

      // then the state follows Stripe, the plan still applies, and the redelivery changed nothing
      expect(first.status).toBe(200);
      expect(await second.json()).toEqual({ received: true, duplicate: true });
      expect(await state(subscriptionId)).toBe(SubscriptionState.PAST_DUE);
      expect(await syncRows(subscriptionId)).toHaveLength(1);
      const entitlements = grpcClient(EntitlementService, server.baseUrl);
      expect((await entitlements.getEntitlements({ tenantId })).planId).toBe("pro");
      // and the sync wrote the lifecycle event once, in its own transaction
      const { events: log } = await grpcClient(EventService, server.baseUrl).listEvents({
        tenantId,
        pageSize: 100,
      });
      // (the plan's entitlements were announced once, when the subscription was created; past
      // due keeps them)
      expect(log.map((e) => e.type).reverse()).toEqual([
        "subscription.created",
        "entitlement.updated",
        "subscription.past_due",
      ]);
      const lifecycle = log.filter((e) => e.type.startsWith("subscription."));
      expect(lifecycle.every((e) => e.data?.id === subscriptionId)).toBe(true);
    });

    it("should refuse tampered, wrongly signed and stale deliveries and change nothing", async () => {
      const { subscriptionId } = await subscribe();
      const object = {
        ...(stripe.subscriptions.get(subscriptionId) as Record<string, unknown>),
        status: "canceled",
      };
      const payload = event("customer.subscription.deleted", object);
      const tampered = payload.replace('"canceled"', '"active"');
      const responses = await Promise.all([
        deliver(tampered, signed(payload)),
        deliver(payload, signed(payload, { secret: "whsec_wrong" })),
        deliver(payload, signed(payload, { timestamp: Math.floor(Date.now() / 1000) - 3600 })),
        deliver(payload, ""),
      ]);
      expect(responses.map((r) => r.status)).toEqual([400, 400, 400, 400]);
      expect(await state(subscriptionId)).toBe(SubscriptionState.ACTIVE);
      expect(await syncRows(subscriptionId)).toHaveLength(0);
    });

    it("should never let an older event overwrite newer state", async () => {
      // given Stripe's subscription is now canceled, and a newer event said so
      const { tenantId, subscriptionId } = await subscribe();
      const current = stripe.subscriptions.get(subscriptionId) as Record<string, unknown>;
      const older = event(
        "customer.subscription.updated",
        { ...current, status: "active" },
        Math.floor(Date.now() / 1000) - 60,
      );
      Object.assign(current, { status: "canceled", canceled_at: Math.floor(Date.now() / 1000) });
      const newer = event("customer.subscription.deleted", current);
      expect((await deliver(newer, signed(newer))).status).toBe(200);

      // when the older event arrives afterwards
      expect((await deliver(older, signed(older))).status).toBe(200);

      // then the subscription stays canceled and the tenant on FREE
      expect(await state(subscriptionId)).toBe(SubscriptionState.CANCELED);
      const entitlements = grpcClient(EntitlementService, server.baseUrl);
      expect((await entitlements.getEntitlements({ tenantId })).planId).toBe("free");
    });

    it("should mark failed payments past due and paid invoices active again", async () => {
      const { customerId, subscriptionId } = await subscribe();
      const invoice = (status: string) => {
        const object = stripe.subscriptions.get(subscriptionId) as Record<string, unknown>;
        object.status = status;
        return {
          ...stripe.fixture("invoice"),
          customer: customerId,
          parent: {
            type: "subscription_details",
            quote_details: null,
            subscription_details: { subscription: subscriptionId, metadata: {} },
          },
        };
      };
      const failed = event("invoice.payment_failed", invoice("past_due"));
      expect((await deliver(failed, signed(failed))).status).toBe(200);
      expect(await state(subscriptionId)).toBe(SubscriptionState.PAST_DUE);
      const paid = event("invoice.paid", invoice("active"));
      expect((await deliver(paid, signed(paid))).status).toBe(200);
      expect(await state(subscriptionId)).toBe(SubscriptionState.ACTIVE);
    });

    it("should acknowledge and log event types it does not handle", async () => {
      const payload = event(
        "plan.created",
        stripe.fixture("event").data as Record<string, unknown>,
      );
      const res = await deliver(payload, signed(payload));
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ received: true, handled: false });
      await expect
        .poll(() =>
          server
            .logs()
            .some((l) => l.msg === "stripe webhook not handled" && l.type === "plan.created"),
        )
        .toBe(true);
    });
  });
});
