/**
 * `npm run bench:ingest`: usage events through StreamUsage into real PostgreSQL (dedupe on),
 * next to COPY of the same rows into the same table shape (the database's own ceiling).
 *
 * Needs TEST_DATABASE_URL (a superuser URL; a scratch database is created and dropped).
 * Tunables: BENCH_EVENTS (1,000,000), BENCH_STREAMS (8 concurrent), BENCH_STREAM_EVENTS
 * (events per StreamUsage call, 5,000), BENCH_MESSAGE_EVENTS (events per message, 500).
 */
import { randomUUID } from "node:crypto";
import { availableParallelism } from "node:os";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import pg from "pg";
import { from as copyFrom } from "pg-copy-streams";
import {
  type StreamUsageRequest,
  StreamUsageRequestSchema,
  UsageService,
} from "../../gen/tollgate/v1/usage_service_pb.js";
import { runBenchmark } from "./bench-server.js";
import { peakRssMiB, percentile } from "./measure.js";

const EVENTS = Number(process.env.BENCH_EVENTS ?? 1_000_000);
const STREAMS = Number(process.env.BENCH_STREAMS ?? 8);
const STREAM_EVENTS = Number(process.env.BENCH_STREAM_EVENTS ?? 5_000);
const MESSAGE_EVENTS = Number(process.env.BENCH_MESSAGE_EVENTS ?? 500);
const TENANTS = 100;

runBenchmark({}, async ({ server, databaseUrl }) => {
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    console.log(
      `${availableParallelism()} cores shared by the server, PostgreSQL and this client; ${EVENTS.toLocaleString("en")} events, ${STREAMS} concurrent streams of ${STREAM_EVENTS} events in messages of ${MESSAGE_EVENTS}\n`,
    );
    // The requests are built before the clock starts, so the client's own cost is encoding only.
    const tenants = Array.from({ length: TENANTS }, () => randomUUID());
    const occurTime = timestampFromDate(new Date());
    const messages: StreamUsageRequest[] = [];
    for (let start = 0; start < EVENTS; start += MESSAGE_EVENTS) {
      const events = [];
      for (let i = start; i < Math.min(EVENTS, start + MESSAGE_EVENTS); i++) {
        events.push({
          eventId: `evt-${i}`,
          tenantId: tenants[i % TENANTS] as string,
          resourceType: i % 2 ? "tokens" : "api_calls",
          quantity: i % 2 ? "1500" : "1",
          occurTime,
          attributes: { model: "gpt-4" },
        });
      }
      messages.push(create(StreamUsageRequestSchema, { events }));
    }
    const perStream = Math.max(1, Math.round(STREAM_EVENTS / MESSAGE_EVENTS));
    const calls: StreamUsageRequest[][] = [];
    for (let i = 0; i < messages.length; i += perStream)
      calls.push(messages.slice(i, i + perStream));

    const client = createClient(UsageService, createGrpcTransport({ baseUrl: server.baseUrl }));
    const ackMs: number[] = [];
    let next = 0;
    let accepted = 0n;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: STREAMS }, async () => {
        for (let call = calls[next++]; call !== undefined; call = calls[next++]) {
          let ended = 0;
          const batch = call;
          const summary = await client.streamUsage(
            (async function* () {
              yield* batch;
              ended = performance.now();
            })(),
          );
          ackMs.push(performance.now() - ended);
          accepted += summary.acceptedCount;
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    const rate = EVENTS / seconds;
    const sortedAcks = ackMs.sort((a, b) => a - b);
    const rss = peakRssMiB(server.child.pid);
    console.log(
      `StreamUsage: ${rate.toFixed(0)} events/s (${seconds.toFixed(1)} s, ${accepted} stored)   ack latency after the last message: p50 ${percentile(sortedAcks, 50).toFixed(0)} ms, p99 ${percentile(sortedAcks, 99).toFixed(0)} ms   server peak RSS ${rss.toFixed(0)} MiB`,
    );

    // COPY the same rows into a table of the same shape, primary key included.
    await db.query("create table usage_events_copy (like usage_events including all)");
    const copyStarted = performance.now();
    const occurIso = new Date().toISOString();
    const rows = (function* () {
      for (let i = 0; i < EVENTS; i++) {
        yield `${tenants[i % TENANTS]}\tcopy-${i}\t${i % 2 ? "tokens" : "api_calls"}\t${i % 2 ? "1500" : "1"}\t${occurIso}\t{"model": "gpt-4"}\t${occurIso}\t${occurIso}\n`;
      }
    })();
    await pipeline(
      Readable.from(rows),
      db.query(
        copyFrom(
          "copy usage_events_copy (tenant_id, event_id, resource_type, quantity, occur_time, attributes, period_start, ingest_time) from stdin",
        ),
      ),
    );
    const copyRate = EVENTS / ((performance.now() - copyStarted) / 1000);
    console.log(`COPY:        ${copyRate.toFixed(0)} events/s`);
    console.log(`\nratio to COPY: ${(rate / copyRate).toFixed(2)}`);

    const { rows: check } = await db.query(
      "select (select count(*) from usage_events)::int as events, (select sum(used) from usage_counters where resource_type = 'tokens')::text as tokens",
    );
    const expectedTokens = BigInt(Math.floor(EVENTS / 2)) * 1500n;
    const exact = check[0].events === EVENTS && check[0].tokens === String(expectedTokens);
    console.log(
      `stored ${check[0].events} events; tokens counted ${check[0].tokens} (expected ${expectedTokens}): ${exact ? "exact" : "MISMATCH"}`,
    );
    if (!exact) process.exitCode = 1;
  } finally {
    await db.end();
  }
});
