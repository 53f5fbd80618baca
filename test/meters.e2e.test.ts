import { randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  Aggregation,
  DenialReason,
  EntitlementService,
} from "../gen/tollgate/v1/entitlement_service_pb.js";
import { EventService } from "../gen/tollgate/v1/event_service_pb.js";
import { Granularity, UsageService } from "../gen/tollgate/v1/usage_service_pb.js";
import { createManualClock } from "../src/platform/clock/clock.js";
import { startTestApp, type TestApp } from "./support/app.js";
import { errorOf, grpcClient } from "./support/clients.js";
import { createTestDatabase, type TestDatabase } from "./support/database.js";
import { useReplicas } from "./support/replicas.js";

// The example catalog of the README's walk-through: tokens by model (gpt-4 limited to 1000 on
// FREE), api_calls counted by endpoint, active_users by user_id (100 on FREE), peak_agents
// (max, 3) and seats (latest, 5).
const CATALOG = fileURLToPath(new URL("../examples/catalogs/llm-platform.json", import.meta.url));

describe("Meters across two server processes", () => {
  const suite = useReplicas(2, { PLAN_CATALOG_PATH: CATALOG });
  const entitlements = () => suite.servers.map((s) => grpcClient(EntitlementService, s.baseUrl));
  const usage = () => grpcClient(UsageService, suite.servers[0]!.baseUrl);

  it("should admit exactly up to a dimension limit under 500 concurrent calls while other values go on", async () => {
    // given a FREE tenant: tokens 100000 in all, of which gpt-4 at most 1000
    const tenantId = randomUUID();
    const clients = entitlements();

    // when 500 calls of 10 tokens race on two replicas, every other one for gpt-4
    const results = await Promise.all(
      Array.from({ length: 500 }, (_, i) =>
        clients[i % 2]!.checkAndRecord({
          tenantId,
          resourceType: "tokens",
          quantity: "10",
          dimensions: { model: i % 4 < 2 ? "gpt-4" : "gpt-4o-mini" },
        }).then((r) => ({ model: i % 4 < 2 ? "gpt-4" : "gpt-4o-mini", r })),
      ),
    );

    // then exactly 100 gpt-4 calls fit, every gpt-4o-mini call fits, and the counters agree
    const gpt4 = results.filter((x) => x.model === "gpt-4");
    expect(gpt4.filter((x) => x.r.allowed)).toHaveLength(100);
    for (const denied of gpt4.filter((x) => !x.r.allowed)) {
      expect(denied.r.denialReason).toBe(DenialReason.LIMIT_EXCEEDED);
      expect(denied.r.entitlement?.dimensions).toEqual({ model: "gpt-4" });
    }
    expect(results.filter((x) => x.model === "gpt-4o-mini" && x.r.allowed)).toHaveLength(250);
    const { entitlements: all } = await clients[1]!.getEntitlements({ tenantId });
    const tokens = all.filter((e) => e.resourceType === "tokens");
    expect(tokens.map((e) => [e.dimensions, e.used, e.limit, e.remaining])).toEqual([
      [{}, "3500", "100000", "96500"],
      [{ model: "gpt-4" }, "1000", "1000", "0"],
    ]);
    expect(tokens[0]?.aggregation).toBe(Aggregation.SUM);

    // and gpt-4's thresholds (80 %, 100 %) and its first denial were announced once each,
    // naming the resource and the dimension limit's values
    const { events } = await grpcClient(EventService, suite.servers[0]!.baseUrl).listEvents({
      tenantId,
      types: ["entitlement.threshold_crossed", "entitlement.denied"],
    });
    expect(
      events.map((e) => [e.type, e.data?.resource_type, e.data?.dimensions, e.data?.threshold]),
    ).toEqual([
      ["entitlement.denied", "tokens", { model: "gpt-4" }, undefined],
      ["entitlement.threshold_crossed", "tokens", { model: "gpt-4" }, "1"],
      ["entitlement.threshold_crossed", "tokens", { model: "gpt-4" }, "0.8"],
    ]);
  });

  it("should admit exactly 100 of 300 distinct members racing in 500 calls, and every call of an admitted one", async () => {
    // given a FREE tenant whose active_users (unique by user_id) stop at 100
    const tenantId = randomUUID();
    const clients = entitlements();

    // when 500 calls name 300 users (some twice) on two replicas
    const results = await Promise.all(
      Array.from({ length: 500 }, (_, i) => {
        const user = `u${i % 300}`;
        return clients[i % 2]!.checkAndRecord({
          tenantId,
          resourceType: "active_users",
          dimensions: { user_id: user },
        }).then((r) => ({ user, allowed: r.allowed }));
      }),
    );

    // then exactly 100 distinct users are in, and each call was allowed exactly when its user is
    const admitted = new Set(results.filter((x) => x.allowed).map((x) => x.user));
    expect(admitted.size).toBe(100);
    for (const x of results) expect(x.allowed).toBe(admitted.has(x.user));
    const { entitlements: all } = await clients[0]!.getEntitlements({ tenantId });
    expect(all.find((e) => e.resourceType === "active_users")).toMatchObject({
      used: "100",
      aggregation: Aggregation.UNIQUE_COUNT,
    });

    // and an admitted user comes back for free, on either replica, while a new one is denied
    const [member] = admitted;
    const again = await clients[1]!.checkAndRecord({
      tenantId,
      resourceType: "active_users",
      dimensions: { user_id: member as string },
    });
    expect(again.allowed).toBe(true);
    expect(again.entitlement?.used).toBe("100");
    const fresh = await clients[0]!.check({
      tenantId,
      resourceType: "active_users",
      dimensions: { user_id: "someone-new" },
    });
    expect(fresh.allowed).toBe(false);
    expect(
      (
        await clients[0]!.check({
          tenantId,
          resourceType: "active_users",
          dimensions: { user_id: member as string },
        })
      ).allowed,
    ).toBe(true);
  });

  it("should count tracked events into the same counters as admissions", async () => {
    // given a FREE tenant
    const tenantId = randomUUID();
    const [client] = entitlements();

    // when events arrive by TrackUsage: gpt-4 tokens, two users (one twice), calls, agents, seats
    const at = (minutes: number) => timestampFromDate(new Date(Date.now() - minutes * 60_000));
    const event = (
      eventId: string,
      resourceType: string,
      quantity: string,
      attributes: Record<string, string> = {},
      minutesAgo = 0,
    ) => ({ eventId, tenantId, resourceType, quantity, attributes, occurTime: at(minutesAgo) });
    const summary = await usage().trackUsage({
      events: [
        event("t1", "tokens", "400", { model: "gpt-4" }),
        event("t2", "tokens", "50", { model: "gpt-4o-mini" }),
        event("u1", "active_users", "1", { user_id: "ann" }),
        event("u2", "active_users", "1", { user_id: "ann" }),
        event("u3", "active_users", "1", { user_id: "bob" }),
        event("u4", "active_users", "1"),
        event("c1", "api_calls", "7", { endpoint: "/v1/embeddings" }),
        event("a1", "peak_agents", "2"),
        event("a2", "peak_agents", "1"),
        event("s1", "seats", "4", {}, 10),
        event("s2", "seats", "3", {}, 5),
        event("s3", "seats", "5", {}, 20),
      ],
    });

    // then the event without its member is refused with its reason, the rest count by meter
    expect(summary.acceptedCount).toBe(11n);
    expect(summary.rejectedEvents).toEqual([
      expect.objectContaining({ eventId: "u4", reason: expect.stringContaining("user_id") }),
    ]);
    const used = async () =>
      Object.fromEntries(
        (await client!.getEntitlements({ tenantId })).entitlements.map((e) => [
          `${e.resourceType}${JSON.stringify(e.dimensions)}`,
          e.used,
        ]),
      );
    expect(await used()).toMatchObject({
      "tokens{}": "450",
      'tokens{"model":"gpt-4"}': "400",
      "active_users{}": "2",
      "api_calls{}": "1",
      'api_calls{"endpoint":"/v1/embeddings"}': "1",
      "peak_agents{}": "2",
      "seats{}": "3",
    });

    // and admissions see them: a member tracked by an event is known, gpt-4 has 600 left
    expect(
      (
        await client!.checkAndRecord({
          tenantId,
          resourceType: "active_users",
          dimensions: { user_id: "bob" },
        })
      ).entitlement?.used,
    ).toBe("2");
    const over = await client!.checkAndRecord({
      tenantId,
      resourceType: "tokens",
      quantity: "601",
      dimensions: { model: "gpt-4" },
    });
    expect(over.allowed).toBe(false);
    const fits = await client!.checkAndRecord({
      tenantId,
      resourceType: "tokens",
      quantity: "600",
      dimensions: { model: "gpt-4" },
    });
    expect(fits.allowed).toBe(true);

    // and a retried event changes nothing, an older seat count does not replace a newer one
    await usage().trackUsage({
      events: [
        event("u3", "active_users", "1", { user_id: "bob" }),
        event("s4", "seats", "1", {}, 30),
        event("a3", "peak_agents", "3"),
      ],
    });
    expect(await used()).toMatchObject({
      "active_users{}": "2",
      "seats{}": "3",
      "peak_agents{}": "3",
      'tokens{"model":"gpt-4"}': "1000",
    });
  });

  it("should count each call once on a count meter, keep the maximum, and the latest value", async () => {
    // given a FREE tenant: api_calls count (1000), peak_agents max (3), seats latest (5)
    const tenantId = randomUUID();
    const [client] = entitlements();
    const call = (resourceType: string, quantity: string) =>
      client!.checkAndRecord({ tenantId, resourceType, quantity });

    // when calls arrive
    const counted = await call("api_calls", "25");
    const agents = [await call("peak_agents", "2"), await call("peak_agents", "3")];
    const tooMany = await call("peak_agents", "4");
    const lower = await call("peak_agents", "1");
    const seats = [await call("seats", "4"), await call("seats", "2")];
    const overSeats = await call("seats", "6");

    // then a count counts 1 whatever the quantity; a max keeps 3 and denies 4; latest is 2
    expect(counted.entitlement).toMatchObject({ used: "1", aggregation: Aggregation.COUNT });
    expect(agents.map((r) => [r.allowed, r.entitlement?.used])).toEqual([
      [true, "2"],
      [true, "3"],
    ]);
    expect(tooMany.allowed).toBe(false);
    expect([lower.allowed, lower.entitlement?.used]).toEqual([true, "3"]);
    expect(seats.map((r) => r.entitlement?.used)).toEqual(["4", "2"]);
    expect([overSeats.allowed, overSeats.entitlement?.used]).toEqual([false, "2"]);
  });

  it("should refuse undeclared dimensions, a missing unique_key and holds of a max meter, all at once", async () => {
    const [client] = entitlements();
    const tenantId = randomUUID();

    // an undeclared dimension and a missing member, in one call
    const both = await errorOf(
      client!.checkAndRecord({
        tenantId,
        resourceType: "active_users",
        dimensions: { region: "eu" },
      }),
    );
    expect(both.code).toBe(Code.InvalidArgument);
    expect(both.message).toContain(
      'dimensions["region"]: is not a dimension of the active_users meter',
    );
    expect(both.message).toContain('dimensions["user_id"]: is required');

    // a reservation of a max meter
    const held = await errorOf(
      client!.reserve({ tenantId, resourceType: "peak_agents", quantity: "1" }),
    );
    expect(held.code).toBe(Code.InvalidArgument);
    expect(held.message).toContain("a reservation holds a quantity of a sum or count meter");

    // nothing was recorded
    const { entitlements: all } = await client!.getEntitlements({ tenantId });
    for (const e of all) expect([e.resourceType, e.used]).toEqual([e.resourceType, "0"]);
  });

  it("should hold a reservation on the dimension limit and the total, and end it on both", async () => {
    // given a FREE tenant: tokens 100,000, gpt-4 1,000
    const tenantId = randomUUID();
    const clients = entitlements();
    const gpt4 = { model: "gpt-4" };
    const tokens = async () =>
      (await clients[0]!.getEntitlements({ tenantId })).entitlements
        .filter((e) => e.resourceType === "tokens")
        .map((e) => [e.dimensions, e.used, e.reserved]);

    // when 200 holds of 10 gpt-4 tokens race on two replicas
    const holds = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        clients[i % 2]!.reserve({
          tenantId,
          resourceType: "tokens",
          quantity: "10",
          dimensions: gpt4,
        }),
      ),
    );

    // then exactly 100 are held, on gpt-4 and on the total alike
    const held = holds.filter((h) => h.allowed);
    expect(held).toHaveLength(100);
    expect(await tokens()).toEqual([
      [{}, "0", "1000"],
      [gpt4, "0", "1000"],
    ]);

    // and the total's room counts the holds: 99,000 more fit, one more does not
    const other = (quantity: string) =>
      clients[1]!.checkAndRecord({
        tenantId,
        resourceType: "tokens",
        quantity,
        dimensions: { model: "o3" },
      });
    expect((await other("99001")).allowed).toBe(false);
    expect((await other("99000")).allowed).toBe(true);

    // when half are committed at 4 tokens each and the rest released, on either replica (the
    // tenant named, so a distributed database looks on its node alone)
    await Promise.all(
      held.map((h, i) =>
        i % 2
          ? clients[i % 2]!.commitReservation({
              tenantId,
              reservationId: h.reservationId,
              actualQuantity: "4",
            })
          : clients[i % 2]!.releaseReservation({ tenantId, reservationId: h.reservationId }),
      ),
    );

    // then both counters hold the 200 committed tokens and nothing reserved
    expect(await tokens()).toEqual([
      [{}, "99200", "0"],
      [gpt4, "200", "0"],
    ]);

    // and an expired hold never denies: 800 held for a second, then 800 admitted after it
    const short = await clients[0]!.reserve({
      tenantId,
      resourceType: "tokens",
      quantity: "800",
      ttlSeconds: 1,
      dimensions: gpt4,
    });
    expect(short.allowed).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const after = await clients[1]!.checkAndRecord({
      tenantId,
      resourceType: "tokens",
      quantity: "800",
      dimensions: gpt4,
    });
    expect(after.allowed).toBe(true);
    expect(await tokens()).toEqual([
      [{}, "100000", "0"],
      [gpt4, "1000", "0"],
    ]);
  });

  it("should apply overrides and grants to a dimension limit", async () => {
    const [client] = entitlements();
    const tenantId = randomUUID();

    // given gpt-4 raised to 2000 by an override and 500 more by a grant
    await client!.setEntitlementOverride({
      tenantId,
      resourceType: "tokens",
      dimensions: { model: "gpt-4" },
      limit: "2000",
    });
    await client!.grantCredits({
      tenantId,
      resourceType: "tokens",
      dimensions: { model: "gpt-4" },
      quantity: "500",
    });

    // when 2600 gpt-4 tokens are asked for in 26 calls
    const results = [];
    for (let i = 0; i < 26; i++) {
      results.push(
        await client!.checkAndRecord({
          tenantId,
          resourceType: "tokens",
          quantity: "100",
          dimensions: { model: "gpt-4" },
        }),
      );
    }

    // then 2500 fit, and the entitlement shows where the limit comes from
    expect(results.filter((r) => r.allowed)).toHaveLength(25);
    const gpt4 = (await client!.getEntitlements({ tenantId })).entitlements.find(
      (e) => e.dimensions.model === "gpt-4",
    );
    expect(gpt4).toMatchObject({ used: "2500", included: "2000", granted: "500", limit: "2500" });
    const [override] = (await client!.listEntitlementOverrides({ tenantId })).overrides;
    expect(override).toMatchObject({ resourceType: "tokens", dimensions: { model: "gpt-4" } });
    const bad = await errorOf(
      client!.setEntitlementOverride({
        tenantId,
        resourceType: "tokens",
        dimensions: { model: "gpt-5" },
        limit: "1",
      }),
    );
    expect(bad.code).toBe(Code.InvalidArgument);
  });

  it("should report the same figures from rollups and from events, retries counted once", async () => {
    // given seats (latest), peak agents (max), api calls (count) and tokens in one hour,
    // sent twice as a client's retry would
    const tenantId = randomUUID();
    // (two hours ago: within the late window, and its period still open)
    const hour = (Math.floor(Date.now() / 3_600_000) - 2) * 3_600_000;
    const at = (minute: number) => timestampFromDate(new Date(hour + minute * 60_000));
    const events = [
      { eventId: "s1", resourceType: "seats", quantity: "7", occurTime: at(5) },
      { eventId: "s2", resourceType: "seats", quantity: "4", occurTime: at(50) },
      { eventId: "s3", resourceType: "seats", quantity: "9", occurTime: at(20) },
      { eventId: "a1", resourceType: "peak_agents", quantity: "2", occurTime: at(1) },
      { eventId: "a2", resourceType: "peak_agents", quantity: "6", occurTime: at(40) },
      { eventId: "c1", resourceType: "api_calls", quantity: "30", occurTime: at(2) },
      { eventId: "c2", resourceType: "api_calls", quantity: "1", occurTime: at(59) },
      {
        eventId: "t1",
        resourceType: "tokens",
        quantity: "0.5",
        occurTime: at(3),
        attributes: { model: "m" },
      },
      {
        eventId: "t2",
        resourceType: "tokens",
        quantity: "1.25",
        occurTime: at(33),
        attributes: { model: "m" },
      },
    ].map((e) => ({ ...e, tenantId }));
    await usage().trackUsage({ events });
    const retry = await usage().trackUsage({ events });
    expect(retry.duplicateCount).toBe(BigInt(events.length));

    // when the hour is reported on quarter hours (rollups) and from a minute in (events)
    const report = (startMs: number) =>
      usage().getUsage({
        tenantId,
        startTime: timestampFromDate(new Date(startMs)),
        endTime: timestampFromDate(new Date(hour + 3_600_000)),
        granularity: Granularity.HOUR,
      });
    const show = (r: { totals: { resourceType: string; quantity: string }[] }) =>
      r.totals.map((t) => `${t.resourceType}=${t.quantity}`);
    const fromRollups = await report(hour);
    const fromEvents = await report(hour - 60_000);

    // then both say the same: the latest seat count, the peak, the number of calls, the sum
    const expected = ["api_calls=2", "peak_agents=6", "seats=4", "tokens=1.75"];
    expect(show(fromRollups)).toEqual(expected);
    expect(show(fromEvents)).toEqual(expected);
    expect(fromRollups.series.map((b) => b.quantity)).toEqual(["2", "6", "4", "1.75"]);
  });
});

// Days around New York's change to daylight-saving time (2026-03-08) and Kolkata's midnight:
// usage that old is past the late window today, so this server's business clock stands on
// 2026-03-10, when it was recent.
describe("Usage reports by group and time zone", () => {
  let db: TestDatabase;
  let app: TestApp;
  const usage = () => grpcClient(UsageService, app.baseUrl);

  beforeAll(async () => {
    db = await createTestDatabase();
    app = await startTestApp(
      db.url,
      { clock: createManualClock(new Date("2026-03-10T12:00:00Z")) },
      { PLAN_CATALOG_PATH: CATALOG },
    );
  });

  afterAll(async () => {
    await app?.stop();
    await db?.drop();
  });

  it("should group usage by dimension, filter it, and bucket it in a time zone", async () => {
    const tenantId = randomUUID();
    // events around midnight in Kolkata (UTC+5:30) and across New York's DST change
    const events = [
      ["e1", "2026-03-07T18:00:00Z", "gpt-4", "u1", "10"],
      ["e2", "2026-03-07T19:00:00Z", "gpt-4o-mini", "u2", "20"],
      ["e3", "2026-03-08T04:00:00Z", "gpt-4", "u1", "30"],
      ["e4", "2026-03-08T08:00:00Z", "gpt-4", "u3", "40"],
      ["e5", "2026-03-09T05:30:00Z", "gpt-4o-mini", "u1", "50"],
    ] as const;
    await usage().trackUsage({
      events: events.flatMap(([id, time, model, user, quantity]) => [
        {
          eventId: `${id}t`,
          tenantId,
          resourceType: "tokens",
          quantity,
          occurTime: timestampFromDate(new Date(time)),
          attributes: { model, user_id: user },
        },
        {
          eventId: `${id}u`,
          tenantId,
          resourceType: "active_users",
          quantity: "1",
          occurTime: timestampFromDate(new Date(time)),
          attributes: { user_id: user, model },
        },
      ]),
    });
    const range = {
      tenantId,
      startTime: timestampFromDate(new Date("2026-03-01T00:00:00Z")),
      endTime: timestampFromDate(new Date("2026-04-01T00:00:00Z")),
    };
    const show = (r: {
      resourceType: string;
      quantity: string;
      dimensions: Record<string, string>;
    }) => `${r.resourceType}${JSON.stringify(r.dimensions)}=${r.quantity}`;

    // by model, in days of Kolkata: 18:00Z and 19:00Z on the 7th are the 7th and the 8th there
    const byModel = await usage().getUsage({
      ...range,
      resourceType: "tokens",
      groupBy: ["model"],
      timeZone: "Asia/Kolkata",
      granularity: Granularity.DAY,
    });
    expect(byModel.totals.map(show)).toEqual([
      'tokens{"model":"gpt-4"}=80',
      'tokens{"model":"gpt-4o-mini"}=70',
    ]);
    expect(byModel.series.map((b) => `${b.startTime?.seconds}:${show(b)}`)).toEqual([
      `${Date.parse("2026-03-06T18:30:00Z") / 1000}:tokens{"model":"gpt-4"}=10`,
      `${Date.parse("2026-03-07T18:30:00Z") / 1000}:tokens{"model":"gpt-4"}=70`,
      `${Date.parse("2026-03-07T18:30:00Z") / 1000}:tokens{"model":"gpt-4o-mini"}=20`,
      `${Date.parse("2026-03-08T18:30:00Z") / 1000}:tokens{"model":"gpt-4o-mini"}=50`,
    ]);

    // days in New York: the 8th (DST starts) is 23 hours long, and buckets follow its clock
    const newYork = await usage().getUsage({
      ...range,
      resourceType: "tokens",
      timeZone: "America/New_York",
      granularity: Granularity.DAY,
    });
    expect(
      newYork.series.map((b) => new Date(Number(b.startTime?.seconds) * 1000).toISOString()),
    ).toEqual(["2026-03-07T05:00:00.000Z", "2026-03-08T05:00:00.000Z", "2026-03-09T04:00:00.000Z"]);
    expect(newYork.series.map((b) => b.quantity)).toEqual(["60", "40", "50"]);

    // a month's distinct users are not the sum of its days', and a filter keeps gpt-4 only
    const users = await usage().getUsage({
      ...range,
      resourceType: "active_users",
      granularity: Granularity.MONTH,
    });
    expect(users.totals.map(show)).toEqual(["active_users{}=3"]);
    expect(users.series.map(show)).toEqual(["active_users{}=3"]);
    const daily = await usage().getUsage({ ...range, resourceType: "active_users" });
    expect(daily.series.map((b) => b.quantity)).toEqual(["2", "2", "1"]);
    const filtered = await usage().getUsage({
      ...range,
      filter: { model: "gpt-4" },
      granularity: Granularity.MONTH,
    });
    expect(filtered.totals.map(show)).toEqual(["active_users{}=2", "tokens{}=80"]);

    // ungrouped totals are the sum of grouped ones for a sum meter
    const whole = await usage().getUsage({ ...range, resourceType: "tokens" });
    expect(whole.totals.map(show)).toEqual(["tokens{}=150"]);

    // bad queries are refused with every problem at once
    const bad = await errorOf(
      usage().getUsage({ ...range, groupBy: ["model", "model"], timeZone: "Mars/Olympus" }),
    );
    expect(bad.code).toBe(Code.InvalidArgument);
    expect(bad.message).toContain("group_by: must not name an attribute twice");
    expect(bad.message).toContain("time_zone: must be an IANA time zone");
  });
});
