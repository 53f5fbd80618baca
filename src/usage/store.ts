import { Decimal } from "decimal.js";
import type { Knex } from "knex";
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
  report(query: {
    tenantId: string;
    resourceType: string | undefined;
    start: Date;
    end: Date;
    granularity: "hour" | "day";
  }): Promise<UsageReport>;
}

/** The key that identifies an event for deduplication. */
export function eventKey(tenantId: string, eventId: string): string {
  return `${tenantId}\u0000${eventId}`;
}

// Rows are inserted in key order, and counters updated in key order, so concurrent flushes on
// several replicas take their row locks in one order and cannot deadlock.
const FLUSH_SQL = `
with incoming as (
  select * from jsonb_to_recordset(?::jsonb) as t(
    tenant_id uuid, event_id text, resource_type text, quantity numeric,
    occur_time timestamptz, attributes jsonb, period_start timestamptz)
), inserted as (
  insert into usage_events
    (tenant_id, event_id, resource_type, quantity, occur_time, attributes, period_start)
  select tenant_id, event_id, resource_type, quantity, occur_time, attributes, period_start
  from incoming order by tenant_id, event_id
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
)
select i.tenant_id, i.event_id from incoming i
where not exists (
  select 1 from inserted x where x.tenant_id = i.tenant_id and x.event_id = i.event_id)`;

/** Creates the usage store over the given connection. */
export function createUsageStore(knex: Knex): UsageStore {
  return {
    async flush(events) {
      const rows = events.map((e) => ({
        tenant_id: e.tenantId,
        event_id: e.eventId,
        resource_type: e.resourceType,
        quantity: e.quantity,
        occur_time: e.occurTime.toISOString(),
        attributes: e.attributes,
        period_start: e.periodStart.toISOString(),
      }));
      const result = await knex.raw(FLUSH_SQL, [JSON.stringify(rows)]);
      const duplicates = new Set<string>();
      for (const row of result.rows as { tenant_id: string; event_id: string }[]) {
        duplicates.add(eventKey(row.tenant_id, row.event_id));
      }
      return duplicates;
    },

    async report(query) {
      const rows = await knex("usage_events")
        .where({ tenant_id: query.tenantId })
        .where("occur_time", ">=", query.start)
        .where("occur_time", "<", query.end)
        .modify((q) => {
          if (query.resourceType !== undefined) q.where({ resource_type: query.resourceType });
        })
        .select(
          "resource_type",
          knex.raw("date_trunc(?, occur_time, 'UTC') as bucket", [query.granularity]),
          knex.raw("sum(quantity)::text as quantity"),
        )
        .groupBy("resource_type", "bucket")
        .orderBy([{ column: "bucket" }, { column: "resource_type" }]);
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
