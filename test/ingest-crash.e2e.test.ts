import { randomUUID } from "node:crypto";
import { Decimal } from "decimal.js";
import knex, { type Knex } from "knex";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UsageService } from "../gen/tollgate/v1/usage_service_pb.js";
import { createUsageStore } from "../src/usage/store.js";
import type { UsageEvent } from "../src/usage/usage.js";
import { queryRows } from "./support/app.js";
import { grpcClient } from "./support/clients.js";
import { createMigratedDatabase, type TestDatabase } from "./support/database.js";
import { startServerProcess } from "./support/server-process.js";
import { startTcpProxy } from "./support/tcp-proxy.js";
import {
  asStrings,
  counterTotals,
  makeEvents,
  storedTotals,
  stream,
} from "./support/usage-events.js";
import { waitFor } from "./support/wait.js";

/*
 * The crash-safety argument of src/usage/README.md, step by step: a flush killed before its
 * COMMIT leaves nothing, one killed after leaves everything, and the client's retry with the
 * same event ids makes the totals exact either way; a COMMIT whose answer is lost is settled
 * by asking PostgreSQL whether it committed.
 */

const MONTH = new Date(Date.UTC(2026, 11, 1));

function usageEvents(tenantId: string, count: number): UsageEvent[] {
  return Array.from({ length: count }, (_, i) => ({
    tenantId,
    eventId: `e-${i}`,
    resourceType: "tokens",
    quantity: "1.5",
    occurTime: new Date(MONTH.getTime() + i),
    attributes: {},
    periodStart: MONTH,
  }));
}

describe("usage flushes whose COMMIT gets no answer", () => {
  let db: TestDatabase;
  let proxy: Awaited<ReturnType<typeof startTcpProxy>>;
  let viaProxy: Knex;

  beforeAll(async () => {
    db = await createMigratedDatabase();
    const target = new URL(db.url);
    proxy = await startTcpProxy(target.hostname, Number(target.port || 5432));
    const url = new URL(db.url);
    url.hostname = "127.0.0.1";
    url.port = String(proxy.port);
    viaProxy = knex({ client: "pg", connection: url.toString(), pool: { min: 0, max: 2 } });
  });
  afterAll(async () => {
    await viaProxy?.destroy();
    await proxy?.close();
    await db?.drop();
  });

  const storeOverProxy = () =>
    createUsageStore(viaProxy, "postgres", {
      pool: viaProxy,
      canceller: viaProxy,
      timeoutMs: 10_000,
    });

  const totals = async (tenantId: string) => {
    const [events] = await queryRows<{ n: number; total: string }>(
      db.url,
      "select count(*)::int as n, coalesce(sum(quantity), 0)::text as total from usage_events where tenant_id = $1",
      [tenantId],
    );
    const [counter] = await queryRows<{ used: string }>(
      db.url,
      "select used::text from usage_counters where tenant_id = $1",
      [tenantId],
    );
    const exact = (value: string | undefined) => new Decimal(value ?? "0").toFixed();
    return { events: events?.n, total: exact(events?.total), used: exact(counter?.used) };
  };

  it.each([
    ["reached PostgreSQL and committed, its answer cut", "deliver"],
    ["never reached PostgreSQL", "drop"],
  ] as const)(
    "should count each event once, as stored not duplicate, when the lost COMMIT %s",
    async (_, mode) => {
      // given a flush whose COMMIT is cut
      const store = storeOverProxy();
      const tenantId = randomUUID();
      const events = usageEvents(tenantId, 40);
      proxy.cutAtCommit(mode);
      await expect(store.flush(events)).rejects.toThrow();
      proxy.resume();

      // when the batcher retries the same batch
      const duplicates = await store.flush(events);

      // then its events count as stored by this flush, once each
      expect(duplicates.size).toBe(0);
      expect(await totals(tenantId)).toEqual({ events: 40, total: "60", used: "60" });
    },
  );

  it("should still report a real duplicate when a later batch repeats committed events", async () => {
    // given events stored by an earlier flush
    const store = storeOverProxy();
    const tenantId = randomUUID();
    const events = usageEvents(tenantId, 10);
    await store.flush(events);

    // when another batch (a client's retry) repeats half of them with new ones
    const retry = [...events.slice(5), ...usageEvents(tenantId, 15).slice(10)];
    const duplicates = await store.flush(retry);

    // then exactly the repeats are duplicates and only the new ones count
    expect(duplicates.size).toBe(5);
    expect(await totals(tenantId)).toEqual({ events: 15, total: "22.5", used: "22.5" });
  });
});

describe("usage flushes killed between their steps", () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createMigratedDatabase();
  });
  afterAll(async () => {
    await db?.drop();
  });

  /** Holds `sql`'s locks in an open transaction until `release` is called. */
  async function holdLock(sql: string, params: unknown[] = []) {
    const client = new pg.Client({ connectionString: db.url });
    client.on("error", () => undefined);
    await client.connect();
    await client.query("begin");
    await client.query(sql, params);
    return async () => {
      await client.query("rollback");
      await client.end();
    };
  }

  // Whether a statement matching `pattern` (ILIKE) waits for a lock now.
  const waitingOn = async (pattern: string) =>
    ((
      await queryRows<{ n: number }>(
        db.url,
        `select count(*)::int as n from pg_stat_activity
         where wait_event_type = 'Lock' and query ilike $1`,
        [pattern],
      )
    )[0]?.n ?? 0) > 0;

  // Streams `events` into a server, kills it with SIGKILL once `stuck` says its flush reached
  // the step under test, then retries the whole stream on a new server.
  async function killAndRetry(
    tenants: string[],
    count: number,
    hold: () => Promise<() => Promise<void>>,
    stuck: () => Promise<boolean>,
  ) {
    const { events, expected } = makeEvents(count, tenants, 0.1);
    const release = await hold();
    try {
      const first = await startServerProcess({ DATABASE_URL: db.url });
      const attempt = stream(first.baseUrl, events).then(
        () => "acknowledged",
        () => "failed",
      );
      await waitFor(stuck, 20_000);
      await first.stop("SIGKILL");
      expect(await attempt).toBe("failed");
    } finally {
      await release();
    }

    const second = await startServerProcess({ DATABASE_URL: db.url });
    try {
      await stream(second.baseUrl, events);
      expect(await storedTotals(db.url, tenants)).toEqual(asStrings(expected));
      expect(await counterTotals(db.url, tenants)).toEqual(asStrings(expected));
    } finally {
      await second.stop();
    }
  }

  it("should leave nothing when killed while its COPY waits, and count once on retry", async () => {
    const tenants = [randomUUID(), randomUUID()];
    await killAndRetry(
      tenants,
      600,
      () => holdLock("lock table usage_events in share mode"),
      () => waitingOn("copy usage_events %"),
    );
  });

  it("should leave nothing when killed after its COPY, while it counts, and count once on retry", async () => {
    // given the tenants' counters of this month, empty, so the test can hold them
    const tenants = [randomUUID(), randomUUID()];
    await queryRows(
      db.url,
      `insert into usage_counters (tenant_id, resource_type, period_start, used, reserved)
       select t, 'tokens', date_trunc('month', now() at time zone 'utc') at time zone 'utc', 0, 0
       from unnest($1::uuid[]) t`,
      [tenants],
    );
    await killAndRetry(
      tenants,
      600,
      () =>
        holdLock("select 1 from usage_counters where tenant_id = any($1) for update", [tenants]),
      () => waitingOn("%with sums as (%"),
    );
  });

  it("should keep everything when killed after COMMIT, before the acknowledgement, and count once on retry", async () => {
    // given a stream whose events are flushed and committed while the stream is still open
    const tenants = [randomUUID()];
    const { events, expected } = makeEvents(300, tenants, 0.1);
    const first = await startServerProcess({ DATABASE_URL: db.url });
    let close = () => {};
    const open = new Promise<void>((resolve) => {
      close = resolve;
    });
    const call = grpcClient(UsageService, first.baseUrl).streamUsage(
      (async function* () {
        yield { events };
        await open;
      })(),
    );
    const attempt = call.then(
      () => "acknowledged",
      () => "failed",
    );
    await waitFor(
      async () => (await storedTotals(db.url, tenants)).get(tenants[0] as string) !== undefined,
      20_000,
    );
    await first.stop("SIGKILL");
    close();
    expect(await attempt).toBe("failed");

    // when the client retries on a new server
    const second = await startServerProcess({ DATABASE_URL: db.url });
    try {
      const summary = await stream(second.baseUrl, events);
      // then every event was already stored, and the totals are exact
      expect(summary.acceptedCount).toBe(0n);
      expect(await storedTotals(db.url, tenants)).toEqual(asStrings(expected));
      expect(await counterTotals(db.url, tenants)).toEqual(asStrings(expected));
    } finally {
      await second.stop();
    }
  });
});
