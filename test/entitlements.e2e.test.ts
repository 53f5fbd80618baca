import { randomUUID } from "node:crypto";
import { type Client, Code } from "@connectrpc/connect";
import { Decimal } from "decimal.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BillingService } from "../gen/tollgate/v1/billing_service_pb.js";
import {
  DenialReason,
  EntitlementService,
  ReservationState,
} from "../gen/tollgate/v1/entitlement_service_pb.js";
import { createManualClock } from "../src/platform/clock/clock.js";
import { countRows, startTestApp, type TestApp } from "./support/app.js";
import { codeOf, errorOf, grpcClient } from "./support/clients.js";
import { createTestDatabase, type TestDatabase } from "./support/database.js";
import { useReplicas } from "./support/replicas.js";

const DAY = 86_400_000;
const COUNTED = ["usage_counters", "reservations", "entitlement_requests"];

describe("EntitlementService across two server processes", () => {
  const suite = useReplicas(2);

  it("should admit exactly 100 of 500 concurrent CheckAndRecord(1) for a FREE tenant", async () => {
    // given a FREE tenant (100 executions) and two replicas
    const tenantId = randomUUID();
    const clients = suite.servers.map((s) => grpcClient(EntitlementService, s.baseUrl));

    // when 500 calls race, split across the replicas
    const results = await Promise.all(
      Array.from({ length: 500 }, (_, i) =>
        clients[i % 2]!.checkAndRecord({ tenantId, resourceType: "executions", quantity: "1" }),
      ),
    );

    // then exactly 100 were allowed, the rest denied for the limit, and used is exactly 100
    expect(results.filter((r) => r.allowed)).toHaveLength(100);
    for (const denied of results.filter((r) => !r.allowed)) {
      expect(denied.denialReason).toBe(DenialReason.LIMIT_EXCEEDED);
    }
    const { entitlements } = await clients[0]!.getEntitlements({ tenantId });
    expect(entitlements.find((e) => e.resourceType === "executions")).toMatchObject({
      used: "100",
      remaining: "0",
      reserved: "0",
      limit: "100",
    });
  });

  it("should never go over the limit with mixed quantities and interleaved reservations", async () => {
    // given a FREE tenant and a mix of admissions and holds, committed or released at random
    const tenantId = randomUUID();
    const clients = suite.servers.map((s) => grpcClient(EntitlementService, s.baseUrl));
    const quantities = ["0.5", "1", "2.25", "3", "5", "0.0001"];
    let recorded = new Decimal(0);
    let denied = 0;

    // when 300 of them race across both replicas
    await Promise.all(
      Array.from({ length: 300 }, async (_, i) => {
        const client = clients[i % 2]!;
        const quantity = quantities[i % quantities.length]!;
        if (i % 3 !== 0) {
          const r = await client.checkAndRecord({ tenantId, resourceType: "executions", quantity });
          if (r.allowed) recorded = recorded.plus(quantity);
          else denied++;
          return;
        }
        const held = await client.reserve({ tenantId, resourceType: "executions", quantity });
        if (!held.allowed) {
          denied++;
          return;
        }
        if (i % 2 === 0) {
          const actual = new Decimal(quantity).div(2).toFixed();
          await client.commitReservation({
            reservationId: held.reservationId,
            actualQuantity: actual,
          });
          recorded = recorded.plus(actual);
        } else {
          await client.releaseReservation({ reservationId: held.reservationId });
        }
      }),
    );

    // then usage is exactly what was admitted, within the limit, with nothing left held
    const { entitlements } = await clients[1]!.getEntitlements({ tenantId });
    const executions = entitlements.find((e) => e.resourceType === "executions")!;
    expect(executions.used).toBe(recorded.toFixed());
    expect(new Decimal(executions.used).lte(100)).toBe(true);
    expect(denied).toBeGreaterThan(0);
    expect(executions.reserved).toBe("0");
  });

  it("should answer concurrent retries of one idempotency key once, on both replicas", async () => {
    const tenantId = randomUUID();
    const request = {
      tenantId,
      resourceType: "tokens",
      quantity: "1500",
      idempotencyKey: "run-42",
    };
    const answers = await Promise.all(
      [0, 1, 0, 1, 0, 1].map((i) =>
        grpcClient(EntitlementService, suite.servers[i]!.baseUrl).checkAndRecord(request),
      ),
    );
    for (const answer of answers) expect(answer).toEqual(answers[0]);
    expect(answers[0]?.entitlement?.used).toBe("1500");
    const again = await grpcClient(EntitlementService, suite.servers[0]!.baseUrl).recordUsage({
      tenantId,
      resourceType: "tokens",
      quantity: "10",
      idempotencyKey: "usage-7",
    });
    const retried = await grpcClient(EntitlementService, suite.servers[1]!.baseUrl).recordUsage({
      tenantId,
      resourceType: "tokens",
      quantity: "10",
      idempotencyKey: "usage-7",
    });
    expect(retried).toEqual(again);
    expect(retried.entitlement?.used).toBe("1510");
    expect(
      await codeOf(
        grpcClient(EntitlementService, suite.servers[0]!.baseUrl).checkAndRecord({
          ...request,
          quantity: "2",
        }),
      ),
    ).toBe(Code.InvalidArgument);
  });
});

describe("EntitlementService with a test clock", () => {
  const clock = createManualClock(new Date("2026-05-20T08:00:00.000Z"));
  let db: TestDatabase;
  let app: TestApp;
  let replica: TestApp;
  let entitlements: Client<typeof EntitlementService>;
  let billing: Client<typeof BillingService>;

  const used = async (tenantId: string, resourceType: string, client = entitlements) =>
    (await client.getEntitlements({ tenantId })).entitlements.find(
      (e) => e.resourceType === resourceType,
    );

  beforeAll(async () => {
    db = await createTestDatabase();
    app = await startTestApp(db.url, { clock }, { BILLING_RATE_LIMIT_BURST: "100000" });
    replica = await startTestApp(db.url, { clock }, { BILLING_RATE_LIMIT_BURST: "100000" });
    entitlements = grpcClient(EntitlementService, app.baseUrl);
    billing = grpcClient(BillingService, app.baseUrl);
  });

  afterAll(async () => {
    await replica?.stop();
    await app?.stop();
    await db?.drop();
  });

  it("should reset consumables when the period rolls over and keep allocations", async () => {
    // given a FREE tenant with usage of both kinds this month
    const tenantId = randomUUID();
    await entitlements.recordUsage({ tenantId, resourceType: "executions", quantity: "40" });
    await entitlements.recordUsage({ tenantId, resourceType: "storage_mb", quantity: "10.5" });

    // when the calendar month ends
    clock.set(new Date("2026-06-01T00:00:00.000Z"));

    // then executions start again from zero in June, and storage is still allocated
    const executions = await used(tenantId, "executions");
    expect(executions).toMatchObject({ used: "0", remaining: "100" });
    expect(executions?.periodStartTime?.seconds).toBe(BigInt(Date.UTC(2026, 5, 1) / 1000));
    expect((await used(tenantId, "storage_mb"))?.used).toBe("10.5");
  });

  it("should release allocations with negative quantities, never below zero", async () => {
    const tenantId = randomUUID();
    const agents = (quantity: string) =>
      entitlements.checkAndRecord({ tenantId, resourceType: "agents", quantity });
    expect((await agents("2")).allowed).toBe(true);
    expect((await agents("1")).allowed).toBe(false);
    expect((await agents("-1")).allowed).toBe(true);
    expect((await agents("1")).allowed).toBe(true);
    const released = await entitlements.recordUsage({
      tenantId,
      resourceType: "agents",
      quantity: "-10",
    });
    expect(released.entitlement).toMatchObject({ used: "0", remaining: "2" });
  });

  it("should follow plan changes at once, on every replica", async () => {
    // given a FREE tenant at its execution limit mid-month, watched from a second replica
    clock.advance(3_600_000);
    const tenantId = randomUUID();
    const other = grpcClient(EntitlementService, replica.baseUrl);
    await entitlements.recordUsage({ tenantId, resourceType: "executions", quantity: "100" });
    expect((await other.check({ tenantId, resourceType: "executions" })).allowed).toBe(false);

    // when it subscribes to PRO on the first replica
    const { customer } = await billing.createCustomer({ tenantId, email: "p@example.com" });
    const { subscription } = await billing.createSubscription({
      customerId: customer!.id,
      priceId: "price_pro_monthly",
    });

    // then both replicas apply PRO's soft limit on the next call: 10,000 included, denied
    // past the 25,000 overage cap
    expect(await used(tenantId, "executions")).toMatchObject({
      included: "10000",
      limit: "35000",
      hard: false,
    });
    await expect
      .poll(async () => (await used(tenantId, "executions", other))?.included, { timeout: 3000 })
      .toBe("10000");
    await entitlements.recordUsage({ tenantId, resourceType: "executions", quantity: "500" });

    // and an upgrade raises limits within the same period
    await billing.updateSubscription({
      subscriptionId: subscription!.id,
      newPriceId: "price_team_monthly",
    });
    expect(await used(tenantId, "executions")).toMatchObject({ included: "100000", used: "500" });

    // and cancel at period end keeps TEAM until the period ends
    await billing.cancelSubscription({ subscriptionId: subscription!.id });
    expect((await used(tenantId, "executions"))?.planId).toBe("team");

    // and an immediate cancel drops to FREE at once, on both replicas
    await billing.cancelSubscription({ subscriptionId: subscription!.id, immediate: true });
    expect((await used(tenantId, "executions"))?.planId).toBe("free");
    await expect
      .poll(async () => (await used(tenantId, "executions", other))?.planId, { timeout: 3000 })
      .toBe("free");
  });

  it("should end a cancel-at-period-end plan when the period ends", async () => {
    const tenantId = randomUUID();
    const { customer } = await billing.createCustomer({ tenantId, email: "c@example.com" });
    const { subscription } = await billing.createSubscription({
      customerId: customer!.id,
      priceId: "price_team_monthly",
    });
    await billing.cancelSubscription({ subscriptionId: subscription!.id });
    expect((await used(tenantId, "agents"))?.limit).toBe("50");
    clock.advance(32 * DAY);
    expect(await used(tenantId, "agents")).toMatchObject({ planId: "free", limit: "2" });
  });

  it("should treat ENTERPRISE as unlimited", async () => {
    const tenantId = randomUUID();
    const { customer } = await billing.createCustomer({ tenantId, email: "e@example.com" });
    await billing.createSubscription({
      customerId: customer!.id,
      priceId: "price_enterprise_monthly",
    });
    const result = await entitlements.checkAndRecord({
      tenantId,
      resourceType: "tokens",
      quantity: "99999999999999999999.9999999999",
    });
    expect(result.allowed).toBe(true);
    expect(result.entitlement).toMatchObject({
      unlimited: true,
      limit: "",
      remaining: "",
      used: "99999999999999999999.9999999999",
    });
  });

  it("should hold reservations against the limit until committed, released or expired", async () => {
    // given a FREE tenant holding 60 of its 100 executions
    const tenantId = randomUUID();
    const held = await entitlements.reserve({
      tenantId,
      resourceType: "executions",
      quantity: "60",
      ttlSeconds: 60,
    });
    expect(held.allowed).toBe(true);
    expect(held.entitlement).toMatchObject({ used: "0", reserved: "60", remaining: "40" });
    const denied = await entitlements.checkAndRecord({
      tenantId,
      resourceType: "executions",
      quantity: "41",
    });
    expect(denied.allowed).toBe(false);

    // when it commits 70 (more than held): usage counts what was really used
    const committed = await entitlements.commitReservation({
      reservationId: held.reservationId,
      actualQuantity: "70",
    });
    expect(committed.reservation).toMatchObject({
      state: ReservationState.COMMITTED,
      quantity: "60",
      committedQuantity: "70",
    });
    expect(committed.entitlement).toMatchObject({ used: "70", reserved: "0" });
    expect(
      await entitlements.commitReservation({
        reservationId: held.reservationId,
        actualQuantity: "70",
      }),
    ).toEqual(committed);
    expect(
      await codeOf(entitlements.releaseReservation({ reservationId: held.reservationId })),
    ).toBe(Code.FailedPrecondition);

    // then a released hold frees its amount and cannot be committed
    const second = await entitlements.reserve({
      tenantId,
      resourceType: "executions",
      quantity: "30",
    });
    const released = await entitlements.releaseReservation({ reservationId: second.reservationId });
    expect(released.reservation?.state).toBe(ReservationState.RELEASED);
    expect(released.entitlement).toMatchObject({ used: "70", reserved: "0" });
    expect(
      await entitlements.releaseReservation({ reservationId: second.reservationId }),
    ).toMatchObject({ reservation: { state: ReservationState.RELEASED } });
    expect(
      await codeOf(entitlements.commitReservation({ reservationId: second.reservationId })),
    ).toBe(Code.FailedPrecondition);

    // and an expired hold frees itself when the clock passes its expiry
    const third = await entitlements.reserve({
      tenantId,
      resourceType: "executions",
      quantity: "30",
      ttlSeconds: 10,
    });
    expect(
      (await entitlements.check({ tenantId, resourceType: "executions", quantity: "1" })).allowed,
    ).toBe(false);
    clock.advance(11_000);
    const after = await entitlements.checkAndRecord({
      tenantId,
      resourceType: "executions",
      quantity: "30",
    });
    expect(after.allowed).toBe(true);
    expect(after.entitlement).toMatchObject({ used: "100", reserved: "0" });
    expect(
      await codeOf(entitlements.commitReservation({ reservationId: third.reservationId })),
    ).toBe(Code.FailedPrecondition);
    expect(
      (await entitlements.releaseReservation({ reservationId: third.reservationId })).reservation
        ?.state,
    ).toBe(ReservationState.EXPIRED);
  });

  it("should end a reservation that names its tenant, and answer one naming another NotFound", async () => {
    // given a hold of one tenant
    const tenantId = randomUUID();
    const held = await entitlements.reserve({
      tenantId,
      resourceType: "executions",
      quantity: "10",
      ttlSeconds: 60,
    });

    // when a release names another tenant, then the hold is not found and stays held
    expect(
      await codeOf(
        entitlements.releaseReservation({
          reservationId: held.reservationId,
          tenantId: randomUUID(),
        }),
      ),
    ).toBe(Code.NotFound);
    // and a tenant that is no UUID is refused, naming the field
    const bad = await errorOf(
      entitlements.commitReservation({ reservationId: held.reservationId, tenantId: "nope" }),
    );
    expect(bad.code).toBe(Code.InvalidArgument);
    expect(bad.rawMessage).toContain("tenant_id");

    // when a commit names its own tenant (in upper case, as a UUID may be written)
    const committed = await entitlements.commitReservation({
      reservationId: held.reservationId,
      tenantId: tenantId.toUpperCase(),
      actualQuantity: "4",
    });

    // then it commits what was used, and nothing stays held
    expect(committed.reservation).toMatchObject({
      state: ReservationState.COMMITTED,
      committedQuantity: "4",
    });
    expect(committed.entitlement).toMatchObject({ used: "4", reserved: "0" });
  });

  describe("invalid requests", () => {
    const tenantId = randomUUID();
    const cases: [string, () => Promise<unknown>, Code, string][] = [
      [
        "a bad tenant id",
        () => entitlements.checkAndRecord({ tenantId: "nope", resourceType: "executions" }),
        Code.InvalidArgument,
        "tenant_id",
      ],
      [
        "an unknown resource",
        () => entitlements.checkAndRecord({ tenantId, resourceType: "gpus" }),
        Code.InvalidArgument,
        "known: executions, tokens, storage_mb, api_calls, agents, workflows",
      ],
      ...["NaN", "Infinity", "-Infinity", "1e5", "0x10", " 1", "1.", "01"].map(
        (quantity) =>
          [
            `the quantity ${JSON.stringify(quantity)}`,
            () => entitlements.recordUsage({ tenantId, resourceType: "tokens", quantity }),
            Code.InvalidArgument,
            "quantity",
          ] as [string, () => Promise<unknown>, Code, string],
      ),
      [
        "21 integer digits",
        () =>
          entitlements.recordUsage({ tenantId, resourceType: "tokens", quantity: "1".repeat(21) }),
        Code.InvalidArgument,
        "quantity",
      ],
      [
        "11 fractional digits",
        () =>
          entitlements.recordUsage({ tenantId, resourceType: "tokens", quantity: "0.12345678901" }),
        Code.InvalidArgument,
        "quantity",
      ],
      [
        "a negative consumable",
        () => entitlements.checkAndRecord({ tenantId, resourceType: "executions", quantity: "-1" }),
        Code.InvalidArgument,
        "quantity: must be positive",
      ],
      [
        "a zero allocation",
        () => entitlements.checkAndRecord({ tenantId, resourceType: "agents", quantity: "0" }),
        Code.InvalidArgument,
        "quantity: must be non zero",
      ],
      [
        "a negative hold",
        () => entitlements.reserve({ tenantId, resourceType: "agents", quantity: "-1" }),
        Code.InvalidArgument,
        "quantity: must be positive",
      ],
      [
        "a ttl over a day",
        () => entitlements.reserve({ tenantId, resourceType: "executions", ttlSeconds: 86_401 }),
        Code.InvalidArgument,
        "ttl_seconds",
      ],
      [
        "an overlong idempotency key",
        () =>
          entitlements.checkAndRecord({
            tenantId,
            resourceType: "executions",
            idempotencyKey: "k".repeat(256),
          }),
        Code.InvalidArgument,
        "idempotency_key",
      ],
      [
        "a bad reservation id",
        () => entitlements.commitReservation({ reservationId: "r1", actualQuantity: "-1" }),
        Code.InvalidArgument,
        "reservation_id: must be a UUID such as 3f0c…-…; actual_quantity: must be non negative",
      ],
      [
        "an unknown reservation",
        () => entitlements.releaseReservation({ reservationId: randomUUID() }),
        Code.NotFound,
        "not found",
      ],
    ];

    it.each(cases)("should refuse %s and record nothing", async (_name, call, code, message) => {
      const before = await countRows(db.url, COUNTED);
      const error = await errorOf(call());
      expect(error?.code).toBe(code);
      expect(error?.rawMessage).toContain(message);
      expect(await countRows(db.url, COUNTED)).toEqual(before);
    });
  });
});
