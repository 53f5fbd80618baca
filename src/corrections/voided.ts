import { Decimal } from "decimal.js";
import type { PlanCatalog } from "../catalog/catalog.js";
import { countersOf, resourceOfCounter } from "../catalog/meters.js";
import type { UsageEventRow } from "../usage/rows.js";
import { rollupBucketOf } from "../usage/store.js";
import type { Recorded } from "./store.js";

/** One piece of usage a correction takes back: an event or a keyed admission. */
export interface Voided {
  /** The counters it counted on, each in `periodStart`. */
  counters: string[];
  resourceType: string;
  periodStart: Date;
  aggregation: string;
  /** What it added to a sum (a count adds 1), or the value it offered a max or latest. */
  quantity: Decimal;
  member: string | undefined;
  /** The key a latest counter holds it by: the event id, or '' for an admission. */
  key: string;
  /** An event's time, for its rollups; undefined for an admission. */
  occurTime: Date | undefined;
}

/** What voiding an ingested event takes back: what it counted on each counter its meter names. */
export function voidedEvent(catalog: PlanCatalog, row: UsageEventRow): Voided {
  const meter = catalog.meterOf(row.resource_type);
  return {
    counters: countersOf(meter, row.attributes),
    resourceType: row.resource_type,
    periodStart: new Date(row.period_start),
    aggregation: meter.aggregation,
    quantity: meter.aggregation === "count" ? new Decimal(1) : new Decimal(row.quantity),
    member: meter.uniqueKey === undefined ? undefined : row.attributes[meter.uniqueKey],
    key: row.event_id,
    occurTime: new Date(row.occur_time),
  };
}

/** What voiding a keyed admission takes back: what its stored answer says it counted. */
export function voidedAdmission(recorded: Recorded): Voided {
  return {
    counters: recorded.counters,
    resourceType: resourceOfCounter(recorded.counters[0] ?? ""),
    periodStart: new Date(recorded.periodStart),
    aggregation: recorded.aggregation,
    quantity: new Decimal(recorded.quantity),
    member: recorded.member,
    key: "",
    occurTime: undefined,
  };
}

/**
 * The quarter hours of each resource whose rollups the given events touch (admissions have
 * none; distinct counts are not rolled up).
 */
export function bucketsOf(
  catalog: PlanCatalog,
  times: { resourceType: string; occurTime: Date | undefined }[],
): { resourceType: string; buckets: Date[] }[] {
  const buckets = new Map<string, Map<number, Date>>();
  for (const { resourceType, occurTime } of times) {
    if (occurTime === undefined) continue;
    if (catalog.meterOf(resourceType).aggregation === "unique_count") continue;
    const bucket = rollupBucketOf(occurTime);
    let own = buckets.get(resourceType);
    if (own === undefined) {
      own = new Map();
      buckets.set(resourceType, own);
    }
    own.set(bucket.getTime(), bucket);
  }
  return [...buckets].map(([resourceType, own]) => ({ resourceType, buckets: [...own.values()] }));
}
