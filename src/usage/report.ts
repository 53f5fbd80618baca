import type { Knex } from "knex";
import type { Meter } from "../catalog/meters.js";
import type { UsageQuery, UsageReport } from "./usage.js";

/** A row of the report query: a bucket's figures (`whole` false) or a total's (`whole` true). */
interface ReportRow {
  resource_type: string;
  whole: boolean;
  bucket: Date | null;
  groups: string[];
  sum: string;
  count: string;
  max: string;
  unique: string | null;
  latest: string | null;
}

const QUARTER_MS = 15 * 60_000;

/**
 * The usage report: every bucket and every total of each resource and group, by grouping
 * sets, so a total aggregates the whole range on its own (a unique_count over a month is not
 * the sum of its days). Buckets align to the hour, day or month of the query's time zone
 * (`date_trunc` with a zone: exact across daylight-saving changes).
 *
 * Sums, counts, maxima and latest values are read from `usage_rollups` (one row per resource,
 * quarter hour and dimension values) when the range starts and ends on quarter hours, as
 * every zone's hours, days and months do, and every rollup row of the range kept the
 * attributes the query groups or filters by (a meter's dimensions; rows of events stored
 * before rollups kept all). Distinct members (unique_count), ranges cut inside a quarter hour
 * and other attributes are read from `usage_events`. Both feed the same aggregation.
 */
export async function runReport(
  trx: Knex.Transaction,
  query: UsageQuery,
  meters: Meter[],
): Promise<UsageReport> {
  const whole = [query.start, query.end].every((t) => t.getTime() % QUARTER_MS === 0);
  const rollable = meters.filter((m) => m.aggregation !== "unique_count");
  const usable = whole && rollable.length > 0 && (await rollupsKeep(trx, query, rollable));
  const fromEvents = meters.filter((m) => !usable || m.aggregation === "unique_count");
  const fromRollups = meters.filter((m) => !fromEvents.includes(m));
  const parts = await Promise.all([
    fromRollups.length > 0 ? reportQuery(trx, query, fromRollups, "rollups") : [],
    fromEvents.length > 0 ? reportQuery(trx, query, fromEvents, "events") : [],
  ]);
  return toReport(parts.flat().sort(compareRows), query, meters);
}

// Whether every rollup row of the range kept the attributes the query groups or filters by.
async function rollupsKeep(trx: Knex.Transaction, query: UsageQuery, meters: Meter[]) {
  const names = [...new Set([...query.groupBy, ...Object.keys(query.filter)])];
  if (names.length === 0) return true;
  const lacking = await trx("usage_rollups as r")
    .where("r.tenant_id", query.tenantId)
    .whereIn(
      "r.resource_type",
      meters.map((m) => m.resourceType),
    )
    .where("r.bucket_start", ">=", query.start)
    .where("r.bucket_start", "<", query.end)
    .whereNotNull("r.kept")
    .whereRaw("not r.kept @> ?::text[]", [names])
    .first(trx.raw("1 as lacking"));
  return lacking === undefined;
}

// Each source as rows of one shape: a resource, its bucket and groups, and the figures every
// aggregation needs (an event is a rollup of one).
function source(
  trx: Knex.Transaction,
  query: UsageQuery,
  meters: Meter[],
  from: "rollups" | "events",
) {
  const unique = meters.filter((m) => m.aggregation === "unique_count");
  const attributes = from === "rollups" ? "r.attributes" : "r.event_attributes";
  const groups = query.groupBy.map(() => `coalesce(${attributes} ->> ?, '')`);
  const memberOf =
    unique.length === 0
      ? "null::text"
      : `${attributes} ->> (case r.resource_type ${unique.map(() => "when ? then ?").join(" ")} end)`;
  const table: Knex.QueryBuilder =
    from === "rollups"
      ? trx("usage_rollups as r")
          .where("r.bucket_start", ">=", query.start)
          .where("r.bucket_start", "<", query.end)
      : trx.from(
          trx("usage_events as e")
            .select(
              "e.tenant_id",
              "e.resource_type",
              "e.occur_time as bucket_start",
              "e.attributes as event_attributes",
              "e.quantity",
              trx.raw("1 as events"),
              "e.quantity as max",
              "e.quantity as latest",
              "e.occur_time as latest_time",
              "e.event_id as latest_key",
            )
            .where("e.tenant_id", query.tenantId)
            .whereNull("e.void_time")
            .where("e.occur_time", ">=", query.start)
            .where("e.occur_time", "<", query.end)
            .as("r"),
        );
  return table
    .where("r.tenant_id", query.tenantId)
    .whereIn(
      "r.resource_type",
      meters.map((m) => m.resourceType),
    )
    .whereRaw(
      Object.keys(query.filter).length > 0 ? `${attributes} @> ?::jsonb` : "true",
      Object.keys(query.filter).length > 0 ? [JSON.stringify(query.filter)] : [],
    )
    .select(
      "r.resource_type",
      "r.quantity",
      "r.events",
      "r.max",
      "r.latest",
      "r.latest_time",
      "r.latest_key",
      trx.raw("date_trunc(?, r.bucket_start, ?) as bucket", [query.granularity, query.timeZone]),
      trx.raw(`array[${groups.join(", ")}]::text[] as groups`, query.groupBy),
      trx.raw(
        `${memberOf} as member`,
        unique.flatMap((m) => [m.resourceType, m.uniqueKey as string]),
      ),
    );
}

function reportQuery(
  trx: Knex.Transaction,
  query: UsageQuery,
  meters: Meter[],
  from: "rollups" | "events",
) {
  const unique = meters.some((m) => m.aggregation === "unique_count");
  const latest = meters.filter((m) => m.aggregation === "latest").map((m) => m.resourceType);
  return trx
    .from(source(trx, query, meters, from).as("x"))
    .select<ReportRow[]>(
      "x.resource_type",
      trx.raw("grouping(x.bucket) = 1 as whole"),
      "x.bucket",
      "x.groups",
      trx.raw("sum(x.quantity)::text as sum"),
      trx.raw("sum(x.events)::text as count"),
      trx.raw("max(x.max)::text as max"),
      trx.raw(unique ? "count(distinct x.member)::text as unique" : "null as unique"),
      trx.raw(
        latest.length === 0
          ? "null as latest"
          : `(array_agg(x.latest order by x.latest_time desc, x.latest_key desc)
              filter (where x.resource_type = any(?)))[1]::text as latest`,
        latest.length === 0 ? [] : [latest],
      ),
    )
    .groupByRaw(
      "grouping sets ((x.resource_type, x.bucket, x.groups), (x.resource_type, x.groups))",
    );
}

// Totals first, then buckets by start; each by resource, then group.
function compareRows(a: ReportRow, b: ReportRow): number {
  const at = (row: ReportRow) => (row.whole ? -1 : (row.bucket?.getTime() ?? 0));
  if (at(a) !== at(b)) return at(a) - at(b);
  if (a.resource_type !== b.resource_type) return a.resource_type < b.resource_type ? -1 : 1;
  const ga = a.groups.join("\u0000");
  const gb = b.groups.join("\u0000");
  return ga < gb ? -1 : ga > gb ? 1 : 0;
}

/** The report from the query's rows: each figure is the resource's own aggregation. */
function toReport(rows: ReportRow[], query: UsageQuery, meters: Meter[]): UsageReport {
  const aggregationOf = new Map(meters.map((m) => [m.resourceType, m.aggregation]));
  const figure = (row: ReportRow) => {
    switch (aggregationOf.get(row.resource_type) ?? "sum") {
      case "count":
        return row.count;
      case "unique_count":
        return row.unique ?? "0";
      case "max":
        return row.max;
      case "latest":
        return row.latest ?? "0";
      default:
        return row.sum;
    }
  };
  const dimensionsOf = (row: ReportRow) =>
    Object.fromEntries(query.groupBy.map((name, i) => [name, row.groups[i] ?? ""]));
  const report: UsageReport = { totals: [], series: [] };
  for (const row of rows) {
    const entry = {
      resourceType: row.resource_type,
      quantity: figure(row),
      dimensions: dimensionsOf(row),
    };
    if (row.whole) report.totals.push(entry);
    else report.series.push({ ...entry, startTime: row.bucket as Date });
  }
  return report;
}
