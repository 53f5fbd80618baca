import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { Decimal } from "decimal.js";
import type { Knex } from "knex";
import type pg from "pg";
import { from as copyFrom } from "pg-copy-streams";
import { type ReadPools, runCancellableRead } from "../platform/db/cancellable-read.js";
import { isDatabaseUnavailable, isUniqueViolation } from "../platform/db/database.js";
import type { UsageEventRow } from "./rows.js";
import type { UsageEvent, UsageQuery, UsageReport } from "./usage.js";

/** Queries over `usage_events` and the counters they feed. */
export interface UsageStore {
  /**
   * Stores a batch in one statement and one transaction: inserts the events, skipping
   * `(tenant_id, event_id)` pairs already stored, and adds only the newly stored quantities to
   * their period counters. Returns the keys (`tenant_id` + NUL + `event_id`) that were
   * duplicates. The batch must not repeat a key.
   */
  flush(events: UsageEvent[]): Promise<Set<string>>;
  /**
   * Totals and a series over a time range, on the report pool: bounded by its statement
   * timeout, and cancelled in PostgreSQL when `signal` aborts.
   */
  report(query: UsageQuery, signal?: AbortSignal): Promise<UsageReport>;
}

/** The key that identifies an event for deduplication. */
export function eventKey(tenantId: string, eventId: string): string {
  return `${tenantId}\u0000${eventId}`;
}

const COLUMNS =
  "tenant_id, event_id, resource_type, quantity, occur_time, attributes, period_start";

// Adds each counter's sum (`sums`: tenant_id, resource_type, period_start, quantity) in key
// order, so concurrent flushes on several replicas lock counters in one order and cannot
// deadlock. A sum below zero (allocations given back) lowers its counter apart, never below
// zero: the upsert adds what it inserts (`excluded`), which a distributed database can run on
// each shard as it is. Counters that reached their watch level are queued for the settle
// sweep (grant draws, thresholds), in the same transaction.
const countSums = (sums: string) => `
with sums as (${sums}), counted as (
  insert into usage_counters as c (tenant_id, resource_type, period_start, used, reserved)
  select tenant_id, resource_type, period_start, quantity, 0
  from sums where quantity >= 0 order by tenant_id, resource_type, period_start
  on conflict (tenant_id, resource_type, period_start) do update
    set used = c.used + excluded.used
  returning c.tenant_id, c.resource_type, c.period_start, c.used, c.watch_from
), lowered as (
  update usage_counters c set used = greatest(c.used + s.quantity, 0)
  from sums s
  where s.quantity < 0 and c.tenant_id = s.tenant_id and c.resource_type = s.resource_type
    and c.period_start = s.period_start
), queued as (
  insert into counter_settle_queue (tenant_id, resource_type, period_start)
  select tenant_id, resource_type, period_start from counted where used >= watch_from
)`;

// The fast path: the batch was COPYed straight into usage_events (every event new), and
// its own sums, aggregated by the caller, are counted.
const COUNT_BATCH_SQL = `${countSums(`
  select * from unnest($1::uuid[], $2::text[], $3::timestamptz[], $4::numeric[])
    as s(tenant_id, resource_type, period_start, quantity)`)}
select count(*)::int as counters from counted`;

// The path of a batch that repeats stored events: inserts the new ones, skipping
// `(tenant_id, event_id)` pairs stored before or by a concurrent flush, and counts only what
// it inserted. Returns the incoming rows that were already stored.
const dedupeFrom = (incoming: string) => `
with incoming as (${incoming}), inserted as (
  insert into usage_events (${COLUMNS})
  select ${COLUMNS} from incoming order by tenant_id, event_id
  on conflict (tenant_id, event_id) do nothing
  returning tenant_id, event_id, resource_type, quantity, period_start
), ${countSums(`
  select tenant_id, resource_type, period_start, sum(quantity) as quantity
  from inserted group by tenant_id, resource_type, period_start`).replace(/^\s*with /, "")}
select i.tenant_id, i.event_id from incoming i
where not exists (
  select 1 from inserted x where x.tenant_id = i.tenant_id and x.event_id = i.event_id)`;

// PGlite has no COPY from a client stream: the batch arrives as one JSON parameter.
const DEDUPE_JSON_SQL = dedupeFrom(`
  select * from jsonb_to_recordset(?::jsonb) as t(
    tenant_id uuid, event_id text, resource_type text, quantity numeric,
    occur_time timestamptz, attributes jsonb, period_start timestamptz)`);

const COPY_EVENTS_SQL = `copy usage_events (${COLUMNS}) from stdin`;

// A batch that repeats stored events is copied, as the same lines its refused COPY sent, into
// a temporary table of the flush's own session, emptied at commit, and deduplicated from there.
const STAGING_DDL = `
create temporary table if not exists usage_staging (
  tenant_id uuid, event_id text, resource_type text, quantity numeric,
  occur_time timestamptz, attributes jsonb, period_start timestamptz
) on commit delete rows`;
const COPY_STAGING_SQL = `copy usage_staging (${COLUMNS}) from stdin`;
const DEDUPE_STAGED_SQL = dedupeFrom(`select ${COLUMNS} from usage_staging`);

/**
 * What a flush whose COMMIT got no answer left behind: its transaction id, and the
 * duplicates it would have reported. The retry of the same batch asks PostgreSQL whether that
 * transaction committed before doing anything.
 */
interface UndecidedCommit {
  xid: string;
  duplicates: DuplicateRow[];
}

/**
 * Creates the usage store over the given connection: flushes go through `COPY` on PostgreSQL
 * and through one JSON statement on PGlite, with the same dedupe and counting either way.
 */
export function createUsageStore(
  knex: Knex,
  kind: "postgres" | "pglite",
  reads: ReadPools,
): UsageStore {
  const flushJson = async (events: UsageEvent[]) => {
    const rows = events.map((e) => ({
      tenant_id: e.tenantId,
      event_id: e.eventId,
      resource_type: e.resourceType,
      quantity: e.quantity,
      occur_time: e.occurTime.toISOString(),
      attributes: e.attributes,
      period_start: e.periodStart.toISOString(),
    }));
    return (await knex.raw<{ rows: DuplicateRow[] }>(DEDUPE_JSON_SQL, [JSON.stringify(rows)])).rows;
  };

  // In the flush's transaction, after `savepoint batch`: COPY the batch straight into
  // usage_events (the primary key refuses the whole COPY if any event was stored before, or is
  // being stored by a concurrent flush, which it first waits for), then count the batch's own
  // sums. When the COPY is refused, roll back to the savepoint and take the deduplicating path.
  const writeBatch = async (connection: pg.ClientBase, events: UsageEvent[]) => {
    const lines = eventLines(events);
    try {
      await copyLines(connection, COPY_EVENTS_SQL, lines);
      await connection.query(COUNT_BATCH_SQL, sumsOf(events));
      return [];
    } catch (error) {
      // The COPY met an event stored before (or being stored by a concurrent flush).
      if (!isUniqueViolation(error, "usage_events_pkey")) throw error;
      await connection.query("rollback to savepoint batch");
    }
    await connection.query(STAGING_DDL);
    await copyLines(connection, COPY_STAGING_SQL, lines);
    return (await connection.query<DuplicateRow>(DEDUPE_STAGED_SQL)).rows;
  };

  // A batch is retried as the same array: the attempt whose COMMIT went unanswered is
  // remembered by it, so the retry reports that attempt's outcome if it committed.
  const undecided = new WeakMap<UsageEvent[], UndecidedCommit>();
  const flushCopy = async (events: UsageEvent[]) => {
    const earlier = undecided.get(events);
    if (earlier) {
      const status = await commitStatus(knex, earlier.xid);
      if (status === "in progress") {
        throw Object.assign(new Error("an earlier attempt of this flush is still undecided"), {
          code: "08007",
        });
      }
      undecided.delete(events);
      if (status === "committed") return earlier.duplicates;
    }
    let attempt: UndecidedCommit | undefined;
    try {
      return await knex.transaction(async (trx) => {
        const connection = (await trx.client.acquireConnection()) as pg.ClientBase;
        // One round trip: the transaction's id, and the savepoint a refused COPY returns to.
        // node-postgres answers a multi-statement query with one result per statement, which
        // its types do not express.
        const [id] = (await connection.query(
          "select txid_current()::text as xid; savepoint batch",
        )) as unknown as pg.QueryResult<{ xid: string }>[];
        const duplicates = await writeBatch(connection, events);
        attempt = { xid: id?.rows[0]?.xid ?? "", duplicates };
        return duplicates;
      });
    } catch (error) {
      // Everything before COMMIT succeeded: whether COMMIT did is PostgreSQL's to say.
      if (attempt && isDatabaseUnavailable(error)) undecided.set(events, attempt);
      throw error;
    }
  };
  return {
    async flush(events) {
      const rows = kind === "postgres" ? await flushCopy(events) : await flushJson(events);
      return new Set(rows.map((row) => eventKey(row.tenant_id, row.event_id)));
    },

    async report(query, signal) {
      const rows = await runCancellableRead(reads, signal, (trx) =>
        trx("usage_events")
          .where({ tenant_id: query.tenantId })
          .where("occur_time", ">=", query.start)
          .where("occur_time", "<", query.end)
          .modify((q) => {
            if (query.resourceType !== undefined) q.where({ resource_type: query.resourceType });
          })
          .select<{ resource_type: string; bucket: Date; quantity: string }[]>(
            "resource_type",
            trx.raw("date_trunc(?, occur_time, 'UTC') as bucket", [query.granularity]),
            trx.raw("sum(quantity)::text as quantity"),
          )
          .groupBy("resource_type", "bucket")
          .orderBy([{ column: "bucket" }, { column: "resource_type" }]),
      );
      const totals = new Map<string, Decimal>();
      const series = rows.map((row) => {
        totals.set(
          row.resource_type,
          (totals.get(row.resource_type) ?? new Decimal(0)).plus(row.quantity),
        );
        return { startTime: row.bucket, resourceType: row.resource_type, quantity: row.quantity };
      });
      return {
        totals: [...totals].map(([resourceType, quantity]) => ({
          resourceType,
          quantity: quantity.toFixed(),
        })),
        series,
      };
    },
  };
}

/** An event a flush found stored before: its key. */
type DuplicateRow = Pick<UsageEventRow, "tenant_id" | "event_id">;

/** `committed`, `aborted`, `in progress`, or null when the transaction is too old to know. */
async function commitStatus(knex: Knex, xid: string): Promise<string | null> {
  const result = await knex.raw<{ rows: { status: string | null }[] }>(
    "select txid_status(?::bigint) as status",
    [xid],
  );
  return result.rows[0]?.status ?? null;
}

async function copyLines(connection: pg.ClientBase, sql: string, lines: string[]) {
  await pipeline(Readable.from([lines.join("")]), connection.query(copyFrom(sql)));
}

// Each counter's sum of the batch, as the parallel arrays COUNT_BATCH_SQL takes.
function sumsOf(events: UsageEvent[]): [string[], string[], Date[], string[]] {
  const sums = new Map<string, { event: UsageEvent; quantity: Decimal }>();
  for (const e of events) {
    const key = `${e.tenantId}/${e.resourceType}/${e.periodStart.getTime()}`;
    const sum = sums.get(key);
    if (sum) sum.quantity = sum.quantity.plus(e.quantity);
    else sums.set(key, { event: e, quantity: new Decimal(e.quantity) });
  }
  const rows = [...sums.values()];
  return [
    rows.map((r) => r.event.tenantId),
    rows.map((r) => r.event.resourceType),
    rows.map((r) => r.event.periodStart),
    rows.map((r) => r.quantity.toFixed()),
  ];
}

// COPY's text format: tab-separated columns, one line a row, and backslash escapes for the
// characters that would break that framing. Validation has already excluded NUL. Times are
// written as ISO strings, remembered while they repeat (a batch's periods always do).
function eventLines(events: UsageEvent[]): string[] {
  const iso = createIsoCache();
  return events.map(
    (e) =>
      `${e.tenantId}\t${copyText(e.eventId)}\t${e.resourceType}\t${e.quantity}\t${iso(e.occurTime)}\t${attributesText(e.attributes)}\t${iso(e.periodStart)}\n`,
  );
}

function createIsoCache(): (date: Date) => string {
  const seen = new Map<number, string>();
  return (date) => {
    const time = date.getTime();
    let text = seen.get(time);
    if (text === undefined) {
      text = date.toISOString();
      if (seen.size < 1024) seen.set(time, text);
    }
    return text;
  };
}

function attributesText(attributes: Record<string, string>): string {
  for (const _ in attributes) return copyText(JSON.stringify(attributes));
  return "{}";
}

const NEEDS_ESCAPE = /[\\\t\n\r]/;

function copyText(value: string): string {
  return NEEDS_ESCAPE.test(value)
    ? value.replace(/[\\\t\n\r]/g, (c) => COPY_ESCAPES[c] ?? c)
    : value;
}

const COPY_ESCAPES: Record<string, string> = {
  "\\": "\\\\",
  "\t": "\\t",
  "\n": "\\n",
  "\r": "\\r",
};
