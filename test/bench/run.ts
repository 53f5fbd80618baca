/**
 * `npm run bench`: one table of the hot path's figures, measured side by side in one run, each
 * next to its reference and as server CPU per call. The load comes from h2load (Debian's
 * nghttp2-client), which costs the shared cores far less than a Node client, except for the
 * 1,000-tenant figure: h2load sends one body per process, so a raw `node:http2` generator
 * sends it and its own CPU per call is printed. The database's own references come from
 * pgbench. Then the parts `bench:entitlements`, `bench:ingest`, `bench:tracker` and
 * `bench:report` run.
 * Exits non-zero when any count is inexact.
 *
 * Needs TEST_DATABASE_URL (a superuser URL; scratch databases are created and dropped), h2load
 * and pgbench. Tunables: BENCH_SECONDS (10 per figure), BENCH_INFLIGHT (32).
 */
import { randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { create, toBinary } from "@bufbuild/protobuf";
import pg from "pg";
import { HealthCheckRequestSchema } from "../../gen/health/v1/health_pb.js";
import { CheckAndRecordRequestSchema } from "../../gen/tollgate/v1/entitlement_service_pb.js";
import { timeBatchOf32 } from "./batch-statement.js";
import { runBenchmark } from "./bench-server.js";
import { type H2LoadResult, run, runH2Load } from "./h2load.js";
import { runHttp2Load } from "./http2-load.js";
import { cpuSeconds } from "./measure.js";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const INFLIGHT = Number(process.env.BENCH_INFLIGHT ?? 32);
const TENANTS = 1_000;
const PAIR_TENANTS = 16;
const WARM_UP_CALLS = 3_000;
// The server runs with a catalog whose FREE plan allows this many tokens a month, more than a
// hot tenant's run admits, so every call is admitted and the counters can be checked against
// the calls answered OK.
const LIMIT = 100_000_000;

interface Row {
  figure: string;
  rate?: number;
  cpuUs?: number;
  p99Ms?: number;
  reference?: string;
  ratio?: number;
  target: string;
}

runBenchmark(
  { DATABASE_POOL_MAX: String(INFLIGHT), LOG_LEVEL: "info", PLAN_CATALOG_PATH: benchCatalog() },
  async (target) => {
    const { server, databaseUrl } = target;
    const rows: Row[] = [];
    let exact = true;
    const grpc = { "content-type": "application/grpc", te: "trailers" };
    const connect = { "content-type": "application/proto" };
    // h2load: one connection with every call in flight on it, as an SDK client multiplexes.
    const load = async (path: string, headers: Record<string, string>, body: Uint8Array) => {
      const spec = {
        url: `${server.baseUrl}${path}`,
        headers,
        body,
        clients: 1,
        streams: INFLIGHT,
        seconds: SECONDS,
      };
      // A short unmeasured run first: connections, plan cache, JIT. Its rate sizes the measured
      // run. Both send a fixed number of calls, so that none is cut off at its end (a call cut
      // off still records, and is answered as canceled).
      const warm = await runH2Load({ ...spec, requests: WARM_UP_CALLS });
      const before = cpuSeconds(server.child.pid);
      const result = await runH2Load({
        ...spec,
        requests: Math.max(INFLIGHT, Math.round(warm.ratePerSecond * SECONDS)),
      });
      return { ...result, cpuUs: ((cpuSeconds(server.child.pid) - before) / result.done) * 1e6 };
    };
    const row = (figure: string, r: Measured, extra: Partial<Row>) =>
      rows.push({
        figure,
        rate: r.ratePerSecond,
        cpuUs: r.cpuUs,
        p99Ms: r.p99Ms,
        target: "",
        ...extra,
      });

    console.log(
      `${availableParallelism()} cores, shared by the server, PostgreSQL and the load generator; ${INFLIGHT} calls in flight, ${SECONDS} s per figure\n`,
    );

    // The framework floor: a call that does nothing, over each protocol.
    const health = toBinary(HealthCheckRequestSchema, create(HealthCheckRequestSchema));
    const healthPath = "/grpc.health.v1.Health/Check";
    const floorGrpc = await load(healthPath, grpc, grpcFrame(health));
    row("Health/Check, gRPC", floorGrpc, { target: "the floor" });
    const floorConnect = await load(healthPath, connect, health);
    row("Health/Check, Connect (binary)", floorConnect, { target: "the floor" });

    // CheckAndRecord over each protocol: 1,000 tenants from the Node generator (h2load sends one
    // body per process), one hot tenant from h2load, both 32 calls in flight on one connection.
    const admit = (tenantId: string) =>
      toBinary(
        CheckAndRecordRequestSchema,
        create(CheckAndRecordRequestSchema, { tenantId, resourceType: "tokens", quantity: "1" }),
      );
    const path = "/tollgate.v1.EntitlementService/CheckAndRecord";
    const tenants: string[] = [];
    const batchTimings: (BatchTiming | undefined)[] = [];
    const admissions = async (
      headers: Record<string, string>,
      frame: (m: Uint8Array) => Uint8Array,
    ) => {
      const spreadTenants = Array.from({ length: TENANTS }, () => randomUUID());
      const hotTenant = randomUUID();
      tenants.push(...spreadTenants, hotTenant);
      const bodies = spreadTenants.map((t) => frame(admit(t)));
      const spec = { baseUrl: server.baseUrl, path, headers, bodies, inFlight: INFLIGHT };
      // Every tenant's first call (its plan looked up, its counter created and settled) is
      // made before the clock starts: the figure is the steady state.
      await runHttp2Load({ ...spec, seconds: 60, calls: 2 * TENANTS });
      const statements = await startStatementTiming(databaseUrl, server.baseUrl);
      const before = cpuSeconds(server.child.pid);
      const spread = await runHttp2Load({ ...spec, seconds: SECONDS });
      const spreadCpuUs = ((cpuSeconds(server.child.pid) - before) / spread.done) * 1e6;
      batchTimings.push(await statements.stop());
      const hot = await load(path, headers, frame(admit(hotTenant)));
      // 16 tenants, each on a connection of its own with 2 calls in flight: independent
      // callers whose batches share no counter.
      const pairTenants = Array.from({ length: PAIR_TENANTS }, () => randomUUID());
      tenants.push(...pairTenants);
      const pairs = (seconds: number) =>
        Promise.all(
          pairTenants.map((t) =>
            runHttp2Load({ ...spec, bodies: [frame(admit(t))], inFlight: 2, seconds }),
          ),
        );
      await pairs(1);
      const pairsBefore = cpuSeconds(server.child.pid);
      const pairRuns = await pairs(SECONDS);
      const pairDone = pairRuns.reduce((n, r) => n + r.done, 0);
      const connections = {
        done: pairDone,
        ratePerSecond: pairRuns.reduce((n, r) => n + r.ratePerSecond, 0),
        p99Ms: Math.max(...pairRuns.map((r) => r.p99Ms)),
        cpuUs: ((cpuSeconds(server.child.pid) - pairsBefore) / pairDone) * 1e6,
      };
      return { spread: { ...spread, cpuUs: spreadCpuUs }, hot, connections };
    };
    const overGrpc = await admissions(grpc, grpcFrame);
    const overConnect = await admissions(connect, (m) => m);
    // A hot tenant whose every call names a model with a dimension limit: each call counts on
    // the total and on gpt-4's counter, decided together.
    const dimensionTenant = randomUUID();
    tenants.push(dimensionTenant);
    const dimensionCall = toBinary(
      CheckAndRecordRequestSchema,
      create(CheckAndRecordRequestSchema, {
        tenantId: dimensionTenant,
        resourceType: "tokens",
        quantity: "1",
        dimensions: { model: "gpt-4" },
      }),
    );
    const dimensionHot = await load(path, grpc, grpcFrame(dimensionCall));
    // A hot tenant on a resource priced per unit, then one on a resource priced in graduated
    // tiers: the price is worked out from the decided counter, so the two should cost the same.
    const pricedHot = async (resourceType: string) => {
      const tenantId = randomUUID();
      tenants.push(tenantId);
      const call = create(CheckAndRecordRequestSchema, { tenantId, resourceType, quantity: "1" });
      return load(path, grpc, grpcFrame(toBinary(CheckAndRecordRequestSchema, call)));
    };
    // Taken in turn, twice each, and averaged: a run's figure drifts with what ran before it.
    const priced = { perUnit: [] as Measured[], tiered: [] as Measured[] };
    for (let i = 0; i < 2; i++) {
      priced.perUnit.push(await pricedHot("executions"));
      priced.tiered.push(await pricedHot("api_calls"));
    }
    const perUnitHot = averaged(priced.perUnit);
    const tieredHot = averaged(priced.tiered);

    const references = await pgbenchReferences(databaseUrl);
    for (const [protocol, runs, floor] of [
      ["gRPC", overGrpc, floorGrpc],
      ["Connect", overConnect, floorConnect],
    ] as const) {
      row(`CheckAndRecord, ${TENANTS} tenants, ${protocol}`, runs.spread, {
        reference: `pgbench ${references.spread.toFixed(0)}/s`,
        ratio: runs.spread.ratePerSecond / references.spread,
        target: "≥ 0.6×",
      });
      row(
        `CheckAndRecord, ${PAIR_TENANTS} tenants on ${PAIR_TENANTS} connections, ${protocol}`,
        runs.connections,
        {
          reference: `pgbench ${PAIR_TENANTS} rows ${references.pairs.toFixed(0)}/s`,
          ratio: runs.connections.ratePerSecond / references.pairs,
          target: "≥ 0.5×",
        },
      );
      row(`CheckAndRecord, one hot tenant, ${protocol}`, runs.hot, {
        reference: `pgbench hot row ${references.hot.toFixed(0)}/s`,
        ratio: runs.hot.ratePerSecond / references.hot,
        target: "≥ 2.0×",
      });
      // Measured on the hot-tenant run: the same generator and connection shape as the floor.
      rows.push({
        figure: `server CPU per CheckAndRecord, ${protocol}`,
        cpuUs: runs.hot.cpuUs,
        reference: `Health/Check, ${protocol}`,
        ratio: runs.hot.cpuUs / floor.cpuUs,
        target: "≤ 1.3×",
      });
    }
    row("CheckAndRecord with a dimension limit (model=gpt-4), one hot tenant, gRPC", dimensionHot, {
      reference: `pgbench hot row ${references.hot.toFixed(0)}/s`,
      ratio: dimensionHot.ratePerSecond / references.hot,
      target: "≥ 1.5×",
    });
    row("CheckAndRecord on a per-unit priced resource, one hot tenant, gRPC", perUnitHot, {
      target: "(reference)",
    });
    row("CheckAndRecord on a graduated-tier priced resource, one hot tenant, gRPC", tieredHot, {
      reference: `per unit ${perUnitHot.ratePerSecond.toFixed(0)}/s, ${perUnitHot.cpuUs.toFixed(0)} µs`,
      ratio: tieredHot.ratePerSecond / perUnitHot.ratePerSecond,
      target: `≈ 1.0× (CPU ratio ${(tieredHot.cpuUs / perUnitHot.cpuUs).toFixed(2)}×)`,
    });
    const batchOf32 = await timeBatchOf32(databaseUrl, SECONDS, LIMIT).catch(() => undefined);
    rows.push({
      figure: "one batch of 32 calls of 32 tenants inside PostgreSQL (tollgate_admit_batch)",
      reference:
        batchOf32 === undefined
          ? "pg_stat_statements is not loaded, or no tollgate_admit_batch"
          : "pg_stat_statements mean",
      p99Ms: batchOf32,
      target: "≤ 1 ms",
    });
    for (const [i, timing] of batchTimings.entries()) {
      rows.push({
        figure: `admission statements during the ${TENANTS}-tenant run, ${i === 0 ? "gRPC" : "Connect"}, per 32 calls`,
        reference:
          timing === undefined
            ? "pg_stat_statements is not loaded"
            : `mean ${timing.meanMs.toFixed(3)} ms for ${timing.opsPerStatement.toFixed(1)} ops`,
        p99Ms: timing && (timing.meanMs / timing.opsPerStatement) * 32,
        target: "(under load)",
      });
    }
    rows.push({
      figure: `p99, ${TENANTS} tenants, ${INFLIGHT} in flight`,
      p99Ms: Math.max(...[overGrpc, overConnect].map((runs) => runs.spread.p99Ms)),
      target: "≤ 10 ms",
    });

    // Exactness: every call is under its limit, so the counters must hold exactly the calls the
    // server answered OK (h2load cannot read a gRPC status, and the calls it cut off at the end
    // of a run still finish on the server), and none may be over its limit.
    const counted = await usedOf(databaseUrl, tenants);
    const answeredOk = await okAnswers(server.baseUrl, "CheckAndRecord");
    exact = counted.used === answeredOk && counted.over === 0;
    printTable(rows);
    console.log(
      `\nthe Node generator of the ${TENANTS}-tenant runs took ${overGrpc.spread.clientCpuUs.toFixed(0)} µs of CPU per call over gRPC, ${overConnect.spread.clientCpuUs.toFixed(0)} µs over Connect, from the same cores`,
    );
    console.log(
      `admissions: counters hold ${counted.used}; the server answered ${answeredOk} calls OK; ${counted.over} counters over the limit: ${exact ? "exact" : "INEXACT"}`,
    );

    // The parts that drive the server from Node: 1,000 tenants (which h2load's one body per
    // process cannot), and ingestion next to COPY. Each checks its own counts.
    for (const [name, script] of [
      ["entitlements", "./entitlements.ts"],
      ["ingest", "./ingest.ts"],
      ["tracker", "./tracker.ts"],
      ["report", "./usage-report.ts"],
    ] as const) {
      console.log(`\n--- ${name} (npm run bench:${name}) ---`);
      const output = await run(process.execPath, [
        "--import",
        "tsx",
        fileURLToPath(new URL(script, import.meta.url)),
      ]);
      console.log(output.trim());
      if (!/: exact$/m.test(output)) exact = false;
    }
    if (!exact) process.exitCode = 1;
  },
);

/**
 * The default plan catalog with FREE's token limit raised to {@link LIMIT}, a gpt-4 dimension
 * limit as high, and executions and api_calls allowed as many and priced beyond (per unit, and
 * in graduated tiers), as a temp file.
 */
function benchCatalog(): string {
  const catalog = JSON.parse(
    readFileSync(
      fileURLToPath(new URL("../../src/catalog/default-plans.json", import.meta.url)),
      "utf8",
    ),
  ) as { plans: { id: string; limits: Record<string, Record<string, unknown>> }[] };
  const tokens = catalog.plans.find((p) => p.id === "free")?.limits.tokens;
  if (!tokens) throw new Error("the default catalog has no FREE token limit");
  tokens.limit = String(LIMIT);
  tokens.dimension_limits = [{ dimensions: { model: "gpt-4" }, limit: String(LIMIT) }];
  // Two resources priced beyond the same allowance: executions per unit, api_calls in tiers.
  const free = catalog.plans.find((p) => p.id === "free")?.limits;
  if (!free?.executions || !free.api_calls) throw new Error("the default FREE plan changed");
  Object.assign(free.executions, { limit: String(LIMIT), overage_unit_amount: "0.006" });
  Object.assign(free.api_calls, {
    limit: String(LIMIT),
    pricing: {
      model: "graduated",
      tiers: [
        { up_to: String(LIMIT), unit_amount: "0" },
        { up_to: String(10 * LIMIT), unit_amount: "0.001", flat_amount: "1" },
        { up_to: null, unit_amount: "0.0005" },
      ],
    },
  });
  const path = join(mkdtempSync(join(tmpdir(), "tollgate-bench-plans-")), "plans.json");
  writeFileSync(path, JSON.stringify(catalog));
  return path;
}

type Measured = H2LoadResult & { cpuUs: number };

/** Runs of one figure as one: mean rate and CPU, the worst p99. */
function averaged(runs: Measured[]): Measured {
  const mean = (pick: (r: Measured) => number) =>
    runs.reduce((sum, r) => sum + pick(r), 0) / runs.length;
  return {
    ...(runs[0] as Measured),
    ratePerSecond: mean((r) => r.ratePerSecond),
    cpuUs: mean((r) => r.cpuUs),
    p99Ms: Math.max(...runs.map((r) => r.p99Ms)),
  };
}

/** A gRPC length-prefixed message: a flag byte, a big-endian length, the message. */
function grpcFrame(message: Uint8Array): Uint8Array {
  const frame = new Uint8Array(5 + message.length);
  new DataView(frame.buffer).setUint32(1, message.length);
  frame.set(message, 5);
  return frame;
}

// The statement the server runs for an admission (src/entitlements/store.ts, `admit`), on a
// resource of its own so the server's counters are not touched.
const ADMIT_SCRIPT = (tenant: string) => `
insert into usage_counters as c (tenant_id, resource_type, period_start, used, reserved)
  select ${tenant}, 'tokens-direct', date_trunc('month', now() at time zone 'utc') at time zone 'utc', 1::numeric, 0
  where 1::numeric <= ${LIMIT}::numeric
  on conflict (tenant_id, resource_type, period_start) do update
    set used = c.used + excluded.used
    where c.used + c.reserved + excluded.used <= ${LIMIT}::numeric
  returning used, reserved;
`;

/** The database's own throughput for the admit statement: 1,000 rows, and one hot row. */
async function pgbenchReferences(
  databaseUrl: string,
): Promise<{ spread: number; hot: number; pairs: number }> {
  const dir = await mkdtemp(join(tmpdir(), "tollgate-pgbench-"));
  try {
    const tps = async (script: string) => {
      const file = join(dir, "admit.sql");
      await writeFile(file, script);
      const args = ["-n", "-c", String(INFLIGHT), "-j", "2", "-T", String(SECONDS), "-f", file];
      const output = await run("pgbench", [...args, databaseUrl]);
      const match = /tps = ([\d.]+) \(without initial connection time\)/.exec(output);
      if (!match?.[1]) throw new Error(`pgbench printed no tps:\n${output}`);
      return Number(match[1]);
    };
    const spread = await tps(`\\set t random(1, 1000)\n${ADMIT_SCRIPT("md5(:t::text)::uuid")}`);
    const hot = await tps(ADMIT_SCRIPT("md5('hot')::uuid"));
    // Two clients per row, as two calls in flight per tenant.
    const pairs = await tps(
      `\\set t :client_id % ${PAIR_TENANTS}\n${ADMIT_SCRIPT("md5(:t::text)::uuid")}`,
    );
    return { spread, hot, pairs };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

interface BatchTiming {
  meanMs: number;
  opsPerStatement: number;
}

/**
 * Times the admission statements of one run through pg_stat_statements (when PostgreSQL loads
 * it): the mean execution time of the statements that call `tollgate_admit`, and how many
 * calls each carried, from the server's own count of calls and batches.
 */
async function startStatementTiming(databaseUrl: string, baseUrl: string) {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  const admissions = async () => {
    const text = await (await fetch(`${baseUrl}/metrics`)).text();
    const stat = (name: string) =>
      Number(
        text
          .split("\n")
          .find((l) => l.startsWith(`tollgate_admissions{stat="${name}"}`))
          ?.split(" ")
          .at(-1) ?? 0,
      );
    return { calls: stat("calls"), batches: stat("batches") };
  };
  let loaded = true;
  try {
    await client.query("create extension if not exists pg_stat_statements");
    await client.query("select pg_stat_statements_reset()");
  } catch {
    loaded = false;
  }
  const start = await admissions();
  return {
    async stop(): Promise<BatchTiming | undefined> {
      try {
        if (!loaded) return undefined;
        const end = await admissions();
        const { rows } = await client.query(
          `select sum(calls)::float8 as calls,
             sum(total_exec_time)::float8 / nullif(sum(calls), 0) as mean
           from pg_stat_statements where query like '%tollgate_admit%'`,
        );
        const statements = Number(rows[0]?.calls ?? 0);
        if (statements === 0) return undefined;
        return {
          meanMs: Number(rows[0].mean),
          opsPerStatement: (end.calls - start.calls) / statements,
        };
      } finally {
        await client.end();
      }
    },
  };
}

/** The server's own count of calls to `method` it answered OK, from `/metrics`. */
async function okAnswers(baseUrl: string, method: string): Promise<number> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  const line = text
    .split("\n")
    .find(
      (l) =>
        l.startsWith("tollgate_rpc_calls_total{") &&
        l.includes(`method="${method}"`) &&
        l.includes('code="ok"'),
    );
  return line === undefined ? 0 : Number(line.split(" ").at(-1));
}

async function usedOf(databaseUrl: string, tenants: string[]) {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query(
      `select coalesce(sum(used), 0)::text as used, count(*) filter (where used > $2)::int as over
       from usage_counters where tenant_id = any($1)
        and resource_type in ('tokens', 'executions', 'api_calls')`,
      [tenants, LIMIT],
    );
    return { used: Number(rows[0].used), over: Number(rows[0].over) };
  } finally {
    await client.end();
  }
}

function printTable(rows: Row[]): void {
  const cells = rows.map((r) => [
    r.figure,
    r.rate === undefined ? "" : r.rate.toFixed(0),
    r.cpuUs === undefined ? "" : r.cpuUs.toFixed(0),
    r.p99Ms === undefined ? "" : r.p99Ms.toFixed(2),
    r.reference ?? "",
    r.ratio === undefined ? "" : `${r.ratio.toFixed(2)}×`,
    r.target,
  ]);
  const header = [
    "figure",
    "calls/s",
    "server CPU µs/call",
    "p99 ms",
    "reference",
    "ratio",
    "target",
  ];
  console.log(`| ${header.join(" | ")} |`);
  console.log(`|${header.map(() => "---").join("|")}|`);
  for (const line of cells) console.log(`| ${line.join(" | ")} |`);
}
