/**
 * `npm run bench:entitlements`: CheckAndRecord throughput and latency against the real server
 * (a child process) and real PostgreSQL, next to the database's own ceiling for the same SQL.
 *
 * Needs TEST_DATABASE_URL (a superuser URL; a scratch database is created and dropped). Tunables:
 * BENCH_SECONDS (10), BENCH_CONCURRENCY (32), BENCH_TENANTS (1000).
 */
import { randomUUID } from "node:crypto";
import { availableParallelism } from "node:os";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import pg from "pg";
import { EntitlementService } from "../../gen/tollgate/v1/entitlement_service_pb.js";
import { runBenchmark } from "./bench-server.js";
import { cpuSeconds, percentile } from "./measure.js";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const TENANTS = Number(process.env.BENCH_TENANTS ?? 1000);
// FREE allows 100,000 tokens a month: enough admissions of 1 for a 10-second hot-tenant run.
const RESOURCE = "tokens";
const LIMIT = 100_000;

interface Run {
  calls: number;
  allowed: number;
  seconds: number;
  latenciesMs: number[];
}

/** Runs `call` from `CONCURRENCY` loops for `SECONDS`, timing each call. */
async function drive(call: (i: number) => Promise<boolean>): Promise<Run> {
  const latenciesMs: number[] = [];
  let calls = 0;
  let allowed = 0;
  const started = performance.now();
  const deadline = started + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async (_, worker) => {
      for (let i = worker; performance.now() < deadline; i += CONCURRENCY) {
        const t0 = performance.now();
        if (await call(i)) allowed++;
        latenciesMs.push(performance.now() - t0);
        calls++;
      }
    }),
  );
  return { calls, allowed, seconds: (performance.now() - started) / 1000, latenciesMs };
}

function report(name: string, run: Run): number {
  const sorted = [...run.latenciesMs].sort((a, b) => a - b);
  const rate = run.calls / run.seconds;
  console.log(
    `${name.padEnd(34)} ${rate.toFixed(0).padStart(7)} calls/s   p50 ${percentile(sorted, 50).toFixed(2)} ms   p99 ${percentile(sorted, 99).toFixed(2)} ms   (${run.calls} calls, ${run.allowed} allowed)`,
  );
  return rate;
}

// The statement the server runs for an admission (src/entitlements/store.ts, `admit`).
const ADMIT_SQL = `insert into usage_counters as c (tenant_id, resource_type, period_start, used, reserved)
  select $1, $2, $3, $4::numeric, 0 where $4::numeric <= $5::numeric
  on conflict (tenant_id, resource_type, period_start) do update
    set used = c.used + excluded.used
    where c.used + c.reserved + excluded.used <= $5::numeric
  returning used, reserved`;

runBenchmark(
  { DATABASE_POOL_MAX: String(CONCURRENCY), LOG_LEVEL: "info" },
  async ({ server, databaseUrl }) => {
    const pool = new pg.Pool({ connectionString: databaseUrl, max: CONCURRENCY });
    try {
      console.log(
        `${availableParallelism()} cores shared by the server, PostgreSQL and this client; ${CONCURRENCY} concurrent callers, ${SECONDS} s per run\n`,
      );
      const client = createClient(
        EntitlementService,
        createGrpcTransport({ baseUrl: server.baseUrl }),
      );
      const tenants = Array.from({ length: TENANTS }, () => randomUUID());
      const hot = randomUUID();
      const record = (tenantId: string) =>
        client
          .checkAndRecord({ tenantId, resourceType: RESOURCE, quantity: "1" })
          .then((r) => r.allowed);

      // Warm up: plan cache entries, connections, JIT.
      await drive((i) => record(tenants[i % TENANTS] as string)).then(() => undefined);
      await pool.query("truncate usage_counters");

      const cpuBefore = cpuSeconds(server.child.pid);
      const spreadRun = await drive((i) => record(tenants[i % TENANTS] as string));
      const serverCpuPerCall = (cpuSeconds(server.child.pid) - cpuBefore) / spreadRun.calls;
      const spread = report("Tollgate, 1,000 tenants", spreadRun);
      const hotRun = await drive(() => record(hot));
      const hotRate = report("Tollgate, one hot tenant", hotRun);

      // The database's own ceiling: the same statement over pg at the same concurrency.
      const period = new Date(Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), 1));
      const direct = (tenantId: string) =>
        pool
          .query(ADMIT_SQL, [tenantId, `${RESOURCE}-direct`, period, "1", String(LIMIT)])
          .then((r) => r.rowCount === 1);
      const directSpread = report(
        "direct SQL, 1,000 tenants",
        await drive((i) => direct(tenants[i % TENANTS] as string)),
      );
      const directHot = report("direct SQL, one hot tenant", await drive(() => direct(hot)));

      console.log(
        `\nserver process CPU per call: ${(serverCpuPerCall * 1e6).toFixed(0)} µs (one core would serve ${(1 / serverCpuPerCall).toFixed(0)} calls/s if the client and PostgreSQL ran elsewhere)`,
      );
      console.log(
        `ratio to direct SQL: ${(spread / directSpread).toFixed(2)} (1,000 tenants), ${(hotRate / directHot).toFixed(2)} (hot tenant)`,
      );

      // Over-admission: every counter within its limit, and the hot tenant's count exact.
      const { rows } = await pool.query(
        "select count(*) filter (where used > $1) as over, max(used) as max from usage_counters where resource_type = $2",
        [LIMIT, RESOURCE],
      );
      const hotUsed = await pool.query(
        "select used from usage_counters where tenant_id = $1 and resource_type = $2",
        [hot, RESOURCE],
      );
      const exact = Number(rows[0].over) === 0 && hotUsed.rows[0]?.used === String(hotRun.allowed);
      console.log(
        `over-admitted counters: ${rows[0].over}; hot tenant used ${hotUsed.rows[0]?.used} = allowed ${hotRun.allowed}: ${exact ? "exact" : "MISMATCH"}`,
      );
      if (!exact) process.exitCode = 1;
    } finally {
      await pool.end();
    }
  },
);
