import { mayAccessTenant } from "../auth/policy.js";
import { type PlanCatalog, unknownResourceDescription } from "../catalog/catalog.js";
import type { Actor } from "../platform/calls/actor.js";
import { DECIMAL_PATTERN, parseQuantity } from "../platform/validation/decimal.js";
import {
  createFieldChecks,
  NOT_IDENTIFIER_FAST,
  NOT_TEXT_FAST,
  UUID_PATTERN,
} from "../platform/validation/field-checks.js";
import { eventTimeBounds, FIELD_RULES, WIRE_TIME } from "../platform/validation/field-rules.js";
import type { RawUsageEvent, RejectionCode, UsageEvent, UsageQuery } from "./usage.js";

const ATTRIBUTES = FIELD_RULES.attributes;
const EARLIEST = FIELD_RULES.earliestEventTime.getTime();

/** A valid event without its period yet, or the reason it is rejected and its code. */
export type EventCheck =
  | { ok: true; event: Omit<UsageEvent, "periodStart"> }
  | { ok: false; reason: string; code: RejectionCode };

/**
 * Validates one event on its own: a bad event is rejected and reported, and never fails the
 * other events of its call. The caller's key must be allowed to record for the event's tenant
 * (a tenant key only for its own).
 */
export function checkEvent(
  raw: RawUsageEvent,
  catalog: PlanCatalog,
  now: Date,
  actor: Pick<Actor, "tenantId">,
  lateWindowMs: number,
): EventCheck {
  // Ingestion runs this for every event, so well-formed events take an allocation-free path;
  // only an event that fails it is checked again field by field to say why.
  const checked = quickCheck(raw, catalog, now) ?? fullCheck(raw, catalog, now);
  if (!checked.ok) return checked;
  if (!mayAccessTenant(actor, checked.event.tenantId)) {
    return {
      ok: false,
      code: "PERMISSION_DENIED",
      reason: `permission denied: this API key may not record for tenant ${checked.event.tenantId}`,
    };
  }
  if (checked.event.occurTime.getTime() < now.getTime() - lateWindowMs) {
    return {
      ok: false,
      code: "EVENT_TOO_OLD",
      reason: `occur_time: is more than ${lateWindowMs / 3_600_000} hours old (USAGE_LATE_WINDOW_HOURS); usage that old can no longer be billed`,
    };
  }
  // A unique_count event names its member, or there is nothing to count.
  const { uniqueKey } = catalog.meterOf(raw.resourceType);
  if (uniqueKey !== undefined && !raw.attributes[uniqueKey]) {
    return {
      ok: false,
      code: "INVALID_EVENT",
      reason: `attributes[${JSON.stringify(uniqueKey)}]: is required: ${raw.resourceType} counts distinct ${uniqueKey} values`,
    };
  }
  return checked;
}

function fullCheck(raw: RawUsageEvent, catalog: PlanCatalog, now: Date): EventCheck {
  const checks = createFieldChecks();
  checks.identifier("event_id", raw.eventId, { max: FIELD_RULES.eventIdMax, required: true });
  checks.uuid("tenant_id", raw.tenantId);
  const kind = catalog.resourceKinds.get(raw.resourceType);
  checks.check(kind !== undefined, "resource_type", unknownResourceDescription(catalog));
  const quantity = parseQuantity(
    checks,
    "quantity",
    raw.quantity,
    kind === "allocation" ? "non-zero" : "positive",
  );
  const occurTime = raw.occurTime ?? now;
  checks.time("occur_time", occurTime, eventTimeBounds(now));
  checks.stringMap("attributes", raw.attributes, ATTRIBUTES);
  const violations = checks.violations();
  if (violations.length > 0) {
    // An event whose only fault is being ahead of the clock says so in its code.
    const ahead =
      occurTime.getTime() > now.getTime() + FIELD_RULES.futureSkewMs &&
      violations.every((v) => v.field === "occur_time");
    return {
      ok: false,
      code: ahead ? "EVENT_IN_FUTURE" : "INVALID_EVENT",
      reason: violations.map((v) => `${v.field}: ${v.description}`).join("; "),
    };
  }
  return validEvent(raw, quantity?.toFixed() ?? "", occurTime);
}

// True only for events fullCheck would accept as they are: a positive plain quantity, every
// field within bounds and free of characters PostgreSQL cannot store. Anything else
// (including negative allocations and non-BMP text) goes to fullCheck.
function quickCheck(raw: RawUsageEvent, catalog: PlanCatalog, now: Date): EventCheck | undefined {
  const quantity = raw.quantity === "" ? "1" : raw.quantity;
  const occurTime = raw.occurTime ?? now;
  const time = occurTime.getTime();
  const attributes = Object.entries(raw.attributes);
  const ok =
    raw.eventId.length >= 1 &&
    raw.eventId.length <= FIELD_RULES.eventIdMax &&
    raw.eventId.trim() !== "" &&
    !NOT_IDENTIFIER_FAST.test(raw.eventId) &&
    UUID_PATTERN.test(raw.tenantId) &&
    catalog.resourceKinds.has(raw.resourceType) &&
    DECIMAL_PATTERN.test(quantity) &&
    !quantity.startsWith("-") &&
    /[1-9]/.test(quantity) &&
    time >= EARLIEST &&
    time <= now.getTime() + FIELD_RULES.futureSkewMs &&
    attributes.length <= ATTRIBUTES.maxEntries &&
    attributes.every(
      ([k, v]) =>
        k.length >= 1 &&
        k.length <= ATTRIBUTES.maxKey &&
        v.length <= ATTRIBUTES.maxValue &&
        !NOT_IDENTIFIER_FAST.test(k) &&
        !NOT_TEXT_FAST.test(v),
    );
  return ok ? validEvent(raw, quantity, occurTime) : undefined;
}

function validEvent(raw: RawUsageEvent, quantity: string, occurTime: Date): EventCheck {
  return {
    ok: true,
    event: {
      tenantId: raw.tenantId.toLowerCase(),
      eventId: raw.eventId,
      resourceType: raw.resourceType,
      quantity,
      occurTime,
      attributes: raw.attributes,
    },
  };
}

/** GetUsage as it arrives. */
export interface RawUsageQuery {
  tenantId: string;
  /** Empty for every resource. */
  resourceType: string;
  start: Date | undefined;
  end: Date | undefined;
  /** `hour`, `day`, `month`, or empty for `day`. */
  granularity: string;
  groupBy: string[];
  filter: Record<string, string>;
  /** Empty for UTC. */
  timeZone: string;
}

/** Attributes a report may group by at once. */
const MAX_GROUP_BY = 4;

const DAY_MS = 86_400_000;

/**
 * GetUsage's query, every problem at once: a known resource when one is named, both ends of
 * the window in order, and a window short enough for the granularity (about 400 days of
 * hours, 10 years of days) so one report stays bounded.
 */
export function validateUsageQuery(catalog: PlanCatalog, query: RawUsageQuery): UsageQuery {
  const checks = createFieldChecks();
  checks.uuid("tenant_id", query.tenantId);
  if (query.resourceType !== "") {
    checks.check(
      catalog.resourceKinds.has(query.resourceType),
      "resource_type",
      unknownResourceDescription(catalog),
    );
  }
  checks.check(
    ["", "hour", "day", "month"].includes(query.granularity),
    "granularity",
    "must be a Granularity value",
  );
  checks.check(
    query.groupBy.length <= MAX_GROUP_BY,
    "group_by",
    `must name at most ${MAX_GROUP_BY} attributes`,
  );
  checks.check(
    new Set(query.groupBy).size === query.groupBy.length,
    "group_by",
    "must not name an attribute twice",
  );
  for (const [i, name] of query.groupBy.entries()) {
    checks.identifier(`group_by[${i}]`, name, { max: ATTRIBUTES.maxKey, required: true });
  }
  checks.stringMap("filter", query.filter, ATTRIBUTES);
  checks.check(
    query.timeZone === "" || isTimeZone(query.timeZone),
    "time_zone",
    "must be an IANA time zone such as Europe/Berlin, or empty for UTC",
  );
  const start =
    checks.check(query.start !== undefined, "start_time", "is required") &&
    checks.time("start_time", query.start as Date, WIRE_TIME);
  const end =
    checks.check(query.end !== undefined, "end_time", "is required") &&
    checks.time("end_time", query.end as Date, WIRE_TIME);
  if (start && end && query.start && query.end) {
    const span = query.end.getTime() - query.start.getTime();
    checks.check(span > 0, "end_time", "must be after start_time");
    const maxDays = query.granularity === "hour" ? 400 : 3_700;
    checks.check(
      span <= maxDays * DAY_MS,
      "end_time",
      `must be at most ${maxDays} days after start_time for this granularity`,
    );
  }
  checks.throwIfAny();
  return {
    tenantId: query.tenantId.toLowerCase(),
    resourceType: query.resourceType || undefined,
    start: query.start as Date,
    end: query.end as Date,
    granularity:
      query.granularity === "" ? "day" : (query.granularity as UsageQuery["granularity"]),
    groupBy: query.groupBy,
    filter: query.filter,
    timeZone: query.timeZone || "UTC",
  };
}

// Whether the runtime's time zone database knows the name (it is PostgreSQL's too: both
// carry the IANA database).
function isTimeZone(name: string): boolean {
  if (name.length > 64) return false;
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: name });
    return true;
  } catch {
    return false;
  }
}
