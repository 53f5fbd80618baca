import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { Decimal } from "decimal.js";
import type { Knex } from "knex";
import type pg from "pg";
import { from as copyFrom } from "pg-copy-streams";
import { type ReadPools, runCancellableRead } from "../db/cancellable-read.js";
import type { UsageEvent, UsageReport } from "./usage.js";

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
  report(
    query: {
      tenantId: string;
      resourceType: string | undefined;
      start: Date;
      end: Date;
      granularity: "hour" | "day";
    },
    signal?: AbortSignal,
  ): Promise<UsageReport>;
}

/** The key that identifies an event for deduplication. */
export function eventKey(tenantId: string, eventId: string): string {
  return `${tenantId}\u0000${eventId}`;
}

const COLUMNS =
  "tenant_id, event_id, resource_type, quantity, occur_time, attributes, period_start";

// Stores the rows of `incoming` and counts them. Rows are inserted in key order, and counters
// updated in key order, so concurrent flushes on several replicas take their row locks in one
// order and cannot deadlock. Counters that reached their watch level are queued for the settle
// sweep (grant draws, thresholds), in the same transaction. Returns the incoming rows that
// were already stored.
const flushFrom = (incoming: string) => `
with incoming as (${incoming}), inserted as (
  insert into usage_events (${COLUMNS})
  select ${COLUMNS} from incoming order by tenant_id, event_id
  on conflict (tenant_id, event_id) do nothing
  returning tenant_id, event_id, resource_type, quantity, period_start
), sums as (
  select tenant_id, resource_type, period_start, sum(quantity) as quantity
  from inserted group by tenant_id, resource_type, period_start
), counted as (
  insert into usage_counters as c (tenant_id, resource_type, period_start, used, reserved)
  select tenant_id, resource_type, period_start, greatest(quantity, 0), 0
  from sums order by tenant_id, resource_type, period_start
  on conflict (tenant_id, resource_type, period_start) do update
    set used = greatest(c.used + (
      select s.quantity from sums s
      where s.tenant_id = excluded.tenant_id and s.resource_type = excluded.resource_type
        and s.period_start = excluded.period_start), 0)
  returning c.tenant_id, c.resource_type, c.period_start, c.used, c.watch_from
), queued as (
  insert into counter_settle_queue (tenant_id, resource_type, period_start)
  select tenant_id, resource_type, period_start from counted where used >= watch_from
)
select i.tenant_id, i.event_id from incoming i
where not exists (
  select 1 from inserted x where x.tenant_id = i.tenant_id and x.event_id = i.event_id)`;

// PGlite has no COPY from a client stream: the batch arrives as one JSON parameter.
const FLUSH_JSON_SQL = flushFrom(`
  select * from jsonb_to_recordset(?::jsonb) as t(
    tenant_id uuid, event_id text, resource_type text, quantity numeric,
    occur_time timestamptz, attributes jsonb, period_start timestamptz)`);

// On PostgreSQL the batch is copied into a temporary table of the flush's own session, emptied
// at commit, which parses several times faster than a JSON parameter.
// Times travel as epoch milliseconds, which are far cheaper to write than ISO strings, and
// are turned into exact timestamps here.
const STAGING_DDL = `
create temporary table if not exists usage_staging (
  tenant_id uuid, event_id text, resource_type text, quantity numeric,
  occur_ms bigint, attributes jsonb, period_ms bigint
) on commit delete rows`;
const COPY_SQL = `copy usage_staging from stdin`;
const FLUSH_STAGED_SQL = flushFrom(`
  select tenant_id, event_id, resource_type, quantity,
    timestamptz 'epoch' + occur_ms * interval '1 millisecond' as occur_time, attributes,
    timestamptz 'epoch' + period_ms * interval '1 millisecond' as period_start
  from usage_staging`);

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
    return (await knex.raw(FLUSH_JSON_SQL, [JSON.stringify(rows)])).rows as DuplicateRow[];
  };
  const flushCopy = (events: UsageEvent[]) =>
    knex.transaction(async (trx) => {
      const connection = (await trx.client.acquireConnection()) as pg.ClientBase;
      await connection.query(STAGING_DDL);
      await pipeline(
        Readable.from([events.map(toCopyLine).join("")]),
        connection.query(copyFrom(COPY_SQL)),
      );
      return (await connection.query(FLUSH_STAGED_SQL)).rows as DuplicateRow[];
    });
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
          .select(
            "resource_type",
            trx.raw("date_trunc(?, occur_time, 'UTC') as bucket", [query.granularity]),
            trx.raw("sum(quantity)::text as quantity"),
          )
          .groupBy("resource_type", "bucket")
          .orderBy([{ column: "bucket" }, { column: "resource_type" }]),
      );
      const totals = new Map<string, Decimal>();
      const series = rows.map((row: { resource_type: string; bucket: Date; quantity: string }) => {
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

interface DuplicateRow {
  tenant_id: string;
  event_id: string;
}

// COPY's text format: tab-separated columns, one line a row, and backslash escapes for the
// characters that would break that framing. Validation has already excluded NUL.
function toCopyLine(e: UsageEvent): string {
  return `${e.tenantId}\t${copyText(e.eventId)}\t${e.resourceType}\t${e.quantity}\t${e.occurTime.getTime()}\t${copyText(JSON.stringify(e.attributes))}\t${e.periodStart.getTime()}\n`;
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
