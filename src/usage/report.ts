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

/**
 * The usage report over `usage_events`, in one scan: every bucket and every total of each
 * resource and group, by grouping sets, so a total aggregates the whole range on its own (a
 * unique_count over a month is not the sum of its days). Buckets align to the hour, day or
 * month of the query's time zone (`date_trunc` with a zone: exact across daylight-saving
 * changes). Distinct members and latest values are computed only for resources whose meters
 * need them.
 */
export function reportQuery(trx: Knex.Transaction, query: UsageQuery, meters: Meter[]) {
  const unique = meters.filter((m) => m.aggregation === "unique_count");
  const latest = meters.filter((m) => m.aggregation === "latest").map((m) => m.resourceType);
  const groups = query.groupBy.map(() => "coalesce(e.attributes ->> ?, '')");
  const memberOf =
    unique.length === 0
      ? "null::text"
      : `e.attributes ->> (case e.resource_type ${unique.map(() => "when ? then ?").join(" ")} end)`;
  const inner = trx("usage_events as e")
    .where("e.tenant_id", query.tenantId)
    .where("e.occur_time", ">=", query.start)
    .where("e.occur_time", "<", query.end)
    .modify((q) => {
      if (query.resourceType !== undefined) q.where("e.resource_type", query.resourceType);
      if (Object.keys(query.filter).length > 0) {
        q.whereRaw("e.attributes @> ?::jsonb", [JSON.stringify(query.filter)]);
      }
    })
    .select(
      "e.resource_type",
      "e.quantity",
      "e.occur_time",
      "e.event_id",
      trx.raw("date_trunc(?, e.occur_time, ?) as bucket", [query.granularity, query.timeZone]),
      trx.raw(`array[${groups.join(", ") || ""}]::text[] as groups`, query.groupBy),
      trx.raw(
        `${memberOf} as member`,
        unique.flatMap((m) => [m.resourceType, m.uniqueKey as string]),
      ),
    );
  return trx
    .from(inner.as("x"))
    .select<ReportRow[]>(
      "x.resource_type",
      trx.raw("grouping(x.bucket) = 1 as whole"),
      "x.bucket",
      "x.groups",
      trx.raw("sum(x.quantity)::text as sum"),
      trx.raw("count(*)::text as count"),
      trx.raw("max(x.quantity)::text as max"),
      trx.raw(unique.length === 0 ? "null as unique" : "count(distinct x.member)::text as unique"),
      trx.raw(
        latest.length === 0
          ? "null as latest"
          : `(array_agg(x.quantity order by x.occur_time desc, x.event_id desc)
              filter (where x.resource_type = any(?)))[1]::text as latest`,
        latest.length === 0 ? [] : [latest],
      ),
    )
    .groupByRaw(
      "grouping sets ((x.resource_type, x.bucket, x.groups), (x.resource_type, x.groups))",
    )
    .orderByRaw("x.bucket nulls first, x.resource_type, x.groups");
}

/** The report from the query's rows: each figure is the resource's own aggregation. */
export function toReport(rows: ReportRow[], query: UsageQuery, meters: Meter[]): UsageReport {
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
