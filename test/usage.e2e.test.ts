import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { Client } from "@connectrpc/connect";
import { Code } from "@connectrpc/connect";
import { Decimal } from "decimal.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EntitlementService } from "../gen/tollgate/v1/entitlement_service_pb.js";
import { Granularity, UsageService } from "../gen/tollgate/v1/usage_service_pb.js";
import { queryRows } from "./support/app.js";
import { errorOf, grpcClient } from "./support/clients.js";
import { createTestDatabase, type TestDatabase } from "./support/database.js";
import { type ServerProcess, startServerProcess } from "./support/server-process.js";
import { startServerBehindProxy } from "./support/tcp-proxy.js";
import {
  asStrings,
  chunk,
  counterTotals,
  type Event,
  makeEvents,
  storedTotals,
  stream,
} from "./support/usage-events.js";

describe("UsageService ingestion (server as a child process)", () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase();
  });

  afterAll(async () => {
    await db?.drop();
  });

  it("should store 50,000 streamed events exactly once, with repeats and whole-stream retries", async () => {
    // given 50,000 events, 10% of them repeats, over ten streams of which three are sent twice
    const server = await startServerProcess({ DATABASE_URL: db.url });
    try {
      const tenants = Array.from({ length: 5 }, () => randomUUID());
      const { events, expected } = makeEvents(50_000, tenants, 0.1);
      const streams = chunk(events, 5_000);

      // when they are streamed concurrently, and three streams are retried whole
      const summaries = await Promise.all([
        ...streams.map((s) => stream(server.baseUrl, s)),
        ...streams.slice(0, 3).map((s) => stream(server.baseUrl, s)),
      ]);

      // then every distinct event counts once, in the events and in the counters
      const sent = summaries.reduce((n, s) => n + s.acceptedCount + s.duplicateCount, 0n);
      const accepted = summaries.reduce((n, s) => n + s.acceptedCount, 0n);
      expect(sent).toBe(BigInt(50_000 + 15_000));
      expect(accepted).toBe(BigInt(new Set(events.map((e) => e.eventId)).size));
      expect(await storedTotals(db.url, tenants)).toEqual(asStrings(expected));
      expect(await counterTotals(db.url, tenants)).toEqual(asStrings(expected));
    } finally {
      await server.stop();
    }
  });

  it("should lose nothing and double nothing when killed mid-stream and the client retries", async () => {
    // given streams in progress on a server that is killed with SIGKILL
    const tenants = Array.from({ length: 3 }, () => randomUUID());
    const { events, expected } = makeEvents(8_000, tenants, 0.1);
    const streams = chunk(events, 2_000);
    const first = await startServerProcess({ DATABASE_URL: db.url });
    const attempts = streams.map((s) =>
      stream(first.baseUrl, s, 100, 10).then(
        () => "acknowledged" as const,
        () => "failed" as const,
      ),
    );
    await sleep(150);
    await first.stop("SIGKILL");
    const outcomes = await Promise.all(attempts);

    // when a new server starts and the client retries every unacknowledged stream
    const second = await startServerProcess({ DATABASE_URL: db.url });
    try {
      await Promise.all(
        streams.map((s, i) =>
          outcomes[i] === "acknowledged" ? undefined : stream(second.baseUrl, s),
        ),
      );

      // then the totals are exact
      expect(outcomes).toContain("failed");
      expect(await storedTotals(db.url, tenants)).toEqual(asStrings(expected));
      expect(await counterTotals(db.url, tenants)).toEqual(asStrings(expected));
    } finally {
      await second.stop();
    }
  });

  it("should answer Unavailable while PostgreSQL is unreachable and recover exactly", async () => {
    // given a server whose database connection runs through a proxy that can be cut
    const { proxy, server } = await startServerBehindProxy(db.url, {
      USAGE_FLUSH_FAIL_AFTER_SECONDS: "1",
    });
    try {
      const tenantId = randomUUID();
      const client = grpcClient(UsageService, server.baseUrl);
      await client.trackUsage({
        events: [{ eventId: "warm", tenantId, resourceType: "tokens", quantity: "1" }],
      });
      const batch = Array.from({ length: 50 }, (_, i) => ({
        eventId: `cut-${i}`,
        tenantId,
        resourceType: "tokens",
        quantity: "2",
      }));

      // when the database becomes unreachable
      proxy.cut();
      const error = await errorOf(client.trackUsage({ events: batch }));

      // then the caller is told to retry
      expect(error?.code).toBe(Code.Unavailable);

      // and once it is back, retrying the same events stores each exactly once
      proxy.resume();
      let retried: Awaited<ReturnType<typeof client.trackUsage>> | undefined;
      for (let i = 0; i < 20 && retried === undefined; i++) {
        retried = await client.trackUsage({ events: batch }).catch(async () => {
          await sleep(250);
          return undefined;
        });
      }
      expect((retried?.acceptedCount ?? 0n) + (retried?.duplicateCount ?? 0n)).toBe(50n);
      expect(await storedTotals(db.url, [tenantId])).toEqual(new Map([[tenantId, "101"]]));
      expect(await counterTotals(db.url, [tenantId])).toEqual(new Map([[tenantId, "101"]]));
    } finally {
      await server.stop();
      await proxy.close();
    }
  });

  it("should bound the buffer: unary calls get ResourceExhausted when it stays full", async () => {
    // given a server holding at most 100 events, whose database stops answering
    const { proxy, server } = await startServerBehindProxy(db.url, {
      USAGE_BUFFER_LIMIT: "100",
      USAGE_FLUSH_FAIL_AFTER_SECONDS: "30",
    });
    try {
      const tenantId = randomUUID();
      const client = grpcClient(UsageService, server.baseUrl);
      const events = (prefix: string, n: number) =>
        Array.from({ length: n }, (_, i) => ({
          eventId: `${prefix}-${i}`,
          tenantId,
          // An allocation: its counter needs no plan lookup, which would fail with the database.
          resourceType: "storage_mb",
          quantity: "1",
        }));
      await client.trackUsage({ events: events("warm", 1) });
      proxy.cut();

      // when 100 events fill the buffer and 50 more arrive
      const filling = client.trackUsage({ events: events("fill", 100) });
      await sleep(200);
      const started = Date.now();
      const overflow = await errorOf(client.trackUsage({ events: events("over", 50) }));

      // then the extra call waited briefly and was refused with a retry hint, within the bound
      expect(overflow?.code).toBe(Code.ResourceExhausted);
      expect(Date.now() - started).toBeGreaterThanOrEqual(1_900);
      const stats = await client.getIngestStats({});
      expect(stats.bufferSize).toBe(100n);

      // and once the database is back the buffered events are stored and acknowledged
      proxy.resume();
      const filled = await filling;
      expect(filled.acceptedCount).toBe(100n);
      expect(await storedTotals(db.url, [tenantId])).toEqual(new Map([[tenantId, "101"]]));
    } finally {
      await server.stop();
      await proxy.close();
    }
  });

  it("should store every acknowledged event when stopped with SIGTERM during streams", async () => {
    // given streams in progress
    const tenants = [randomUUID()];
    const server = await startServerProcess({
      DATABASE_URL: db.url,
      SHUTDOWN_TIMEOUT_SECONDS: "5",
    });
    const { events } = makeEvents(6_000, tenants, 0.01);
    const streams = chunk(events, 1_000);
    const outcomes = streams.map((s) =>
      stream(server.baseUrl, s, 100, 10).then(
        (summary) => summary,
        () => undefined,
      ),
    );

    // when the server is told to stop while they run
    await sleep(50);
    expect(await server.stop("SIGTERM")).toBe(0);

    // then every stream it acknowledged is stored in full
    const results = await Promise.all(outcomes);
    expect(results.filter(Boolean).length).toBeGreaterThan(0);
    for (const [i, summary] of results.entries()) {
      if (summary === undefined) continue;
      const ids = [...new Set((streams[i] as Event[]).map((e) => e.eventId))];
      const [row] = await queryRows<{ n: number }>(
        db.url,
        "select count(*)::int as n from usage_events where tenant_id = $1 and event_id = any($2)",
        [tenants[0], ids],
      );
      expect(row?.n).toBe(ids.length);
    }
  });
});

describe("UsageService semantics", () => {
  let db: TestDatabase;
  let server: ServerProcess;
  let usage: Client<typeof UsageService>;

  beforeAll(async () => {
    db = await createTestDatabase();
    server = await startServerProcess({ DATABASE_URL: db.url });
    usage = grpcClient(UsageService, server.baseUrl);
  });

  afterAll(async () => {
    await server?.stop();
    await db?.drop();
  });

  it("should reject invalid events one by one and store the valid ones", async () => {
    const tenantId = randomUUID();
    const future = timestampFromDate(new Date(Date.now() + 10 * 60_000));
    async function* messages() {
      yield {
        events: [
          { eventId: "ok-1", tenantId, resourceType: "executions", quantity: "1" },
          { eventId: "", tenantId, resourceType: "executions" },
          { eventId: "bad-tenant", tenantId: "nope", resourceType: "executions" },
        ],
      };
      yield {
        events: [
          { eventId: "bad-resource", tenantId, resourceType: "gpus" },
          { eventId: "bad-quantity", tenantId, resourceType: "tokens", quantity: "NaN" },
          { eventId: "negative", tenantId, resourceType: "tokens", quantity: "-5" },
          { eventId: "future", tenantId, resourceType: "tokens", occurTime: future },
          { eventId: "x".repeat(129), tenantId, resourceType: "tokens" },
          {
            eventId: "attrs",
            tenantId,
            resourceType: "tokens",
            attributes: { ["k".repeat(65)]: "v" },
          },
          { eventId: "ok-2", tenantId, resourceType: "agents", quantity: "-1" },
        ],
      };
    }
    const summary = await usage.streamUsage(messages());
    expect(summary.acceptedCount).toBe(2n);
    expect(summary.rejectedCount).toBe(8n);
    expect(summary.rejectedEvents.map((r) => [r.eventIndex, r.reason.split(":")[0]])).toEqual([
      [1, "event_id"],
      [2, "tenant_id"],
      [3, "resource_type"],
      [4, "quantity"],
      [5, "quantity"],
      [6, "occur_time"],
      [7, "event_id"],
      [8, 'attributes["kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk"]'],
    ]);
    const stored = await queryRows<{ event_id: string }>(
      db.url,
      "select event_id from usage_events where tenant_id = $1 order by event_id",
      [tenantId],
    );
    expect(stored.map((r) => r.event_id)).toEqual(["ok-1", "ok-2"]);
  });

  it("should store ids and attributes exactly, with the characters COPY escapes", async () => {
    // given text with tabs, line breaks, backslashes and more than one script
    const tenantId = randomUUID();
    const attributes = { "path\\to": "a\tb\nc\rd\\e \\N ✓ 😀", model: "\\.", empty: "" };
    const events = [
      { eventId: "back\\slash\\N", tenantId, resourceType: "tokens", quantity: "2", attributes },
      { eventId: "✓ 😀 id", tenantId, resourceType: "tokens", quantity: "3", attributes: {} },
    ];

    // when they are tracked, then tracked again
    const client = grpcClient(UsageService, server.baseUrl);
    const first = await client.trackUsage({ events });
    const again = await client.trackUsage({ events });

    // then they are stored byte for byte, and the repeat is recognised as such
    expect([first.acceptedCount, again.duplicateCount]).toEqual([2n, 2n]);
    const rows = await queryRows<{ event_id: string; attributes: unknown; quantity: string }>(
      db.url,
      "select event_id, attributes, quantity::text from usage_events where tenant_id = $1 order by quantity",
      [tenantId],
    );
    expect(rows).toEqual([
      { event_id: "back\\slash\\N", attributes, quantity: "2" },
      { event_id: "✓ 😀 id", attributes: {}, quantity: "3" },
    ]);
  });

  it("should land streamed usage in the counters CheckAndRecord reads", async () => {
    const tenantId = randomUUID();
    const events = Array.from({ length: 100 }, (_, i) => ({
      eventId: `exec-${i}`,
      tenantId,
      resourceType: "executions",
      quantity: "1",
    }));
    await stream(server.baseUrl, events, 30);
    const entitlements = grpcClient(EntitlementService, server.baseUrl);
    const check = await entitlements.checkAndRecord({ tenantId, resourceType: "executions" });
    expect(check.allowed).toBe(false);
    expect(check.entitlement?.used).toBe("100");
  });

  it("should report totals and hourly and daily series that sum to them, late events included", async () => {
    // given events spread over three hours of yesterday and one that arrives 20 hours late
    // (in last month's period at the start of a month: a period stays open for 24 hours)
    const tenantId = randomUUID();
    const now = new Date();
    const yesterday = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() - 1, 9);
    const late = new Date(now.getTime() - 20 * 3_600_000);
    const events = [
      ...Array.from({ length: 30 }, (_, i) => ({
        eventId: `t-${i}`,
        tenantId,
        resourceType: i % 2 ? "tokens" : "api_calls",
        quantity: i % 2 ? "12.5" : "1",
        occurTime: timestampFromDate(new Date(yesterday + (i % 3) * 3_600_000 + i * 1000)),
      })),
      {
        eventId: "late",
        tenantId,
        resourceType: "tokens",
        quantity: "7",
        occurTime: timestampFromDate(late),
      },
    ];
    await usage.trackUsage({ events });

    // when usage is read by hour and by day over the last 70 days
    const range = {
      tenantId,
      startTime: timestampFromDate(new Date(now.getTime() - 70 * 86_400_000)),
      endTime: timestampFromDate(now),
    };
    const hourly = await usage.getUsage({ ...range, granularity: Granularity.HOUR });
    const daily = await usage.getUsage({ ...range, granularity: Granularity.DAY });
    const tokensOnly = await usage.getUsage({
      ...range,
      resourceType: "tokens",
      granularity: Granularity.DAY,
    });

    // then totals are exact and each series sums to them
    const plain = (totals: { resourceType: string; quantity: string }[]) =>
      totals.map((t) => [t.resourceType, t.quantity]).sort();
    expect(plain(hourly.totals)).toEqual([
      ["api_calls", "15"],
      ["tokens", "194.5"],
    ]);
    expect(plain(daily.totals)).toEqual(plain(hourly.totals));
    for (const report of [hourly, daily]) {
      for (const total of report.totals) {
        const sum = report.series
          .filter((b) => b.resourceType === total.resourceType)
          .reduce((acc, b) => acc.plus(b.quantity), new Decimal(0));
        expect(sum.toFixed()).toBe(total.quantity);
      }
    }
    expect(hourly.series.filter((b) => b.resourceType === "api_calls")).toHaveLength(3);
    expect(plain(tokensOnly.totals)).toEqual([["tokens", "194.5"]]);

    // and the late event counted in the period it happened in
    const { events: stored } = await usage.listUsageEvents({ tenantId, pageSize: 100 });
    const lateEvent = stored.find((e) => e.event?.eventId === "late");
    expect(Number(lateEvent?.periodStartTime?.seconds) * 1000).toBe(
      Date.UTC(late.getUTCFullYear(), late.getUTCMonth(), 1),
    );
  });

  it("should refuse a bad usage query with every problem listed", async () => {
    const error = await errorOf(
      usage.getUsage({ tenantId: "x", resourceType: "gpus", granularity: 7 as Granularity }),
    );
    expect(error?.code).toBe(Code.InvalidArgument);
    expect(error?.rawMessage).toMatch(
      /tenant_id.*resource_type.*granularity.*start_time.*end_time/,
    );
  });

  it("should report ingest statistics over the RPC and on /metrics", async () => {
    const stats = await usage.getIngestStats({});
    expect(stats.trackedCount).toBeGreaterThan(0n);
    expect(stats.flushedCount).toBeGreaterThan(0n);
    expect(stats.rejectedCount).toBe(8n);
    expect(stats.batchCount).toBeGreaterThan(0n);
    expect(stats.bufferSize).toBe(0n);
    expect(stats.lastFlushTime).toBeDefined();
    const metrics = await (await fetch(`${server.baseUrl}/metrics`)).text();
    expect(metrics).toContain(`tollgate_usage_ingest{stat="flushed"} ${stats.flushedCount}`);
    expect(metrics).toContain('tollgate_usage_ingest{stat="buffer_size"} 0');
  });
});
