import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Decimal } from "decimal.js";
import pg from "pg";
import { ADMISSION_OP_FIELDS, encodeComposites } from "../../src/entitlements/admission-wire.js";
import { wireOp } from "../support/admission-ops.js";
import { run } from "./h2load.js";

const CALLS = 32;
const TENANT_SETS = 100;

/**
 * One batch of 32 CheckAndRecord calls of 32 tenants, as the server sends it
 * (`tollgate_admit_batch`, the ops in the wire form of `admission-wire.ts`), run by pgbench on
 * one connection against counters that exist, and timed inside PostgreSQL by
 * pg_stat_statements: the batch's own cost, without the server's load around it. Undefined
 * when PostgreSQL does not load pg_stat_statements.
 */
export async function timeBatchOf32(databaseUrl: string, seconds: number, limit: number) {
  const now = new Date();
  const ops = Array.from({ length: CALLS }, (_, i) =>
    wireOp(
      i + 1,
      {
        resourceType: "tokens-batch",
        periodStart: new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1)),
      },
      { allowance: new Decimal(limit), thresholds: [new Decimal(0.8), new Decimal(1)] },
    ),
  );
  const positions = `'{${ops.map((o) => o.position).join(",")}}'`;
  const tenants = ops.map((_, i) => `md5((:t * ${CALLS} + ${i})::text)::uuid`).join(", ");
  const script = `\\set t random(1, ${TENANT_SETS})
select * from tollgate_admit_batch(array[${tenants}], ${positions}, ${positions},
  '${encodeComposites(ADMISSION_OP_FIELDS, ops)}'::tollgate_admission_op[], now());
`;
  const dir = await mkdtemp(join(tmpdir(), "tollgate-batch-"));
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const file = join(dir, "batch.sql");
    await writeFile(file, script);
    const pgbench = (s: number) =>
      run("pgbench", ["-n", "-c", "1", "-T", String(s), "-f", file, databaseUrl]);
    // The first pass creates and settles the counters (the general path); the timed pass
    // finds them all.
    await pgbench(Math.max(2, Math.round(seconds / 3)));
    try {
      await client.query("select pg_stat_statements_reset()");
    } catch {
      return undefined;
    }
    await pgbench(seconds);
    const { rows } = await client.query(
      `select sum(total_exec_time)::float8 / nullif(sum(calls), 0) as mean
       from pg_stat_statements where query like '%tollgate_admit_batch(array[%'`,
    );
    return rows[0]?.mean === null ? undefined : Number(rows[0]?.mean);
  } finally {
    await client.end();
    await rm(dir, { recursive: true, force: true });
  }
}
