import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { Decimal } from "decimal.js";
import type { Knex } from "knex";
import type pg from "pg";
import { from as copyFrom } from "pg-copy-streams";
import { countersOf, type Meter } from "../catalog/meters.js";
import { type ReadPools, runCancellableRead } from "../platform/db/cancellable-read.js";
import { isDatabaseUnavailable, isUniqueViolation } from "../platform/db/database.js";
import { runReport } from "./report.js";
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
  report(query: UsageQuery, meters: Meter[], signal?: AbortSignal): Promise<UsageReport>;
}

/** Runs one statement with `$n` parameters, in the caller's transaction. */
export type Statement = (sql: string, values: unknown[]) => Promise<unknown>;

/**
 * Counts events just stored, in the transaction that stored them: their counters' shares
 * (counters locked in key order), their rollups, then their members. Flushes and
 * ReplaceUsage's replacement events go through it alike.
 */
export async function countEvents(query: Statement, events: UsageEvent[]): Promise<void> {
  if (events.length === 0) return;
  const { sums, members } = sharesOf(events);
  await query(COUNT_BATCH_SQL, [...sums, ...columnsOf(rollupsOf(events))]);
  if (members[0].length > 0) await query(MEMBERS_SQL, members);
}

/** Runs `$n`-numbered statements in a knex transaction (whose bindings are `?`). */
export function statementIn(trx: Knex.Transaction): Statement {
  return (sql, values) => trx.raw(sql.replace(/\$\d+/g, "?"), values as Knex.RawBinding[]);
}

/** The key that identifies an event for deduplication. */
export function eventKey(tenantId: string, eventId: string): string {
  return `${tenantId}\u0000${eventId}`;
}

const COLUMNS =
  "tenant_id, event_id, resource_type, quantity, occur_time, attributes, period_start";

// Counts a batch's share of each counter (`$1`…`$7`: tenant_id, resource_type (the counter),
// period_start, aggregation, quantity, latest_time, latest_key), counters locked in key order,
// so concurrent flushes and admission batches on several replicas lock in one order and cannot
// deadlock: a sum or count adds its quantity, a max keeps the larger, a latest value replaces
// the counter's when its time and key come later; a unique_count counter comes with quantity 0,
// only to be locked before its members are added (MEMBERS_SQL). A share below zero
// (allocations given back) lowers its counter apart, never below zero. The upsert reads the new
// values from `excluded` only, which a distributed database can run on each shard as it is.
// Counters that reached their watch level are queued for the settle sweep (grant draws,
// thresholds), in the same transaction. The same statement adds the batch to the report
// rollups (`$8`…`$18`: tenant_id, resource_type, bucket_start, attributes, quantity, events,
// max, latest, latest_time, latest_key, and the attribute names kept, comma-separated; one row
// per resource, quarter hour and dimension values, aggregated exactly before the flush), in
// key order: a sum and a count add up, a maximum keeps the larger, the latest value the later;
// a row merged with one that kept other names keeps the names both kept. The rollups are
// written only once the counters are locked (the `counted` condition), so a correction that
// holds a counter and rebuilds the rollups of its quarter hours never misses a flush's rows.
const LATER = `(excluded.latest_time, excluded.latest_key)
  > (coalesce(c.latest_time, '-infinity'), coalesce(c.latest_key, ''))`;
const NEWER = "(excluded.latest_time, excluded.latest_key) > (r.latest_time, r.latest_key)";
const COUNT_BATCH_SQL = `
with sums as (
  select * from unnest($1::uuid[], $2::text[], $3::timestamptz[], $4::text[], $5::numeric[],
    $6::timestamptz[], $7::text[])
    as s(tenant_id, resource_type, period_start, aggregation, quantity, latest_time, latest_key)
), counted as (
  insert into usage_counters as c
    (tenant_id, resource_type, period_start, used, reserved, aggregation, latest_time, latest_key)
  select tenant_id, resource_type, period_start, quantity, 0, aggregation, latest_time, latest_key
  from sums where quantity >= 0 order by tenant_id, resource_type, period_start
  on conflict (tenant_id, resource_type, period_start) do update
    set used = case excluded.aggregation
        when 'max' then greatest(c.used, excluded.used)
        when 'latest' then case when ${LATER} then excluded.used else c.used end
        else c.used + excluded.used end,
      latest_time = case when excluded.aggregation = 'latest' and ${LATER}
        then excluded.latest_time else c.latest_time end,
      latest_key = case when excluded.aggregation = 'latest' and ${LATER}
        then excluded.latest_key else c.latest_key end
  returning c.tenant_id, c.resource_type, c.period_start, c.used, c.watch_from
), lowered as (
  update usage_counters c set used = greatest(c.used + s.quantity, 0)
  from sums s
  where s.quantity < 0 and c.tenant_id = s.tenant_id and c.resource_type = s.resource_type
    and c.period_start = s.period_start
), queued as (
  insert into counter_settle_queue (tenant_id, resource_type, period_start)
  select tenant_id, resource_type, period_start from counted where used >= watch_from
), rolled as (
  insert into usage_rollups as r (tenant_id, resource_type, bucket_start, attributes, quantity,
    events, max, latest, latest_time, latest_key, kept)
  select t, r, b, a, q, e, m, l, lt, lk, string_to_array(k, ',')
  from unnest($8::uuid[], $9::text[], $10::timestamptz[], $11::jsonb[], $12::numeric[],
    $13::bigint[], $14::numeric[], $15::numeric[], $16::timestamptz[], $17::text[], $18::text[])
    as x(t, r, b, a, q, e, m, l, lt, lk, k)
  where (select count(*) from counted) >= 0
  order by 1, 2, 3, 4
  on conflict (tenant_id, resource_type, bucket_start, attributes) do update
    set quantity = r.quantity + excluded.quantity, events = r.events + excluded.events,
      max = greatest(r.max, excluded.max),
      latest = case when ${NEWER} then excluded.latest else r.latest end,
      latest_time = greatest(r.latest_time, excluded.latest_time),
      latest_key = case when ${NEWER} then excluded.latest_key else r.latest_key end,
      kept = case when r.kept is null then excluded.kept
        else array(select unnest(r.kept) intersect select unnest(excluded.kept) order by 1) end
)
select count(*)::int as counters from counted`;

// The members of a batch's unique_count events ($1…$4: tenant_id, counter, period_start,
// member), after COUNT_BATCH_SQL has locked their counters: each member not counted before
// (by an earlier event or an admission) is stored and adds 1 to its counter.
const MEMBERS_SQL = `
with added as (
  insert into meter_members (tenant_id, resource_type, period_start, member)
  select * from unnest($1::uuid[], $2::text[], $3::timestamptz[], $4::text[])
  order by 1, 2, 3, 4
  on conflict do nothing
  returning tenant_id, resource_type, period_start
), counts as (
  select tenant_id, resource_type, period_start, count(*) as n from added group by 1, 2, 3
), counted as (
  update usage_counters c set used = c.used + n.n
  from counts n
  where c.tenant_id = n.tenant_id and c.resource_type = n.resource_type
    and c.period_start = n.period_start
  returning c.tenant_id, c.resource_type, c.period_start, c.used, c.watch_from
), queued as (
  insert into counter_settle_queue (tenant_id, resource_type, period_start)
  select tenant_id, resource_type, period_start from counted where used >= watch_from
)
select count(*)::int as counters from counted`;

// The path of a batch that repeats stored events: inserts the new ones, skipping
// `(tenant_id, event_id)` pairs stored before or by a concurrent flush, and returns the
// incoming rows that were already stored; the caller counts the rest.
const dedupeFrom = (incoming: string) => `
with incoming as (${incoming}), inserted as (
  insert into usage_events (${COLUMNS})
  select ${COLUMNS} from incoming order by tenant_id, event_id
  on conflict (tenant_id, event_id) do nothing
  returning tenant_id, event_id
)
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
    return knex.transaction(async (trx) => {
      const duplicates = (
        await trx.raw<{ rows: DuplicateRow[] }>(DEDUPE_JSON_SQL, [JSON.stringify(rows)])
      ).rows;
      await countEvents(statementIn(trx), storedOnly(events, duplicates));
      return duplicates;
    });
  };

  // In the flush's transaction, after `savepoint batch`: COPY the batch straight into
  // usage_events (the primary key refuses the whole COPY if any event was stored before, or is
  // being stored by a concurrent flush, which it first waits for), then count the batch. When
  // the COPY is refused, roll back to the savepoint, store only the new events and count those.
  const writeBatch = async (connection: pg.ClientBase, events: UsageEvent[]) => {
    const lines = eventLines(events);
    const query = (sql: string, values: unknown[]) => connection.query(sql, values);
    try {
      await copyLines(connection, COPY_EVENTS_SQL, lines);
      await countEvents(query, events);
      return [];
    } catch (error) {
      // The COPY met an event stored before (or being stored by a concurrent flush).
      if (!isUniqueViolation(error, "usage_events_pkey")) throw error;
      await connection.query("rollback to savepoint batch");
    }
    await connection.query(STAGING_DDL);
    await copyLines(connection, COPY_STAGING_SQL, lines);
    const duplicates = (await connection.query<DuplicateRow>(DEDUPE_STAGED_SQL)).rows;
    await countEvents(query, storedOnly(events, duplicates));
    return duplicates;
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

    async report(query, meters, signal) {
      return runCancellableRead(reads, signal, (trx) => runReport(trx, query, meters));
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

// The events of a batch that were not duplicates.
function storedOnly(events: UsageEvent[], duplicates: DuplicateRow[]): UsageEvent[] {
  if (duplicates.length === 0) return events;
  const seen = new Set(duplicates.map((d) => eventKey(d.tenant_id, d.event_id)));
  return events.filter((e) => !seen.has(eventKey(e.tenantId, e.eventId)));
}

/** One counter's share of a batch, aggregated exactly (decimal.js) before the flush. */
interface Share {
  tenantId: string;
  counter: string;
  periodStart: Date;
  aggregation: string;
  quantity: Decimal;
  /** A latest counter's candidate: the latest event's time and id. */
  latest: { time: Date; key: string } | undefined;
}

// Each counter's share of the batch and the unique_count members, as the parallel arrays
// COUNT_BATCH_SQL and MEMBERS_SQL take. An event counts on its resource's total and on each
// dimension limit its attributes select; a plain sum meter (most resources) takes the short way.
function sharesOf(events: UsageEvent[]) {
  const shares = new Map<string, Share>();
  const members = new Map<string, [string, string, Date, string]>();
  const add = (e: UsageEvent, counter: string, aggregation: string) => {
    const key = `${e.tenantId}/${counter}/${e.periodStart.getTime()}`;
    let share = shares.get(key);
    if (share === undefined) {
      share = {
        tenantId: e.tenantId,
        counter,
        periodStart: e.periodStart,
        aggregation,
        quantity: new Decimal(0),
        latest: undefined,
      };
      shares.set(key, share);
    }
    switch (aggregation) {
      case "unique_count": {
        const member = e.attributes[e.meter?.uniqueKey ?? ""] ?? "";
        members.set(`${key}/${member}`, [e.tenantId, counter, e.periodStart, member]);
        break;
      }
      case "count":
        share.quantity = share.quantity.plus(1);
        break;
      case "max":
        share.quantity = Decimal.max(share.quantity, e.quantity);
        break;
      case "latest":
        if (share.latest === undefined || isLater(e, share.latest)) {
          share.latest = { time: e.occurTime, key: e.eventId };
          share.quantity = new Decimal(e.quantity);
        }
        break;
      default:
        share.quantity = share.quantity.plus(e.quantity);
    }
  };
  for (const e of events) {
    const meter = e.meter;
    if (meter === undefined || (meter.aggregation === "sum" && meter.selectors.length === 0)) {
      add(e, e.resourceType, "sum");
    } else {
      for (const counter of countersOf(meter, e.attributes)) add(e, counter, meter.aggregation);
    }
  }
  const rows = [...shares.values()];
  const memberRows = [...members.values()];
  return {
    sums: [
      rows.map((r) => r.tenantId),
      rows.map((r) => r.counter),
      rows.map((r) => r.periodStart),
      rows.map((r) => r.aggregation),
      rows.map((r) => r.quantity.toFixed()),
      rows.map((r) => r.latest?.time ?? null),
      rows.map((r) => r.latest?.key ?? null),
    ],
    members: [
      memberRows.map((m) => m[0]),
      memberRows.map((m) => m[1]),
      memberRows.map((m) => m[2]),
      memberRows.map((m) => m[3]),
    ] as [string[], string[], Date[], string[]],
  };
}

/** The events of one resource with the same attributes in one quarter hour. */
interface Rollup {
  tenantId: string;
  resourceType: string;
  bucketStart: Date;
  attributes: string;
  /** The attribute names kept: the meter's dimensions. */
  kept: string;
  quantity: Decimal;
  events: number;
  max: Decimal;
  latest: { value: Decimal; time: Date; key: string };
}

/** The width of a rollup row's time bucket: a quarter hour. */
export const ROLLUP_BUCKET_MS = 15 * 60_000;

/** The start of the quarter hour whose rollup rows count an event at `time`. */
export function rollupBucketOf(time: Date): Date {
  return new Date(Math.floor(time.getTime() / ROLLUP_BUCKET_MS) * ROLLUP_BUCKET_MS);
}

const NO_DIMENSIONS: readonly string[] = [];

// Each rollup row's share of a batch. Of an event's attributes only its meter's dimensions are
// kept, written with sorted keys, so equal dimension values are one row of the batch (as jsonb,
// which orders keys, makes them one row of the table). unique_count resources are left out:
// their reports count distinct members, which only the events hold.
function rollupsOf(events: UsageEvent[]): Rollup[] {
  const rows = new Map<string, Rollup>();
  for (const e of events) {
    if (e.meter?.aggregation === "unique_count") continue;
    const dimensions = e.meter?.dimensions ?? NO_DIMENSIONS;
    const attributes = dimensionsJson(e.attributes, dimensions);
    const bucket = rollupBucketOf(e.occurTime).getTime();
    const key = `${e.tenantId}/${e.resourceType}/${bucket}/${attributes}`;
    const quantity = new Decimal(e.quantity);
    const row = rows.get(key);
    if (row === undefined) {
      rows.set(key, {
        tenantId: e.tenantId,
        resourceType: e.resourceType,
        bucketStart: new Date(bucket),
        attributes,
        kept: dimensions.join(","),
        quantity,
        events: 1,
        max: quantity,
        latest: { value: quantity, time: e.occurTime, key: e.eventId },
      });
      continue;
    }
    row.quantity = row.quantity.plus(quantity);
    row.events += 1;
    if (quantity.gt(row.max)) row.max = quantity;
    if (isLater(e, row.latest)) row.latest = { value: quantity, time: e.occurTime, key: e.eventId };
  }
  return [...rows.values()];
}

// The rollup rows as the parallel arrays COUNT_BATCH_SQL takes.
function columnsOf(all: Rollup[]) {
  return [
    all.map((r) => r.tenantId),
    all.map((r) => r.resourceType),
    all.map((r) => r.bucketStart),
    all.map((r) => r.attributes),
    all.map((r) => r.quantity.toFixed()),
    all.map((r) => r.events),
    all.map((r) => r.max.toFixed()),
    all.map((r) => r.latest.value.toFixed()),
    all.map((r) => r.latest.time),
    all.map((r) => r.latest.key),
    all.map((r) => r.kept),
  ];
}

// Whether an event comes after the one a latest value holds: a later time, or at the same time
// a greater event id.
function isLater(e: UsageEvent, latest: { time: Date; key: string }): boolean {
  const at = e.occurTime.getTime();
  const then = latest.time.getTime();
  return at > then || (at === then && e.eventId > latest.key);
}

// The attributes named in `names` (a meter's dimensions, sorted) that the event has, as JSON
// with sorted keys, written directly: ingestion runs this for every event.
function dimensionsJson(attributes: Record<string, string>, names: readonly string[]): string {
  let json = "";
  for (const name of names) {
    const value = attributes[name];
    if (value === undefined) continue;
    json += `${json === "" ? "{" : ","}${JSON.stringify(name)}:${JSON.stringify(value)}`;
  }
  return json === "" ? "{}" : `${json}}`;
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
