import { randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { BillingService } from "../gen/tollgate/v1/billing_service_pb.js";
import { EntitlementService } from "../gen/tollgate/v1/entitlement_service_pb.js";
import { EventService } from "../gen/tollgate/v1/event_service_pb.js";
import { UsageService } from "../gen/tollgate/v1/usage_service_pb.js";
import { queryRows } from "./support/app.js";
import { errorOf, grpcClient } from "./support/clients.js";
import { useReplicas } from "./support/replicas.js";
import { startServerProcess } from "./support/server-process.js";

const HOUR = 3_600_000;
const LLM_CATALOG = fileURLToPath(
  new URL("../examples/catalogs/llm-platform.json", import.meta.url),
);

/** `count` events of `resourceType` for a tenant, one unit each unless `quantity` says. */
const eventsOf = (
  tenantId: string,
  resourceType: string,
  count: number,
  options: {
    prefix?: string;
    quantity?: string;
    at?: Date;
    attributes?: Record<string, string>;
  } = {},
) =>
  Array.from({ length: count }, (_, i) => ({
    eventId: `${options.prefix ?? "e"}-${i}`,
    tenantId,
    resourceType,
    quantity: options.quantity ?? "1",
    occurTime: timestampFromDate(options.at ?? new Date(Date.now() - 60_000)),
    attributes: options.attributes ?? {},
  }));

const range = () => ({
  startTime: timestampFromDate(new Date(Date.now() - 30 * 24 * HOUR)),
  endTime: timestampFromDate(new Date(Date.now() + HOUR)),
});

describe("Corrections across two server processes", () => {
  const suite = useReplicas(2, { PLAN_CATALOG_PATH: LLM_CATALOG });
  const usage = (i = 0) => grpcClient(UsageService, suite.servers[i]!.baseUrl);
  const entitlements = (i = 0) => grpcClient(EntitlementService, suite.servers[i]!.baseUrl);
  const events = () => grpcClient(EventService, suite.servers[0]!.baseUrl);

  const totalOf = async (tenantId: string, resourceType: string, i = 0) => {
    const { totals } = await usage(i).getUsage({ tenantId, resourceType, ...range() });
    return totals.find((t) => Object.keys(t.dimensions).length === 0)?.quantity;
  };
  const usedOf = async (tenantId: string, resourceType: string, i = 0) => {
    const { entitlements: all } = await entitlements(i).getEntitlements({ tenantId });
    return all.find(
      (e) => e.resourceType === resourceType && Object.keys(e.dimensions).length === 0,
    );
  };

  it("should void events exactly once through two replicas racing with retries of one request id", async () => {
    // given 100 api_calls events of one tenant
    const tenantId = randomUUID();
    const ingested = await usage().trackUsage({ events: eventsOf(tenantId, "api_calls", 100) });
    expect(ingested.acceptedCount).toBe(100n);
    expect(await totalOf(tenantId, "api_calls")).toBe("100");

    // when 10 of them are voided by the same request, sent 3 times to each replica at once
    const request = {
      tenantId,
      eventIds: Array.from({ length: 10 }, (_, i) => `e-${i}`),
      reason: "client double-sent with fresh ids",
      requestId: `void-${tenantId}`,
    };
    const answers = await Promise.all(
      Array.from({ length: 6 }, (_, i) => usage(i % 2).voidUsage(request)),
    );

    // then every answer is the first one, and both replicas report 90
    for (const answer of answers) {
      expect([answer.voidedCount, answer.alreadyVoidedCount, answer.notFound]).toEqual([
        10n,
        0n,
        [],
      ]);
    }
    expect(await totalOf(tenantId, "api_calls", 0)).toBe("90");
    expect(await totalOf(tenantId, "api_calls", 1)).toBe("90");
    expect((await usedOf(tenantId, "api_calls", 1))?.used).toBe("90");

    // and the voided events are listed as voided, never deleted
    const listed = await usage(1).listUsageEvents({
      tenantId,
      resourceType: "api_calls",
      includeVoided: true,
      pageSize: 100,
    });
    expect(listed.events).toHaveLength(100);
    const voided = listed.events.filter((e) => e.voided);
    expect(voided.map((e) => e.event?.eventId).sort()).toEqual([...request.eventIds].sort());
    expect(voided.every((e) => e.voidReason === request.reason && e.voidedBy === "open")).toBe(
      true,
    );
    expect(voided.every((e) => e.voidTime !== undefined)).toBe(true);
    const live = await usage().listUsageEvents({
      tenantId,
      resourceType: "api_calls",
      pageSize: 100,
    });
    expect(live.events).toHaveLength(90);

    // and one audit row and one usage.corrected event record it
    const audits = await queryRows<{ action: string; after: { reason: string } }>(
      suite.db.url,
      "select action, after from audit_events where tenant_id = $1",
      [tenantId],
    );
    expect(audits.map((a) => [a.action, a.after.reason])).toEqual([["usage.void", request.reason]]);
    const corrected = await events().listEvents({ tenantId, types: ["usage.corrected"] });
    expect(corrected.events).toHaveLength(1);
    expect(corrected.events[0]?.data).toMatchObject({
      kind: "void",
      voided_count: 10,
      reason: request.reason,
      request_id: request.requestId,
    });

    // and voiding them again changes nothing: already voided, unknown ids not found
    const again = await usage(1).voidUsage({
      tenantId,
      eventIds: ["e-0", "e-1", "nope"],
      reason: "again",
    });
    expect([again.voidedCount, again.alreadyVoidedCount, again.notFound]).toEqual([
      0n,
      2n,
      ["nope"],
    ]);
    expect(await totalOf(tenantId, "api_calls")).toBe("90");
  });

  it("should give a voided admission's quantity back to its limit", async () => {
    // given a FREE tenant at its 100,000 tokens, reached by keyed CheckAndRecord calls
    const tenantId = randomUUID();
    for (let i = 0; i < 10; i++) {
      const r = await entitlements(i % 2).checkAndRecord({
        tenantId,
        resourceType: "tokens",
        quantity: "10000",
        idempotencyKey: `call-${i}`,
      });
      expect(r.allowed).toBe(true);
    }
    expect(
      (await entitlements().checkAndRecord({ tenantId, resourceType: "tokens", quantity: "1000" }))
        .allowed,
    ).toBe(false);

    // when one admission of 10,000 failed downstream and is voided by its key
    const answer = await usage(1).voidUsage({
      tenantId,
      idempotencyKeys: ["call-3", "unknown-key"],
      reason: "the job failed downstream",
    });
    expect([answer.voidedCount, answer.notFound]).toEqual([1n, ["unknown-key"]]);

    // then 10,000 more fit, and not one more; a retry of the admission's key replays its answer
    const fits = await Promise.all(
      Array.from({ length: 11 }, () =>
        entitlements().checkAndRecord({ tenantId, resourceType: "tokens", quantity: "1000" }),
      ),
    );
    expect(fits.filter((r) => r.allowed)).toHaveLength(10);
    const replay = await entitlements().checkAndRecord({
      tenantId,
      resourceType: "tokens",
      quantity: "10000",
      idempotencyKey: "call-3",
    });
    expect(replay.allowed).toBe(true);
    expect((await usedOf(tenantId, "tokens"))?.used).toBe("100000");
  });

  it("should resolve a crossed threshold once, and announce crossing it again", async () => {
    // given a FREE tenant at 85,000 of its 100,000 tokens (80 % crossed)
    const tenantId = randomUUID();
    for (let i = 0; i < 85; i++) {
      await entitlements().recordUsage({
        tenantId,
        resourceType: "tokens",
        quantity: "1000",
        idempotencyKey: `x-${i}`,
      });
    }
    const crossed = async () =>
      (await events().listEvents({ tenantId, types: ["entitlement.threshold_crossed"] })).events;
    expect((await crossed()).map((e) => e.data?.threshold)).toEqual(["0.8"]);

    // when a correction brings it to 75,000, through both replicas at once
    const keys = Array.from({ length: 10 }, (_, i) => `x-${i}`);
    await Promise.all([
      usage(0).voidUsage({
        tenantId,
        idempotencyKeys: keys,
        reason: "over-counted",
        requestId: "r1",
      }),
      usage(1).voidUsage({
        tenantId,
        idempotencyKeys: keys,
        reason: "over-counted",
        requestId: "r1",
      }),
    ]);

    // then exactly one threshold_resolved is announced
    const resolved = await events().listEvents({
      tenantId,
      types: ["entitlement.threshold_resolved"],
    });
    expect(resolved.events.map((e) => [e.data?.threshold, e.data?.used])).toEqual([
      ["0.8", "75000"],
    ]);

    // and crossing 80 % again announces a new threshold_crossed
    for (let i = 85; i < 91; i++) {
      await entitlements(1).recordUsage({
        tenantId,
        resourceType: "tokens",
        quantity: "1000",
        idempotencyKey: `x-${i}`,
      });
    }
    expect((await crossed()).map((e) => e.data?.threshold)).toEqual(["0.8", "0.8"]);
  });

  it("should give back to grants what voided usage drew from them, the latest draw first", async () => {
    // given a FREE tenant (100,000 tokens) with two grants of 50,000, the later-expiring
    // drawn last
    const tenantId = randomUUID();
    const soon = timestampFromDate(new Date(Date.now() + 10 * 24 * HOUR));
    const later = timestampFromDate(new Date(Date.now() + 20 * 24 * HOUR));
    const first = await entitlements().grantCredits({
      tenantId,
      resourceType: "tokens",
      quantity: "50000",
      expireTime: soon,
      reason: "first",
    });
    const second = await entitlements().grantCredits({
      tenantId,
      resourceType: "tokens",
      quantity: "50000",
      expireTime: later,
      reason: "second",
    });
    // 170,000 used: 70,000 beyond the allowance, 50,000 drawn from the first grant and 20,000
    // from the second
    for (let i = 0; i < 17; i++) {
      await entitlements().recordUsage({
        tenantId,
        resourceType: "tokens",
        quantity: "10000",
        idempotencyKey: `g-${i}`,
      });
    }
    const remaining = async () => {
      const { grants } = await entitlements().listGrants({ tenantId, includeExpired: true });
      return Object.fromEntries(grants.map((g) => [g.id, g.remaining]));
    };
    expect(await remaining()).toEqual({ [first.grant!.id]: "0", [second.grant!.id]: "30000" });

    // when 30,000 of that usage is voided
    await usage().voidUsage({
      tenantId,
      idempotencyKeys: ["g-0", "g-1", "g-2"],
      reason: "duplicate job",
    });

    // then the second grant gets its 20,000 back and the first 10,000
    expect(await remaining()).toEqual({ [first.grant!.id]: "10000", [second.grant!.id]: "50000" });
    const tokens = await usedOf(tenantId, "tokens");
    expect([tokens?.used, tokens?.granted]).toEqual(["140000", "100000"]);
  });

  it("should recompute a unique count from the live events: a member leaves only when nothing names it", async () => {
    // given active_users (unique by user_id): ann twice, bob once
    const tenantId = randomUUID();
    const at = new Date(Date.now() - 60_000);
    const user = (eventId: string, userId: string) => ({
      eventId,
      tenantId,
      resourceType: "active_users",
      quantity: "1",
      occurTime: timestampFromDate(at),
      attributes: { user_id: userId },
    });
    await usage().trackUsage({ events: [user("u1", "ann"), user("u2", "ann"), user("u3", "bob")] });
    const active = async () => (await usedOf(tenantId, "active_users"))?.used;
    expect(await active()).toBe("2");

    // when one of ann's events is voided, she is still active; when the other is, she leaves
    await usage().voidUsage({ tenantId, eventIds: ["u1"], reason: "test" });
    expect(await active()).toBe("2");
    await usage().voidUsage({ tenantId, eventIds: ["u2"], reason: "test" });
    expect(await active()).toBe("1");
    expect(await totalOf(tenantId, "active_users")).toBe("1");

    // and when she comes back, she counts again
    await usage().trackUsage({ events: [user("u4", "ann")] });
    expect(await active()).toBe("2");
    expect(await totalOf(tenantId, "active_users")).toBe("2");
  });

  it("should recompute a max and a latest meter when the usage that held them is voided", async () => {
    const tenantId = randomUUID();
    const at = (minutesAgo: number) =>
      timestampFromDate(new Date(Date.now() - minutesAgo * 60_000));
    const event = (
      eventId: string,
      resourceType: string,
      quantity: string,
      minutesAgo: number,
    ) => ({
      eventId,
      tenantId,
      resourceType,
      quantity,
      occurTime: at(minutesAgo),
      attributes: {},
    });
    await usage().trackUsage({
      events: [
        event("p1", "peak_agents", "2", 30),
        event("p2", "peak_agents", "3", 20),
        event("s1", "seats", "4", 30),
        event("s2", "seats", "5", 10),
      ],
    });
    expect((await usedOf(tenantId, "peak_agents"))?.used).toBe("3");
    expect((await usedOf(tenantId, "seats"))?.used).toBe("5");

    await usage().voidUsage({ tenantId, eventIds: ["p2", "s2"], reason: "bad reading" });

    expect((await usedOf(tenantId, "peak_agents"))?.used).toBe("2");
    expect((await usedOf(tenantId, "seats"))?.used).toBe("4");
    expect(await totalOf(tenantId, "peak_agents")).toBe("2");
    expect(await totalOf(tenantId, "seats")).toBe("4");
  });

  it("should refuse bad input with every problem at once and change nothing", async () => {
    const tenantId = randomUUID();
    await usage().trackUsage({ events: eventsOf(tenantId, "api_calls", 3) });
    const error = await errorOf(
      usage().voidUsage({ tenantId: "not-a-uuid", eventIds: [], idempotencyKeys: [], reason: "" }),
    );
    expect(error.code).toBe(Code.InvalidArgument);
    expect(error.rawMessage).toContain("tenant_id");
    expect(error.rawMessage).toContain("event_ids");
    expect(error.rawMessage).toContain("reason");

    const outside = await errorOf(
      usage().replaceUsage({
        tenantId,
        resourceType: "api_calls",
        startTime: timestampFromDate(new Date(Date.now() - 2 * HOUR)),
        endTime: timestampFromDate(new Date(Date.now() - HOUR)),
        events: [
          ...eventsOf(tenantId, "api_calls", 1, {
            prefix: "in",
            at: new Date(Date.now() - 90 * 60_000),
          }),
          ...eventsOf(tenantId, "api_calls", 2, { prefix: "out" }),
          ...eventsOf(randomUUID(), "api_calls", 1, {
            prefix: "other",
            at: new Date(Date.now() - 90 * 60_000),
          }),
        ],
      }),
    );
    expect(outside.code).toBe(Code.InvalidArgument);
    expect(outside.rawMessage).toContain(
      "events[1]: occur_time: must be within [start_time, end_time)",
    );
    expect(outside.rawMessage).toContain("events[2]: occur_time");
    expect(outside.rawMessage).toContain("events[3]: tenant_id");
    expect(outside.rawMessage).not.toContain("events[0]");
    expect(await totalOf(tenantId, "api_calls")).toBe("3");
  });

  it("should replace a range atomically while a stream ingests into it: nothing lost or doubled", async () => {
    // given a stream of 1,200 tokens events, every other one inside the last hour but one
    const tenantId = randomUUID();
    const start = new Date(Date.now() - 2 * HOUR);
    const end = new Date(Date.now() - HOUR);
    const streamed = Array.from({ length: 1_200 }, (_, i) => ({
      eventId: `s-${i}`,
      tenantId,
      resourceType: "tokens",
      quantity: String(1 + (i % 7)),
      occurTime: timestampFromDate(
        new Date((i % 2 === 0 ? start.getTime() + 60_000 : end.getTime() + 60_000) + i * 1_000),
      ),
      attributes: { model: i % 3 === 0 ? "gpt-4" : "gpt-4o-mini" },
    }));
    const stream = usage(0).streamUsage(
      (async function* () {
        for (let i = 0; i < streamed.length; i += 20) {
          yield { events: streamed.slice(i, i + 20) };
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
      })(),
    );

    // when, mid-stream, the range is replaced on the other replica by 50 events of 2 tokens
    await new Promise((resolve) => setTimeout(resolve, 200));
    const replacement = Array.from({ length: 50 }, (_, i) => ({
      eventId: `r-${i}`,
      tenantId,
      resourceType: "tokens",
      quantity: "2",
      occurTime: timestampFromDate(new Date(start.getTime() + i * 60_000)),
      attributes: { model: "gpt-4" },
    }));
    const replaced = await usage(1).replaceUsage({
      tenantId,
      resourceType: "tokens",
      startTime: timestampFromDate(start),
      endTime: timestampFromDate(end),
      events: replacement,
      requestId: `replace-${tenantId}`,
      reason: "backfill from the billing warehouse",
    });
    const summary = await stream;
    expect(summary.acceptedCount).toBe(1_200n);
    expect(replaced.acceptedCount).toBe(50n);

    // then every streamed event is stored once, voided only if it is inside the range and was
    // stored before the replacement, and the replacement is live
    const all: { id: string; quantity: number; voided: boolean; model: string }[] = [];
    let pageToken = "";
    do {
      const page = await usage().listUsageEvents({
        tenantId,
        includeVoided: true,
        pageSize: 100,
        pageToken,
      });
      for (const e of page.events) {
        all.push({
          id: e.event?.eventId ?? "",
          quantity: Number(e.event?.quantity),
          voided: e.voided,
          model: e.event?.attributes.model ?? "",
        });
      }
      pageToken = page.nextPageToken;
    } while (pageToken !== "");
    expect(all).toHaveLength(1_250);
    expect(new Set(all.map((e) => e.id)).size).toBe(1_250);
    const voided = all.filter((e) => e.voided);
    expect(voided).toHaveLength(Number(replaced.voidedCount));
    expect(voided.length).toBeGreaterThan(0);
    expect(voided.every((e) => Number(e.id.slice(2)) % 2 === 0 && e.id.startsWith("s-"))).toBe(
      true,
    );
    expect(all.filter((e) => e.id.startsWith("r-")).every((e) => !e.voided)).toBe(true);

    // and the counters, the dimension counter and the report equal the live events exactly
    const live = all.filter((e) => !e.voided);
    const sum = (xs: typeof all) => String(xs.reduce((n, e) => n + e.quantity, 0));
    const { entitlements: tokens } = await entitlements(1).getEntitlements({ tenantId });
    expect(
      tokens.filter((e) => e.resourceType === "tokens").map((e) => [e.dimensions, e.used]),
    ).toEqual([
      [{}, sum(live)],
      [{ model: "gpt-4" }, sum(live.filter((e) => e.model === "gpt-4"))],
    ]);
    expect(await totalOf(tenantId, "tokens")).toBe(sum(live));
    const { totals } = await usage().getUsage({
      tenantId,
      resourceType: "tokens",
      startTime: timestampFromDate(new Date(Math.floor(start.getTime() / HOUR) * HOUR)),
      endTime: timestampFromDate(new Date(Math.ceil(Date.now() / HOUR) * HOUR + HOUR)),
      groupBy: ["model"],
    });
    expect(Object.fromEntries(totals.map((t) => [t.dimensions.model, t.quantity]))).toEqual({
      "gpt-4": sum(live.filter((e) => e.model === "gpt-4")),
      "gpt-4o-mini": sum(live.filter((e) => e.model === "gpt-4o-mini")),
    });
  });
});

describe("Late events and closed periods", () => {
  const suite = useReplicas(1, { PLAN_CATALOG_PATH: LLM_CATALOG });
  const api = (i = 0) => ({
    usage: grpcClient(UsageService, suite.servers[i]!.baseUrl),
    billing: grpcClient(BillingService, suite.servers[i]!.baseUrl),
    entitlements: grpcClient(EntitlementService, suite.servers[i]!.baseUrl),
  });

  it("should count late events in their open period, and refuse them by code once it closed", async () => {
    // given a tenant that subscribed to PRO just now: its usage before that is in the period
    // that ended when it subscribed, open for PERIOD_GRACE_HOURS (24)
    const tenantId = randomUUID();
    const { customer } = await api().billing.createCustomer({ tenantId, email: "l@example.com" });
    await api().billing.createSubscription({
      customerId: customer!.id,
      priceId: "price_llm_pro_monthly",
    });
    const event = (eventId: string, at: Date) => ({
      eventId,
      tenantId,
      resourceType: "tokens",
      quantity: "5",
      occurTime: timestampFromDate(at),
      attributes: {},
    });

    // when an agent that was offline sends an event of an hour ago, one of 36 days ago and one
    // 10 minutes ahead
    const now = Date.now();
    const answer = await api().usage.trackUsage({
      events: [
        event("late", new Date(now - HOUR)),
        event("too-old", new Date(now - 36 * 24 * HOUR)),
        event("ahead", new Date(now + 10 * 60_000)),
        event("current", new Date(now)),
      ],
    });

    // then the late one is counted in the period that just ended, the others are rejected
    // with their codes
    expect(answer.acceptedCount).toBe(2n);
    expect(answer.rejectedEvents.map((r) => [r.eventIndex, r.reasonCode])).toEqual([
      [1, "EVENT_TOO_OLD"],
      [2, "EVENT_IN_FUTURE"],
    ]);
    const counters = await queryRows<{ period_start: Date; used: string }>(
      suite.db.url,
      `select period_start, used::text from usage_counters
       where tenant_id = $1 and resource_type = 'tokens' order by period_start`,
      [tenantId],
    );
    expect(counters.map((c) => c.used)).toEqual(["5", "5"]);
    const listed = await api().usage.listUsageEvents({ tenantId, resourceType: "tokens" });
    expect(listed.events.map((e) => [e.event?.eventId, e.periodStartTime?.seconds])).toEqual([
      ["current", BigInt(Math.floor(counters[1]!.period_start.getTime() / 1000))],
      ["late", BigInt(Math.floor(counters[0]!.period_start.getTime() / 1000))],
    ]);

    // when a replica without a grace window (PERIOD_GRACE_HOURS=0) takes over
    const closed = await startServerProcess({
      DATABASE_URL: suite.db.url,
      PLAN_CATALOG_PATH: LLM_CATALOG,
      PERIOD_GRACE_HOURS: "0",
    });
    try {
      const usage = grpcClient(UsageService, closed.baseUrl);
      // then an event for that period is refused PERIOD_CLOSED, one for the current is taken
      const late = await usage.trackUsage({
        events: [event("late-2", new Date(now - HOUR)), event("current-2", new Date())],
      });
      expect(late.acceptedCount).toBe(1n);
      expect(late.rejectedEvents.map((r) => [r.eventId, r.reasonCode])).toEqual([
        ["late-2", "PERIOD_CLOSED"],
      ]);
      // and a correction of it fails with FAILED_PRECONDITION and changes nothing
      const error = await errorOf(
        usage.voidUsage({ tenantId, eventIds: ["late", "current"], reason: "test" }),
      );
      expect(error.code).toBe(Code.FailedPrecondition);
      expect(error.metadata.get("tollgate-error-reason")).toBe("PERIOD_CLOSED");
      const still = await usage.listUsageEvents({ tenantId, resourceType: "tokens" });
      expect(still.events.every((e) => !e.voided)).toBe(true);
      expect(still.events).toHaveLength(3);
    } finally {
      await closed.stop();
    }

    // and while the period is open a correction of the late event goes through
    const voided = await api().usage.voidUsage({ tenantId, eventIds: ["late"], reason: "dup" });
    expect(voided.voidedCount).toBe(1n);
  });
});
