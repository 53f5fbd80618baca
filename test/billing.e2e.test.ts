import { randomUUID } from "node:crypto";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { type Client, Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  BillingService,
  ProrationBehavior,
  type Subscription,
  SubscriptionState,
} from "../gen/tollgate/v1/billing_service_pb.js";
import { BillingProviderError } from "../src/billing/provider.js";
import { createManualClock } from "../src/platform/clock/clock.js";
import { countRows, queryRows, startTestApp, type TestApp } from "./support/app.js";
import { errorOf, grpcClient } from "./support/clients.js";
import { createTestDatabase, type TestDatabase } from "./support/database.js";

const DAY = 86_400_000;
const TABLES = ["customers", "subscriptions", "audit_events", "billing_requests"];

describe("BillingService over gRPC on PostgreSQL", () => {
  const clock = createManualClock(new Date("2026-03-10T12:00:00.000Z"));
  let failure: BillingProviderError | undefined;
  let db: TestDatabase;
  let server: TestApp;
  let billing: Client<typeof BillingService>;

  beforeAll(async () => {
    db = await createTestDatabase();
    server = await startTestApp(
      db.url,
      {
        clock,
        // Lets a test make the next provider call fail the way Stripe can.
        wrapBillingProvider: (provider) =>
          new Proxy(provider, {
            get(target, property, receiver) {
              const value = Reflect.get(target, property, receiver);
              if (typeof value !== "function") return value;
              return (...args: unknown[]) => {
                const error = failure;
                failure = undefined;
                if (error) return Promise.reject(error);
                return value.apply(target, args);
              };
            },
          }),
      },
      // The rate limit has its own test; here it must not get in the way.
      { BILLING_SWEEP_INTERVAL_SECONDS: "0.2", BILLING_RATE_LIMIT_BURST: "100000" },
    );
    billing = grpcClient(BillingService, server.baseUrl);
  });

  afterAll(async () => {
    await server?.stop();
    await db?.drop();
  });

  const newCustomer = async (tenantId = randomUUID()) => {
    const { customer } = await billing.createCustomer({ tenantId, email: "user@example.com" });
    return { tenantId, customerId: customer?.id ?? "" };
  };

  it("should run the seed's billing flow with every field as Stripe would report it", async () => {
    // given a tenant
    const tenantId = randomUUID();
    const t0 = clock.now();

    // when the seed's flow runs: customer → PRO with a 14-day trial → TEAM → cancel at period
    // end → cancel immediately
    const { customer } = await billing.createCustomer({
      tenantId,
      email: "user@example.com",
      name: "John Doe",
      metadata: { plan_source: "signup" },
      requestId: "flow-customer",
    });
    expect(customer).toMatchObject({
      tenantId,
      email: "user@example.com",
      name: "John Doe",
      metadata: { plan_source: "signup" },
    });
    expect(customer?.id).toMatch(/^cus_[A-Za-z0-9]{14}$/);
    expect(timestampDate(customer!.createTime!)).toEqual(t0);
    expect((await billing.getCustomer({ tenantId })).customer).toEqual(customer);

    const trialEnd = new Date(t0.getTime() + 14 * DAY);
    const created = await billing.createSubscription({
      customerId: customer!.id,
      priceId: "price_pro_monthly",
      trialDays: 14,
      requestId: "flow-subscribe",
    });
    const sub = created.subscription!;
    expect(sub.id).toMatch(/^sub_[A-Za-z0-9]{24}$/);
    expect(fields(sub)).toEqual({
      customerId: customer!.id,
      tenantId,
      planId: "pro",
      priceId: "price_pro_monthly",
      state: SubscriptionState.TRIALING,
      trialEnd,
      periodStart: t0,
      periodEnd: trialEnd,
      cancelAtPeriodEnd: false,
      cancelTime: undefined,
      created: t0,
      prorationBehavior: ProrationBehavior.UNSPECIFIED,
    });

    clock.advance(DAY);
    const upgraded = await billing.updateSubscription({
      subscriptionId: sub.id,
      newPriceId: "price_team_monthly",
      requestId: "flow-upgrade",
    });
    expect(fields(upgraded.subscription!)).toEqual({
      ...fields(sub),
      planId: "team",
      priceId: "price_team_monthly",
      prorationBehavior: ProrationBehavior.CREATE_PRORATIONS,
    });

    const atPeriodEnd = await billing.cancelSubscription({
      subscriptionId: sub.id,
      immediate: false,
      requestId: "flow-cancel-later",
    });
    expect(fields(atPeriodEnd.subscription!)).toEqual({
      ...fields(upgraded.subscription!),
      cancelAtPeriodEnd: true,
      cancelTime: trialEnd,
    });

    clock.advance(DAY);
    const canceledAt = clock.now();
    const canceled = await billing.cancelSubscription({
      subscriptionId: sub.id,
      immediate: true,
      requestId: "flow-cancel-now",
    });
    expect(fields(canceled.subscription!)).toEqual({
      ...fields(upgraded.subscription!),
      state: SubscriptionState.CANCELED,
      cancelTime: canceledAt,
    });

    // then the stored state is what the calls returned, and a second cancel is refused
    expect((await billing.getSubscription({ subscriptionId: sub.id })).subscription).toEqual(
      canceled.subscription,
    );
    await expectCode(
      billing.cancelSubscription({ subscriptionId: sub.id, immediate: true }),
      Code.FailedPrecondition,
    );

    // and every mutation left one audit row with actor, request id and before/after state
    const audit = await queryRows<{
      actor: string;
      action: string;
      target: string;
      request_id: string;
      before: Record<string, unknown> | null;
      after: Record<string, unknown>;
    }>(
      db.url,
      "select actor, action, target, request_id, before, after from audit_events where tenant_id = $1 order by create_time, action",
      [tenantId],
    );
    expect(audit.map((a) => [a.action, a.target, a.request_id, a.actor])).toEqual([
      ["customer.create", customer!.id, "flow-customer", "open"],
      ["subscription.create", sub.id, "flow-subscribe", "open"],
      ["subscription.cancel", sub.id, "flow-cancel-later", "open"],
      ["subscription.update", sub.id, "flow-upgrade", "open"],
      ["subscription.cancel", sub.id, "flow-cancel-now", "open"],
    ]);
    expect(audit[1]?.before).toBeNull();
    expect(audit[3]?.before).toMatchObject({ planId: "pro" });
    expect(audit[3]?.after).toMatchObject({ planId: "team" });
    expect(audit[4]?.after).toMatchObject({ state: "canceled" });
  });

  describe("time", () => {
    it("should end a trial at its end and roll monthly periods from there", async () => {
      // given a 14-day trial
      const { customerId } = await newCustomer();
      const t0 = clock.now();
      const { subscription } = await billing.createSubscription({
        customerId,
        priceId: "price_pro_monthly",
        trialDays: 14,
      });
      const trialEnd = new Date(t0.getTime() + 14 * DAY);

      // when the clock passes the trial's end
      clock.set(new Date(trialEnd.getTime() + 1000));
      const afterTrial = (await billing.getSubscription({ subscriptionId: subscription!.id }))
        .subscription!;

      // then it is active in a month-long period that starts when the trial ended
      expect(afterTrial.state).toBe(SubscriptionState.ACTIVE);
      expect(timestampDate(afterTrial.currentPeriodStartTime!)).toEqual(trialEnd);
      const firstEnd = timestampDate(afterTrial.currentPeriodEndTime!);
      expect(firstEnd.getUTCMonth()).toBe((trialEnd.getUTCMonth() + 1) % 12);
      expect(firstEnd.getUTCDate()).toBe(trialEnd.getUTCDate());

      // and two more months later it sits in the third period
      clock.set(new Date(firstEnd.getTime() + 40 * DAY));
      const later = (await billing.getSubscription({ subscriptionId: subscription!.id }))
        .subscription!;
      expect(later.state).toBe(SubscriptionState.ACTIVE);
      expect(timestampDate(later.currentPeriodStartTime!).getTime()).toBeGreaterThan(
        firstEnd.getTime(),
      );
      expect(timestampDate(later.currentPeriodStartTime!).getTime()).toBeLessThanOrEqual(
        clock.now().getTime(),
      );
      expect(timestampDate(later.currentPeriodEndTime!).getTime()).toBeGreaterThan(
        clock.now().getTime(),
      );
    });

    it("should cancel at period end when that time comes, and let the tenant subscribe again", async () => {
      // given an active subscription set to cancel at period end
      const { tenantId, customerId } = await newCustomer();
      const { subscription } = await billing.createSubscription({
        customerId,
        priceId: "price_team_monthly",
      });
      await billing.cancelSubscription({ subscriptionId: subscription!.id, immediate: false });
      const periodEnd = timestampDate(subscription!.currentPeriodEndTime!);

      // when the period has not ended yet, it is still live
      clock.set(new Date(periodEnd.getTime() - 1));
      await expectCode(
        billing.createSubscription({ customerId, priceId: "price_pro_monthly" }),
        Code.FailedPrecondition,
      );

      // then once it has, it is canceled as of the period end and a new subscription is allowed
      clock.set(new Date(periodEnd.getTime() + 1));
      const ended = (await billing.listSubscriptions({ tenantId })).subscriptions[0]!;
      expect(ended.state).toBe(SubscriptionState.CANCELED);
      expect(timestampDate(ended.cancelTime!)).toEqual(periodEnd);
      const again = await billing.createSubscription({ customerId, priceId: "price_pro_monthly" });
      expect(again.subscription?.state).toBe(SubscriptionState.ACTIVE);
    });

    it("should apply due transitions in the background sweep without anyone reading", async () => {
      // given a trial that nobody reads
      const { customerId } = await newCustomer();
      const { subscription } = await billing.createSubscription({
        customerId,
        priceId: "price_pro_monthly",
        trialDays: 1,
      });

      // when its end passes
      clock.advance(2 * DAY);

      // then the sweep stores it as active, with a system audit row
      await expect
        .poll(
          async () =>
            (
              await queryRows(db.url, "select state from subscriptions where id = $1", [
                subscription!.id,
              ])
            )[0],
          { timeout: 5000 },
        )
        .toEqual({ state: "active" });
      const audit = await queryRows(
        db.url,
        "select actor from audit_events where target = $1 and action = 'subscription.advance'",
        [subscription!.id],
      );
      expect(audit).toEqual([{ actor: "system" }]);
    });
  });

  describe("concurrency and retries", () => {
    it("should let exactly one of many concurrent subscribes for a tenant succeed", async () => {
      // given a customer
      const { tenantId, customerId } = await newCustomer();

      // when eight subscribes race
      const results = await Promise.allSettled(
        Array.from({ length: 8 }, () =>
          billing.createSubscription({ customerId, priceId: "price_pro_monthly" }),
        ),
      );

      // then one succeeded, the rest were told a live subscription exists, one row exists
      expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
      for (const result of results) {
        if (result.status === "rejected") {
          expect(ConnectError.from(result.reason).code).toBe(Code.FailedPrecondition);
        }
      }
      const rows = await queryRows(db.url, "select id from subscriptions where tenant_id = $1", [
        tenantId,
      ]);
      expect(rows).toHaveLength(1);
    });

    it("should hold across two server replicas on one database", async () => {
      // given a second replica
      const replica = await startTestApp(db.url, { clock }, { BILLING_RATE_LIMIT_BURST: "100000" });
      try {
        const other = grpcClient(BillingService, replica.baseUrl);
        const { tenantId, customerId } = await newCustomer();

        // when both replicas receive concurrent subscribes
        const results = await Promise.allSettled(
          [billing, other, billing, other].map((client) =>
            client.createSubscription({ customerId, priceId: "price_team_monthly" }),
          ),
        );

        // then exactly one subscription exists
        expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
        const rows = await queryRows(db.url, "select id from subscriptions where tenant_id = $1", [
          tenantId,
        ]);
        expect(rows).toHaveLength(1);
      } finally {
        await replica.stop();
      }
    });

    it("should answer a repeated request_id with the first result and write nothing new", async () => {
      // given a customer created with a request id, retried
      const tenantId = randomUUID();
      const request = { tenantId, email: "a@example.com", requestId: "create-1" };
      const first = await billing.createCustomer(request);
      const retried = await billing.createCustomer(request);
      expect(retried).toEqual(first);

      // when a subscribe is sent three times with one request id, twice at once
      const subscribe = {
        customerId: first.customer!.id,
        priceId: "price_pro_monthly",
        trialDays: 7,
        requestId: "subscribe-1",
      };
      const [a, b] = await Promise.all([
        billing.createSubscription(subscribe),
        billing.createSubscription(subscribe),
      ]);
      clock.advance(1000);
      const c = await billing.createSubscription(subscribe);

      // then all three answers are identical and one subscription, one audit row exist
      expect(b).toEqual(a);
      expect(c).toEqual(a);
      const subs = await queryRows(db.url, "select id from subscriptions where tenant_id = $1", [
        tenantId,
      ]);
      expect(subs).toHaveLength(1);
      const audit = await queryRows(
        db.url,
        "select action from audit_events where tenant_id = $1 order by action",
        [tenantId],
      );
      expect(audit).toEqual([{ action: "customer.create" }, { action: "subscription.create" }]);

      // and the same request id with different input is refused
      await expectCode(
        billing.createSubscription({ ...subscribe, priceId: "price_team_monthly" }),
        Code.InvalidArgument,
      );
    });
  });

  describe("invalid requests", () => {
    let existing: { tenantId: string; customerId: string; subscriptionId: string };

    beforeAll(async () => {
      const { tenantId, customerId } = await newCustomer();
      const { subscription } = await billing.createSubscription({
        customerId,
        priceId: "price_pro_monthly",
      });
      existing = { tenantId, customerId, subscriptionId: subscription!.id };
    });

    const cases: [string, () => Promise<unknown>, Code, string?][] = [
      [
        "a customer with bad tenant id, email, metadata and request id",
        () =>
          billing.createCustomer({
            tenantId: "not-a-uuid",
            email: "nope",
            metadata: { ["k".repeat(41)]: "v" },
            requestId: "r".repeat(256),
          }),
        Code.InvalidArgument,
        "tenant_id: must be a UUID",
      ],
      [
        "a second customer for a tenant",
        () => billing.createCustomer({ tenantId: existing.tenantId, email: "b@example.com" }),
        Code.AlreadyExists,
      ],
      [
        "an unknown customer",
        () => billing.createSubscription({ customerId: "cus_nope", priceId: "price_pro_monthly" }),
        Code.NotFound,
      ],
      [
        "an unknown price",
        () => billing.createSubscription({ customerId: existing.customerId, priceId: "price_x" }),
        Code.NotFound,
      ],
      [
        "a trial of 731 days",
        () =>
          billing.createSubscription({
            customerId: existing.customerId,
            priceId: "price_pro_monthly",
            trialDays: 731,
          }),
        Code.InvalidArgument,
        "trial_days",
      ],
      [
        "a negative trial",
        () =>
          billing.createSubscription({
            customerId: existing.customerId,
            priceId: "price_pro_monthly",
            trialDays: -1,
          }),
        Code.InvalidArgument,
        "trial_days",
      ],
      [
        "a second live subscription",
        () =>
          billing.createSubscription({
            customerId: existing.customerId,
            priceId: "price_pro_monthly",
          }),
        Code.FailedPrecondition,
      ],
      [
        "an update of an unknown subscription",
        () =>
          billing.updateSubscription({
            subscriptionId: "sub_nope",
            newPriceId: "price_pro_monthly",
          }),
        Code.NotFound,
      ],
      [
        "an update to an unknown price",
        () =>
          billing.updateSubscription({
            subscriptionId: existing.subscriptionId,
            newPriceId: "price_x",
          }),
        Code.NotFound,
      ],
      [
        "an unknown proration behavior",
        () =>
          billing.updateSubscription({
            subscriptionId: existing.subscriptionId,
            newPriceId: "price_team_monthly",
            prorationBehavior: 99 as ProrationBehavior,
          }),
        Code.InvalidArgument,
        "proration_behavior",
      ],
      [
        "a cancel without a subscription id",
        () => billing.cancelSubscription({ subscriptionId: "" }),
        Code.InvalidArgument,
        "subscription_id: is required",
      ],
      [
        "an unknown subscription",
        () => billing.getSubscription({ subscriptionId: "sub_x" }),
        Code.NotFound,
      ],
      [
        "a tenant without a customer",
        () => billing.getCustomer({ tenantId: randomUUID() }),
        Code.NotFound,
      ],
      [
        "a page size over 100 and a bad tenant",
        () => billing.listSubscriptions({ tenantId: "x", pageSize: 101 }),
        Code.InvalidArgument,
        "page_size",
      ],
      [
        "a foreign page token",
        () => billing.listSubscriptions({ tenantId: existing.tenantId, pageToken: "garbage" }),
        Code.InvalidArgument,
        "page_token",
      ],
    ];

    it.each(cases)("should refuse %s and write nothing", async (_name, call, code, message) => {
      const before = await countRows(db.url, TABLES);
      const error = await expectCode(call(), code);
      if (message) expect(error.rawMessage).toContain(message);
      expect(await countRows(db.url, TABLES)).toEqual(before);
    });

    it("should report every field problem of a request at once", async () => {
      const error = await expectCode(
        billing.createCustomer({ tenantId: "x", email: "", name: "n".repeat(257) }),
        Code.InvalidArgument,
      );
      expect(error.rawMessage).toBe(
        "tenant_id: must be a UUID such as 3f0c…-…; email: is required; name: must be at most 256 characters",
      );
    });
  });

  describe("provider failures", () => {
    it.each([
      [true, Code.Unavailable],
      [false, Code.FailedPrecondition],
    ])(
      "should map a provider failure (retryable: %s) to %s and write nothing",
      async (retryable, code) => {
        const { customerId } = await newCustomer();
        const before = await countRows(db.url, TABLES);
        failure = new BillingProviderError("card declined or network down", retryable);
        const error = await expectCode(
          billing.createSubscription({ customerId, priceId: "price_pro_monthly", requestId: "f1" }),
          code,
        );
        expect(error.rawMessage).toBe("card declined or network down");
        expect(await countRows(db.url, TABLES)).toEqual(before);

        // and the same request succeeds once the provider recovers
        const retried = await billing.createSubscription({
          customerId,
          priceId: "price_pro_monthly",
          requestId: "f1",
        });
        expect(retried.subscription?.state).toBe(SubscriptionState.ACTIVE);
      },
    );
  });

  describe("listing", () => {
    it("should page a tenant's subscriptions newest first with opaque tokens", async () => {
      // given three subscriptions, the first two canceled
      const { tenantId, customerId } = await newCustomer();
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) {
        clock.advance(1000);
        const { subscription } = await billing.createSubscription({
          customerId,
          priceId: "price_pro_monthly",
        });
        ids.push(subscription!.id);
        if (i < 2)
          await billing.cancelSubscription({ subscriptionId: subscription!.id, immediate: true });
      }

      // when listed two at a time
      const first = await billing.listSubscriptions({ tenantId, pageSize: 2 });
      const second = await billing.listSubscriptions({
        tenantId,
        pageSize: 2,
        pageToken: first.nextPageToken,
      });

      // then the pages hold all three, newest first, and the last page has no token
      expect([...first.subscriptions, ...second.subscriptions].map((s) => s.id)).toEqual(
        ids.toReversed(),
      );
      expect(second.nextPageToken).toBe("");

      // and a token is bound to its tenant
      await expectCode(
        billing.listSubscriptions({ tenantId: randomUUID(), pageToken: first.nextPageToken }),
        Code.InvalidArgument,
      );
    });
  });
});

function fields(sub: Subscription) {
  const date = (t: Subscription["createTime"]) => (t ? timestampDate(t) : undefined);
  return {
    customerId: sub.customerId,
    tenantId: sub.tenantId,
    planId: sub.planId,
    priceId: sub.priceId,
    state: sub.state,
    trialEnd: date(sub.trialEndTime),
    periodStart: date(sub.currentPeriodStartTime),
    periodEnd: date(sub.currentPeriodEndTime),
    cancelAtPeriodEnd: sub.cancelAtPeriodEnd,
    cancelTime: date(sub.cancelTime),
    created: date(sub.createTime),
    prorationBehavior: sub.prorationBehavior,
  };
}

async function expectCode(call: Promise<unknown>, code: Code): Promise<ConnectError> {
  const error = await errorOf(call);
  expect(error, `expected ${Code[code]}`).toBeInstanceOf(ConnectError);
  expect(Code[error!.code]).toBe(Code[code]);
  return error!;
}
