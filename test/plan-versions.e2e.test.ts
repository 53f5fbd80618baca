import { randomUUID } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  MigrationEffective,
  MigrationOutcome,
  ProrationBehavior,
  type TenantMigration,
} from "../gen/tollgate/v1/billing_service_pb.js";
import { countRows, queryRows } from "./support/app.js";
import { runCli, runCliWithEnv } from "./support/cli.js";
import { errorOf, grpcTransport, tollgateClients } from "./support/clients.js";
import { createTestDatabase, type TestDatabase } from "./support/database.js";
import { type FakeStripe, startFakeStripe, stripeEnv } from "./support/fake-stripe.js";
import { useReplicas } from "./support/replicas.js";
import { type ServerProcess, startServerProcess } from "./support/server-process.js";

const DAY = 86_400_000;
const PRO_2027 = fileURLToPath(new URL("../examples/catalogs/pro-2027.json", import.meta.url));
const DEFAULT_CATALOG = fileURLToPath(
  new URL("../src/catalog/default-plans.json", import.meta.url),
);

type Clients = ReturnType<typeof tollgateClients>;

async function subscribe(api: Clients, tenantId: string, priceId: string, trialDays = 0) {
  const { customer } = await api.billing.createCustomer({ tenantId, email: "v@example.com" });
  const { subscription } = await api.billing.createSubscription({
    customerId: customer?.id ?? "",
    priceId,
    trialDays,
  });
  return subscription ?? expect.fail("no subscription");
}

async function executionsLimit(api: Clients, tenantId: string) {
  const { entitlements } = await api.entitlements.getEntitlements({ tenantId });
  return entitlements.find((e) => e.resourceType === "executions")?.included;
}

async function planFee(api: Clients, tenantId: string) {
  const { invoice } = await api.billing.getUpcomingInvoice({ tenantId });
  return invoice?.lines.find((l) => l.resourceType === "")?.amount;
}

async function eventsOf(api: Clients, tenantId: string, types: string[]) {
  const { events } = await api.events.listEvents({ tenantId, types, pageSize: 100 });
  // Newest first on the wire; the tests read them in the order they happened.
  return events.reverse();
}

describe("plan versions: catalog push, grandfathering and migrations (two replicas)", () => {
  const suite = useReplicas(2, {
    BILLING_RATE_LIMIT_BURST: "100000",
    BILLING_SWEEP_INTERVAL_SECONDS: "1",
  });
  const api = (replica: number) =>
    tollgateClients(grpcTransport(suite.servers[replica]?.baseUrl ?? ""));
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "tollgate-catalog-"));
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("should diff a file against the catalog in force: added, removed and changed entries", async () => {
    // given a file that adds a plan, removes TEAM, changes PRO's price and a limit, and a feature
    const catalog = JSON.parse(await readFile(DEFAULT_CATALOG, "utf8"));
    const pro = catalog.plans.find((p: { id: string }) => p.id === "pro");
    pro.unit_amount = "59.00";
    pro.price_id = "price_pro_monthly_2027";
    pro.limits.executions.limit = "8000";
    catalog.plans = catalog.plans.filter((p: { id: string }) => p.id !== "team");
    catalog.plans.push({
      id: "startup",
      display_name: "Startup",
      price_id: "price_startup_monthly",
      unit_amount: "19.00",
      currency: "usd",
      interval: "month",
      limits: { executions: { kind: "consumable", limit: "3000" } },
    });
    catalog.features.audit_log = { type: "boolean", default: false };
    const file = join(dir, "changes.json");
    await writeFile(file, JSON.stringify(catalog));

    // when
    const out = await runCli(suite.db.url, ["catalog", "diff", file]);

    // then every kind of change is listed, and nothing is stored
    const lines = out.split("\n");
    expect(lines).toContain(
      '~ price pro: {"currency":"usd","interval":"month","price_id":"price_pro_monthly","unit_amount":"49.00"} -> {"currency":"usd","interval":"month","price_id":"price_pro_monthly_2027","unit_amount":"59.00"}',
    );
    expect(lines.find((l) => l.startsWith("~ limit pro.executions: "))).toMatch(
      /"limit":"10000".* -> .*"limit":"8000"/,
    );
    expect(lines).toContain("+ plan startup");
    expect(lines).toContain("- plan team");
    expect(lines).toContain('+ feature audit_log: {"default":false,"type":"boolean"}');
    expect(lines).toContain(
      "plan pro: version 1 -> 2; existing subscriptions stay on 1 until migrated",
    );
    expect(lines).toContain("plan startup: version 1 for new subscriptions");
    expect(await countRows(suite.db.url, ["catalog_versions"])).toEqual({ catalog_versions: 1 });
  });

  it("should refuse to push an invalid file with every problem, storing nothing", async () => {
    // given a file with a bad limit, an unknown default plan, and PRO's price changed in place
    const catalog = JSON.parse(await readFile(DEFAULT_CATALOG, "utf8"));
    const pro = catalog.plans.find((p: { id: string }) => p.id === "pro");
    pro.limits.executions.limit = "lots";
    catalog.default_plan = "gratis";
    const file = join(dir, "invalid.json");
    await writeFile(file, JSON.stringify(catalog));
    const repriced = JSON.parse(await readFile(DEFAULT_CATALOG, "utf8"));
    repriced.plans.find((p: { id: string }) => p.id === "pro").unit_amount = "59.00";
    const inPlace = join(dir, "in-place.json");
    await writeFile(inPlace, JSON.stringify(repriced));

    // when
    const invalid = await runCliWithEnv({ DATABASE_URL: suite.db.url }, ["catalog", "push", file]);
    const reprice = await runCliWithEnv({ DATABASE_URL: suite.db.url }, [
      "catalog",
      "push",
      inPlace,
    ]);

    // then both exit 2 naming each problem, and the catalog in force is still version 1
    expect(invalid.code).toBe(2);
    expect(invalid.stderr).toContain("plans.1.limits.executions");
    expect(reprice.code).toBe(2);
    expect(reprice.stderr).toContain(
      'plans.pro.price_id: "price_pro_monthly" charged 49 usd per month on pro version 1',
    );
    expect(await countRows(suite.db.url, ["catalog_versions"])).toEqual({ catalog_versions: 1 });
    const { plans } = await api(0).billing.listPlans({});
    expect(plans.find((p) => p.id === "pro")).toMatchObject({ version: 1, unitAmount: "49.00" });
  });

  it("should keep existing subscriptions on their version, migrate at each period end exactly once", async () => {
    // given two PRO tenants on version 1 (B's trial ends its first period 10 days later), with
    // 9,000 executions used this period
    const a = randomUUID();
    const b = randomUUID();
    const subA = await subscribe(api(0), a, "price_pro_monthly");
    const subB = await subscribe(api(1), b, "price_pro_monthly", 10);
    for (const tenantId of [a, b]) {
      const used = await api(0).entitlements.checkAndRecord({
        tenantId,
        resourceType: "executions",
        quantity: "9000",
      });
      expect(used.allowed).toBe(true);
    }
    expect(subA.planVersion).toBe(1);

    // when the 2027 catalog is pushed: PRO at $59 under a new price, with 8,000 executions
    const pushed = await runCli(suite.db.url, ["catalog", "push", PRO_2027]);

    // then every replica serves version 2 within 2 seconds, old tenants keep version 1's terms
    expect(pushed).toContain("stored catalog version 2");
    const { auditEvents } = await api(0).billing.listAuditEvents({ pageSize: 100 });
    expect(
      auditEvents.filter((e) => e.action === "catalog.push").map((e) => [e.target, e.after]),
    ).toEqual([
      [
        "catalog_versions/2",
        expect.objectContaining({ plan_versions: expect.objectContaining({ pro: 2, team: 1 }) }),
      ],
    ]);
    for (const replica of [0, 1]) {
      await expect
        .poll(
          async () =>
            (await api(replica).billing.listPlans({})).plans.find((p) => p.id === "pro")?.version,
          { timeout: 2_000, interval: 100 },
        )
        .toBe(2);
    }
    const { plan: v1 } = await api(1).billing.getPlan({ planId: "pro", version: 1 });
    expect(v1).toMatchObject({ version: 1, unitAmount: "49.00", priceId: "price_pro_monthly" });
    expect(v1?.limits.find((l) => l.resourceType === "executions")?.limit).toBe("10000");
    expect(await executionsLimit(api(1), a)).toBe("10000");
    expect(await planFee(api(0), a)).toBe("49.00");
    const check = await api(1).entitlements.check({
      tenantId: a,
      resourceType: "executions",
      quantity: "1000",
    });
    expect(check.allowed).toBe(true);

    // and a new PRO subscription gets version 2; the old price is no longer sold
    const c = randomUUID();
    const subC = await subscribe(api(1), c, "price_pro_monthly_2027");
    expect(subC.planVersion).toBe(2);
    expect(await executionsLimit(api(0), c)).toBe("8000");
    expect(await planFee(api(0), c)).toBe("59.00");
    const stale = await errorOf(subscribe(api(0), randomUUID(), "price_pro_monthly"));
    expect(stale.code).toBe(Code.FailedPrecondition);
    expect(stale.rawMessage).toContain("pro version 1's, which is no longer sold");

    // when a dry run lists what a migration to version 2 changes
    const dry = await api(0).billing.migrateSubscriptions({
      planId: "pro",
      fromVersion: 1,
      toVersion: 2,
      effective: MigrationEffective.PERIOD_END,
      dryRun: true,
    });

    // then both tenants are listed with the invoice difference, and nothing changed
    const byTenant = (list: TenantMigration[]) =>
      Object.fromEntries(list.map((m) => [m.tenantId, m]));
    const previewed = byTenant(dry.migrations);
    expect(Object.keys(previewed).sort()).toEqual([a, b].sort());
    // A: $49 → $59, and 1,000 executions now beyond 8,000 at $0.006 = $6.00
    expect(previewed[a]).toMatchObject({
      fromVersion: 1,
      toVersion: 2,
      unitAmountBefore: "49.00",
      unitAmountAfter: "59.00",
      invoiceTotalBefore: "49.00",
      invoiceTotalAfter: "65.00",
      invoiceDifference: "16.00",
      outcome: MigrationOutcome.PREVIEWED,
    });
    expect(
      previewed[a]?.limitChanges.map((c) => [c.counter, c.before?.limit, c.after?.limit]),
    ).toEqual([["executions", "10000", "8000"]]);
    // B is in its trial: nothing is charged either way
    expect(previewed[b]).toMatchObject({ invoiceTotalBefore: "0.00", invoiceDifference: "0.00" });
    expect(timestampDate(previewed[b]?.effectiveTime ?? expect.fail())).toEqual(
      timestampDate(subB.currentPeriodEndTime ?? expect.fail()),
    );
    expect(
      (await api(0).billing.getSubscription({ subscriptionId: subA.id })).subscription,
    ).toMatchObject({ planVersion: 1, scheduledPlanVersion: 0 });

    // when the migration is scheduled for each period end, and retried on the other replica
    const request = {
      planId: "pro",
      fromVersion: 1,
      toVersion: 2,
      effective: MigrationEffective.PERIOD_END,
      requestId: `migrate-${randomUUID()}`,
    };
    const scheduled = await api(0).billing.migrateSubscriptions(request);
    const retried = await api(1).billing.migrateSubscriptions(request);

    // then both are scheduled once, and nothing changes before the period ends
    expect(scheduled.migrations.map((m) => m.outcome)).toEqual([
      MigrationOutcome.SCHEDULED,
      MigrationOutcome.SCHEDULED,
    ]);
    expect(retried.migrations.map((m) => [m.tenantId, m.outcome]).sort()).toEqual(
      scheduled.migrations.map((m) => [m.tenantId, m.outcome]).sort(),
    );
    expect(await executionsLimit(api(0), a)).toBe("10000");

    // when the test clock passes B's period end (its trial's, 10 days in; A's is a month in)
    const endA = timestampDate(subA.currentPeriodEndTime ?? expect.fail());
    const endB = timestampDate(subB.currentPeriodEndTime ?? expect.fail());
    await api(1).billing.advanceTestClock({
      toTime: timestampFromDate(new Date(endB.getTime() + DAY)),
    });

    // then B is on version 2, A still on 1
    expect(await executionsLimit(api(0), b)).toBe("8000");
    expect(await executionsLimit(api(0), a)).toBe("10000");
    expect(await planFee(api(1), a)).toBe("49.00");

    // when it passes A's too
    await api(0).billing.advanceTestClock({
      toTime: timestampFromDate(new Date(endA.getTime() + DAY)),
    });
    expect(await executionsLimit(api(1), a)).toBe("8000");
    expect(await planFee(api(1), a)).toBe("59.00");

    // then each moved exactly once, though both replicas sweep: one audit row, one
    // subscription.updated onto version 2, one entitlement.updated naming the version
    for (const [tenantId, sub] of [
      [a, subA],
      [b, subB],
    ] as const) {
      const audit = await api(0).billing.listAuditEvents({ tenantId, pageSize: 100 });
      expect(audit.auditEvents.filter((e) => e.action === "subscription.migrate")).toHaveLength(1);
      const updated = await eventsOf(api(1), tenantId, ["subscription.updated"]);
      const moves = updated.filter(
        (e, i) => e.data?.plan_version === 2 && updated[i - 1]?.data?.plan_version !== 2,
      );
      expect(moves).toHaveLength(1);
      const entitled = await eventsOf(api(0), tenantId, ["entitlement.updated"]);
      const versioned = entitled.filter((e) =>
        (e.data?.changed as string[] | undefined)?.includes("plan_version"),
      );
      expect(versioned).toHaveLength(1);
      expect(versioned[0]?.data?.after).toMatchObject({ plan_version: 2 });
      const { subscription } = await api(1).billing.getSubscription({ subscriptionId: sub.id });
      // and the provider's subscription carries version 2's price, moved after the boundary
      expect(subscription).toMatchObject({
        planVersion: 2,
        scheduledPlanVersion: 0,
        priceId: "price_pro_monthly_2027",
      });
    }
  });

  it("should refuse a migration with every problem at once", async () => {
    const error = await errorOf(
      api(0).billing.migrateSubscriptions({
        planId: "pro",
        fromVersion: 1,
        toVersion: 7,
        effective: MigrationEffective.UNSPECIFIED,
      }),
    );
    expect(error.code).toBe(Code.InvalidArgument);
    expect(error.rawMessage).toContain("to_version: is not a version of pro; it has 1, 2;");
    expect(error.rawMessage).toContain("effective: is required");
    expect(error.rawMessage).toContain("request_id: is required unless dry_run is set");
  });
});

describe("the test clock (two replicas)", () => {
  const suite = useReplicas(2, {
    BILLING_RATE_LIMIT_BURST: "100000",
    // Only the test clock runs the sweeps and the meter reports here.
    BILLING_SWEEP_INTERVAL_SECONDS: "86400",
    METER_SYNC_INTERVAL_SECONDS: "86400",
  });
  const api = (replica: number) =>
    tollgateClients(grpcTransport(suite.servers[replica]?.baseUrl ?? ""));

  it("should run three months of jobs once each, in order, with exact meter reports", async () => {
    // given a PRO tenant in a 7-day trial, 5,000 executions granted until day 42 (in the second
    // paid month), and 2,000 executions used in the trial
    const start = timestampDate((await api(0).billing.getTestClock({})).time ?? expect.fail());
    const tenantId = randomUUID();
    const sub = await subscribe(api(0), tenantId, "price_pro_monthly", 7);
    const grantExpiry = new Date(start.getTime() + 42 * DAY);
    await api(0).entitlements.grantCredits({
      tenantId,
      resourceType: "executions",
      quantity: "5000",
      expireTime: timestampFromDate(grantExpiry),
    });
    const use = (quantity: string) =>
      api(1).entitlements.checkAndRecord({ tenantId, resourceType: "executions", quantity });
    expect((await use("2000")).allowed).toBe(true);

    // when the clock moves into each paid month and 12,000 executions are used in each
    const trialEnd = timestampDate(sub.trialEndTime ?? expect.fail());
    await api(0).billing.advanceTestClock({
      toTime: timestampFromDate(new Date(trialEnd.getTime() + 3_600_000)),
    });
    expect((await use("12000")).allowed).toBe(true);
    const period1 = (await api(1).billing.getSubscription({ subscriptionId: sub.id })).subscription;
    const p2 = timestampDate(period1?.currentPeriodEndTime ?? expect.fail());
    await api(1).billing.advanceTestClock({
      toTime: timestampFromDate(new Date(p2.getTime() + 3_600_000)),
    });
    expect((await use("12000")).allowed).toBe(true);
    // the grant's expiry re-arms the thresholds: usage after it is measured without the grant
    await api(1).billing.advanceTestClock({
      toTime: timestampFromDate(new Date(grantExpiry.getTime() + 3_600_000)),
    });
    expect((await use("500")).allowed).toBe(true);
    const period2 = (await api(0).billing.getSubscription({ subscriptionId: sub.id })).subscription;
    const p3 = timestampDate(period2?.currentPeriodEndTime ?? expect.fail());
    await api(0).billing.advanceTestClock({
      toTime: timestampFromDate(new Date(p3.getTime() + 3_600_000)),
    });

    // then both replicas read the same business time, past the third period's start
    const times = await Promise.all(
      [0, 1].map(async (r) =>
        timestampDate((await api(r).billing.getTestClock({})).time ?? expect.fail()),
      ),
    );
    expect(Math.abs((times[0]?.getTime() ?? 0) - (times[1]?.getTime() ?? 0))).toBeLessThan(5_000);
    expect(times[0]?.getTime()).toBeGreaterThan(p3.getTime());

    // and each job ran once, in order: the trial notice, the trial's end, the first rollover,
    // the grant's expiry, the second rollover
    const events = await eventsOf(api(1), tenantId, [
      "subscription.trial_will_end",
      "subscription.updated",
      "grant.expired",
    ]);
    const starts = events.map((e) =>
      e.type === "subscription.updated"
        ? `updated ${new Date(String(e.data?.current_period_start_time)).toISOString()}`
        : e.type,
    );
    expect(starts).toEqual([
      "subscription.trial_will_end",
      `updated ${new Date(trialEnd).toISOString()}`,
      `updated ${p2.toISOString()}`,
      "grant.expired",
      `updated ${p3.toISOString()}`,
    ]);
    const advances = (await api(0).billing.listAuditEvents({ tenantId, pageSize: 100 })).auditEvents
      .filter((e) => e.action === "subscription.advance")
      .map((e) => timestampDate(e.createTime ?? expect.fail()).getTime());
    expect(advances.sort()).toEqual([trialEnd, p2, p3].map((t) => expect.closeTo(t.getTime(), -4)));

    // and thresholds were crossed once per level and period: 80 % of 10,000 + the 5,000 and
    // then 3,000 granted in each paid month, and 100 % once the grant's expiry left 12,000
    // (the allowance and the 2,000 drawn) under 12,500
    const crossed = await eventsOf(api(0), tenantId, ["entitlement.threshold_crossed"]);
    expect(
      crossed.map((e) => [
        new Date(String(e.data?.period_start_time)).toISOString(),
        e.data?.threshold,
        e.data?.limit,
      ]),
    ).toEqual([
      [trialEnd.toISOString(), "0.8", "15000"],
      [p2.toISOString(), "0.8", "13000"],
      [p2.toISOString(), "1", "12000"],
    ]);

    // and the mock meter holds each period's exact billable usage (beyond grants), reported
    // within the period it belongs to: 2,000; 12,000 - 2,000 granted; 12,500 - 2,000 granted
    const periods = [timestampDate(sub.currentPeriodStartTime ?? expect.fail()), trialEnd, p2, p3];
    const metered = await queryRows<{ total: string }>(
      suite.db.url,
      `select coalesce(sum(e.value), 0)::text as total
       from unnest($2::timestamptz[], $3::timestamptz[]) as p(s, e2)
       left join mock_meter_events e on e.customer_id = $1 and e.event_name = 'tollgate_executions'
         and e.event_time >= p.s and e.event_time < p.e2
       group by p.s order by p.s`,
      [sub.customerId, periods.slice(0, 3), periods.slice(1)],
    );
    expect(metered.map((r) => r.total)).toEqual(["2000", "10000", "10500"]);
  });

  it("should refuse to move the clock back, or with no time", async () => {
    const now = timestampDate((await api(0).billing.getTestClock({})).time ?? expect.fail());
    const back = await errorOf(
      api(1).billing.advanceTestClock({ toTime: timestampFromDate(new Date(now.getTime() - DAY)) }),
    );
    expect(back.code).toBe(Code.InvalidArgument);
    expect(back.rawMessage).toContain("to_time: must be after the test clock's time");
    const missing = await errorOf(api(1).billing.advanceTestClock({}));
    expect(missing.rawMessage).toContain("to_time: is required");
  });
});

describe("an immediate migration at Stripe, and the test clock in production", () => {
  let db: TestDatabase;
  let stripe: FakeStripe;
  let server: ServerProcess;
  let api: Clients;

  beforeAll(async () => {
    db = await createTestDatabase();
    stripe = await startFakeStripe();
    server = await startServerProcess({
      DATABASE_URL: db.url,
      ...stripeEnv(stripe),
      BILLING_RATE_LIMIT_BURST: "1000",
    });
    api = tollgateClients(grpcTransport(server.baseUrl));
  });

  afterAll(async () => {
    await server?.stop();
    await stripe?.close();
    await db?.drop();
  });

  it("should move the subscription's items to the new version's prices at once", async () => {
    // given a PRO tenant on version 1, then the 2027 catalog pushed
    const tenantId = randomUUID();
    const sub = await subscribe(api, tenantId, "price_pro_monthly");
    await runCli(db.url, ["catalog", "push", PRO_2027]);
    await expect
      .poll(
        async () => (await api.billing.listPlans({})).plans.find((p) => p.id === "pro")?.version,
      )
      .toBe(2);
    stripe.reset();

    // when it is migrated now, without proration
    const { migrations } = await api.billing.migrateSubscriptions({
      planId: "pro",
      fromVersion: 1,
      toVersion: 2,
      effective: MigrationEffective.IMMEDIATELY,
      prorationBehavior: ProrationBehavior.NONE,
      requestId: "m-1",
    });

    // then Stripe's fee item takes the 2027 price, the metered items keep theirs, once
    expect(migrations.map((m) => [m.tenantId, m.outcome])).toEqual([
      [tenantId, MigrationOutcome.APPLIED],
    ]);
    const update = stripe.requests.find((r) => r.method === "POST" && r.path.endsWith(sub.id));
    expect(update?.params).toMatchObject({
      "items[0][price]": "price_pro_monthly_2027",
      "items[1][price]": "price_pro_executions_metered",
      proration_behavior: "none",
    });
    expect(update?.idempotencyKey).toBe(`tollgate:${tenantId}:subscription.migrate:m-1`);
    // and the tenant has version 2's terms at once, announced
    const { subscription } = await api.billing.getSubscription({ subscriptionId: sub.id });
    expect(subscription).toMatchObject({ planVersion: 2, priceId: "price_pro_monthly_2027" });
    expect(await executionsLimit(api, tenantId)).toBe("8000");
    const entitled = await eventsOf(api, tenantId, ["entitlement.updated"]);
    expect(entitled.at(-1)?.data?.changed).toEqual(expect.arrayContaining(["plan_version"]));
  });

  it("should refuse the test clock in production", async () => {
    // given a production server (an admin key must exist there)
    const key = (await runCli(db.url, ["keys", "create"])).split("\n")[0] ?? "";
    const production = await startServerProcess({
      DATABASE_URL: db.url,
      ENVIRONMENT: "production",
      BILLING_PROVIDER: "mock",
      HOST: "127.0.0.1",
    });
    try {
      const admin = tollgateClients(grpcTransport(production.baseUrl, key));

      // when / then
      for (const call of [
        admin.billing.getTestClock({}),
        admin.billing.advanceTestClock({ toTime: timestampFromDate(new Date(Date.now() + DAY)) }),
      ]) {
        const error = await errorOf(call);
        expect(error.code).toBe(Code.FailedPrecondition);
        expect(error.rawMessage).toContain("the test clock is off in production");
      }
    } finally {
      await production.stop();
    }
  });
});
