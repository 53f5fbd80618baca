/**
 * `npm run bench:tracker`: the client's UsageTracker end to end (track() in a tight loop, then
 * flush) next to a raw StreamUsage client sending the same events on the same server, one
 * stream at a time, as the tracker does. Both build their events (UUIDv7 id, time) inside the
 * clock. The tracker must not be the bottleneck: at least 0.8 of the raw client's rate.
 *
 * Needs TEST_DATABASE_URL (a superuser URL; a scratch database is created and dropped).
 * Tunables: BENCH_TRACKER_EVENTS (200,000).
 */
import { randomUUID } from "node:crypto";
import { availableParallelism } from "node:os";
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  createTollgateClient,
  type StreamUsageRequest,
  StreamUsageRequestSchema,
  UsageEventSchema,
  UsageTracker,
} from "@tollgate/client";
import pg from "pg";
import { v7 as uuidv7 } from "uuid";
import { runBenchmark } from "./bench-server.js";

const EVENTS = Number(process.env.BENCH_TRACKER_EVENTS ?? 200_000);
const EVENTS_PER_STREAM = 5_000;
const EVENTS_PER_MESSAGE = 500;

runBenchmark({}, async ({ server, databaseUrl }) => {
  const client = createTollgateClient({ baseUrl: server.baseUrl });
  const rawTenant = randomUUID();
  const trackerTenant = randomUUID();
  console.log(
    `${availableParallelism()} cores shared by the server, PostgreSQL and this client; ${EVENTS.toLocaleString("en")} events each way, one stream at a time\n`,
  );

  // The reference: events built and streamed in calls of 5,000, messages of 500.
  const rawStart = performance.now();
  for (let sent = 0; sent < EVENTS; sent += EVENTS_PER_STREAM) {
    const messages: StreamUsageRequest[] = [];
    for (let m = sent; m < Math.min(EVENTS, sent + EVENTS_PER_STREAM); m += EVENTS_PER_MESSAGE) {
      const events = [];
      for (let i = m; i < Math.min(EVENTS, m + EVENTS_PER_MESSAGE); i++) {
        events.push(
          create(UsageEventSchema, {
            eventId: uuidv7(),
            tenantId: rawTenant,
            resourceType: "api_calls",
            quantity: "1",
            occurTime: timestampFromDate(new Date()),
          }),
        );
      }
      messages.push(create(StreamUsageRequestSchema, { events }));
    }
    await client.usage.streamUsage(
      (async function* () {
        yield* messages;
      })(),
    );
  }
  const rawRate = EVENTS / ((performance.now() - rawStart) / 1000);

  // The tracker as the quick reference uses it: batches of 100, a tight track() loop.
  const tracker = new UsageTracker(client, { batchSize: 100 });
  const trackerStart = performance.now();
  for (let i = 0; i < EVENTS; i++) await tracker.track(trackerTenant, "api_calls");
  const acknowledged = await tracker.flush();
  const trackerRate = EVENTS / ((performance.now() - trackerStart) / 1000);

  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  const { rows } = await db.query<{ tenant_id: string; n: number }>(
    "select tenant_id, count(*)::int as n from usage_events group by tenant_id",
  );
  await db.end();
  const stored = new Map(rows.map((row) => [row.tenant_id, row.n]));
  const exact =
    stored.get(rawTenant) === EVENTS &&
    stored.get(trackerTenant) === EVENTS &&
    acknowledged === EVENTS;
  const ratio = trackerRate / rawRate;
  console.log("| figure | events/s | ratio | target |\n|---|---|---|---|");
  console.log(`| raw StreamUsage client | ${rawRate.toFixed(0)} | | the reference |`);
  console.log(`| UsageTracker | ${trackerRate.toFixed(0)} | ${ratio.toFixed(2)}× | ≥ 0.8× |`);
  console.log(
    `\nstored ${stored.get(rawTenant) ?? 0} + ${stored.get(trackerTenant) ?? 0} events, tracker acknowledged ${acknowledged}: ${exact ? "exact" : "INEXACT"}`,
  );
  if (!exact) process.exitCode = 1;
});
