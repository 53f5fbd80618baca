import { randomUUID } from "node:crypto";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type createClient } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BillingService } from "../gen/tollgate/v1/billing_service_pb.js";
import {
  EntitlementService,
  GrantState,
  LimitSource,
} from "../gen/tollgate/v1/entitlement_service_pb.js";
import { UsageService } from "../gen/tollgate/v1/usage_service_pb.js";
import { createManualClock } from "../src/platform/clock/clock.js";
import { countRows, queryRows, startTestApp, type TestApp } from "./support/app.js";
import { grpcClient } from "./support/clients.js";
import { createTestDatabase, type TestDatabase } from "./support/database.js";

const DAY = 86_400_000;

describe("credit grants and overrides", () => {
  const clock = createManualClock(new Date("2026-03-10T12:00:00.000Z"));
  let db: TestDatabase;
  let server: TestApp;
  let entitlements: ReturnType<typeof createClient<typeof EntitlementService>>;

  beforeAll(async () => {
    db = await createTestDatabase();
    server = await startTestApp(db.url, { clock }, { BILLING_RATE_LIMIT_BURST: "100000" });
    entitlements = grpcClient(EntitlementService, server.baseUrl);
  });

  afterAll(async () => {
    await server?.stop();
    await db?.drop();
  });

  const grant = (tenantId: string, quantity: string, expiresInDays?: number, requestId = "") =>
    entitlements.grantCredits({
      tenantId,
      resourceType: "executions",
      quantity,
      expireTime:
        expiresInDays === undefined
          ? undefined
          : timestampFromDate(new Date(clock.now().getTime() + expiresInDays * DAY)),
      reason: "goodwill",
      requestId,
    });
  const record = (tenantId: string, quantity: string) =>
    entitlements.checkAndRecord({ tenantId, resourceType: "executions", quantity });
  const executions = async (tenantId: string) => {
    const { entitlements: all } = await entitlements.getEntitlements({ tenantId });
    return all.find((e) => e.resourceType === "executions")!;
  };
  const remainingOf = async (tenantId: string) =>
    Object.fromEntries(
      (await entitlements.listGrants({ tenantId, includeExpired: true })).grants.map((g) => [
        g.reason === "" ? g.id : `${g.quantity}`,
        g.remaining,
      ]),
    );

  it("should draw the allowance first, then grants earliest expiry first, then deny", async () => {
    // given a FREE tenant (100 executions) with a grant of 50 expiring in 40 days and one of
    // 30 expiring in 20 days
    const tenantId = randomUUID();
    await grant(tenantId, "50", 40);
    await grant(tenantId, "30", 20);
    expect(await executions(tenantId)).toMatchObject({
      limit: "180",
      included: "100",
      granted: "80",
      grantRemaining: "80",
    });

    // when the allowance is used up, then 20 and 20 more
    expect((await record(tenantId, "100")).allowed).toBe(true);
    expect(await remainingOf(tenantId)).toEqual({ "50": "50", "30": "30" });
    const first = await record(tenantId, "20");
    expect(first.entitlement).toMatchObject({ granted: "80", grantRemaining: "60" });
    expect(await remainingOf(tenantId)).toEqual({ "50": "50", "30": "10" });
    await record(tenantId, "20");

    // then the grant expiring first was drawn first, and the limit is allowance + grants
    expect(await remainingOf(tenantId)).toEqual({ "50": "40", "30": "0" });
    expect(await executions(tenantId)).toMatchObject({
      used: "140",
      limit: "180",
      remaining: "40",
      granted: "80",
      grantRemaining: "40",
      overage: "0",
    });
    const denied = await record(tenantId, "41");
    expect(denied).toMatchObject({ allowed: false });
    expect(denied.reason).toContain("40 of it left");
    expect((await record(tenantId, "40")).allowed).toBe(true);
    expect((await record(tenantId, "1")).allowed).toBe(false);
    const { grants } = await entitlements.listGrants({ tenantId, includeExpired: false });
    expect(grants).toEqual([]);
    const all = (await entitlements.listGrants({ tenantId, includeExpired: true })).grants;
    expect(all.map((g) => g.state)).toEqual([GrantState.USED_UP, GrantState.USED_UP]);
  });

  it("should keep a balance across a period reset and lose it at expiry", async () => {
    // given a tenant that used its allowance and 30 of a 50 grant expiring in 45 days
    const tenantId = randomUUID();
    await grant(tenantId, "50", 45);
    await record(tenantId, "130");
    expect(await executions(tenantId)).toMatchObject({ grantRemaining: "20", limit: "150" });

    // when the calendar month rolls over
    const start = clock.now();
    clock.set(new Date("2026-04-02T00:00:00.000Z"));
    try {
      // then the allowance resets and the remainder still counts
      expect(await executions(tenantId)).toMatchObject({
        used: "0",
        limit: "120",
        granted: "20",
        grantRemaining: "20",
      });
      expect((await record(tenantId, "110")).entitlement).toMatchObject({
        grantRemaining: "10",
      });

      // and when the grant expires, its remainder is gone
      clock.set(new Date(start.getTime() + 46 * DAY));
      expect(await executions(tenantId)).toMatchObject({
        limit: "110",
        granted: "10",
        grantRemaining: "0",
      });
      expect((await record(tenantId, "1")).allowed).toBe(false);
      const [expired] = (await entitlements.listGrants({ tenantId, includeExpired: true })).grants;
      expect(expired).toMatchObject({ state: GrantState.EXPIRED, remaining: "10" });
    } finally {
      clock.set(start);
    }
  });

  it("should grant once when GrantCredits is retried, also concurrently", async () => {
    const tenantId = randomUUID();
    const results = await Promise.all(
      Array.from({ length: 8 }, () => grant(tenantId, "25", undefined, "grant-1")),
    );
    expect(new Set(results.map((r) => r.grant?.id)).size).toBe(1);
    expect((await grant(tenantId, "25", undefined, "grant-1")).grant?.id).toBe(
      results[0]?.grant?.id,
    );
    expect((await entitlements.listGrants({ tenantId })).grants).toHaveLength(1);
    expect(await executions(tenantId)).toMatchObject({ limit: "125" });
    const audit = await queryRows(
      db.url,
      "select action from audit_events where tenant_id = $1 and action = 'grant.create'",
      [tenantId],
    );
    expect(audit).toHaveLength(1);

    // and the same request id for a different grant is refused
    const reused = await grant(tenantId, "26", undefined, "grant-1").catch((e) => e);
    expect(ConnectError.from(reused).code).toBe(Code.InvalidArgument);
  });

  it("should void a grant once and stop counting it", async () => {
    const tenantId = randomUUID();
    const { grant: given } = await grant(tenantId, "40");
    const first = await entitlements.voidGrant({ grantId: given!.id, requestId: "void-1" });
    expect(first.grant).toMatchObject({ state: GrantState.VOIDED });
    expect(
      (await entitlements.voidGrant({ grantId: given!.id, requestId: "void-1" })).grant,
    ).toEqual(first.grant);
    const again = await entitlements.voidGrant({ grantId: given!.id }).catch((e) => e);
    expect(ConnectError.from(again).code).toBe(Code.FailedPrecondition);
    expect(await executions(tenantId)).toMatchObject({ limit: "100", granted: "0" });
    const missing = await entitlements
      .voidGrant({ grantId: `grt_${"0".repeat(24)}` })
      .catch((e) => e);
    expect(ConnectError.from(missing).code).toBe(Code.NotFound);
  });

  it("should refuse bad grants and overrides with every field problem and change nothing", async () => {
    const before = await countRows(db.url, [
      "credit_grants",
      "entitlement_overrides",
      "audit_events",
    ]);
    const bad = await entitlements
      .grantCredits({
        tenantId: "nope",
        resourceType: "gold",
        quantity: "-1",
        expireTime: timestampFromDate(new Date(clock.now().getTime() - DAY)),
      })
      .catch((e) => e);
    const error = ConnectError.from(bad);
    expect(error.code).toBe(Code.InvalidArgument);
    for (const field of ["tenant_id", "resource_type", "quantity", "expire_time"]) {
      expect(error.message).toContain(field);
    }
    const override = await entitlements
      .setEntitlementOverride({
        tenantId: randomUUID(),
        resourceType: "executions",
        limit: "5",
        unlimited: true,
      })
      .catch((e) => e);
    expect(ConnectError.from(override).code).toBe(Code.InvalidArgument);
    expect(ConnectError.from(override).message).toContain("limit");
    expect(
      await countRows(db.url, ["credit_grants", "entitlement_overrides", "audit_events"]),
    ).toEqual(before);
  });

  it("should apply an override until it expires or is deleted, and stack grants on it", async () => {
    // given a FREE tenant with an override of 10 executions for two days
    const tenantId = randomUUID();
    const { override } = await entitlements.setEntitlementOverride({
      tenantId,
      resourceType: "executions",
      limit: "10",
      expireTime: timestampFromDate(new Date(clock.now().getTime() + 2 * DAY)),
      requestId: "ov-1",
    });
    expect(override).toMatchObject({ limit: "10", unlimited: false });
    expect(await executions(tenantId)).toMatchObject({
      limit: "10",
      limitSource: LimitSource.OVERRIDE,
    });

    // then the eleventh execution is denied, and a grant raises the limit on top of it
    expect((await record(tenantId, "10")).allowed).toBe(true);
    expect((await record(tenantId, "1")).allowed).toBe(false);
    await grant(tenantId, "5");
    expect((await record(tenantId, "5")).allowed).toBe(true);
    expect(await executions(tenantId)).toMatchObject({ limit: "15", grantRemaining: "0" });

    // and once it expires, the plan's limit is back
    const start = clock.now();
    clock.set(new Date(start.getTime() + 3 * DAY));
    try {
      expect(await executions(tenantId)).toMatchObject({
        limit: "105",
        included: "100",
        limitSource: LimitSource.PLAN,
      });
    } finally {
      clock.set(start);
    }

    // and an unlimited override lifts the limit until it is deleted
    await entitlements.setEntitlementOverride({
      tenantId,
      resourceType: "executions",
      unlimited: true,
    });
    expect(await executions(tenantId)).toMatchObject({ unlimited: true, limit: "" });
    expect((await record(tenantId, "1000")).allowed).toBe(true);
    const deleted = await entitlements.deleteEntitlementOverride({
      tenantId,
      resourceType: "executions",
      requestId: "del-1",
    });
    expect(deleted.override).toMatchObject({ unlimited: true });
    expect(
      (
        await entitlements.deleteEntitlementOverride({
          tenantId,
          resourceType: "executions",
          requestId: "del-1",
        })
      ).override,
    ).toEqual(deleted.override);
    const none = await entitlements
      .deleteEntitlementOverride({ tenantId, resourceType: "executions" })
      .catch((e) => e);
    expect(ConnectError.from(none).code).toBe(Code.NotFound);
    expect((await record(tenantId, "1")).allowed).toBe(false);
    const actions = await queryRows<{ action: string }>(
      db.url,
      "select action from audit_events where tenant_id = $1 order by create_time",
      [tenantId],
    );
    expect(actions.map((a) => a.action)).toEqual([
      "override.set",
      "grant.create",
      "override.set",
      "override.delete",
    ]);
  });

  it("should draw grants before overage on a soft limit, and not bill what grants cover", async () => {
    // given a PRO tenant (10,000 executions included, overage beyond) with a grant of 100
    const tenantId = randomUUID();
    const billing = grpcClient(BillingService, server.baseUrl);
    const { customer } = await billing.createCustomer({ tenantId, email: "soft@example.com" });
    await billing.createSubscription({ customerId: customer!.id, priceId: "price_pro_monthly" });
    await grant(tenantId, "100");

    // when it uses 10,150
    await record(tenantId, "10150");

    // then 100 came from the grant and only 50 is overage, on the answer and the invoice
    expect(await executions(tenantId)).toMatchObject({
      used: "10150",
      overage: "50",
      grantRemaining: "0",
      granted: "100",
    });
    const { invoice } = await billing.getUpcomingInvoice({ tenantId });
    const line = invoice!.lines.find((l) => l.resourceType === "executions");
    expect(line?.quantity).toBe("50");
  });

  it("should draw grants for usage that arrives through StreamUsage", async () => {
    const tenantId = randomUUID();
    await grant(tenantId, "30");
    const usage = grpcClient(UsageService, server.baseUrl);
    await usage.trackUsage({
      events: Array.from({ length: 12 }, (_, i) => ({
        eventId: `e${i}`,
        tenantId,
        resourceType: "executions",
        quantity: "10",
        occurTime: timestampFromDate(clock.now()),
      })),
    });
    // the settle sweep draws what the allowance does not cover: 20 of the 30
    await expect
      .poll(async () => (await executions(tenantId)).grantRemaining, { timeout: 10_000 })
      .toBe("10");
    expect((await record(tenantId, "10")).allowed).toBe(true);
    expect((await record(tenantId, "1")).allowed).toBe(false);
  });
});
