import { type PlanCatalog, unknownResourceDescription } from "../catalog/catalog.js";
import { MAX_PAGE_SIZE } from "../platform/pagination/page-token.js";
import { createFieldChecks } from "../platform/validation/field-checks.js";
import { checkRequestId, FIELD_RULES, WIRE_TIME } from "../platform/validation/field-rules.js";
import { checkEvent } from "../usage/inputs.js";
import type { UsageEvent } from "../usage/usage.js";
import type { RawEventListing, RawReplace, RawVoid } from "./corrections.js";
import type { EventListing } from "./store.js";

/** Most event ids, and most idempotency keys, one VoidUsage names. */
export const MAX_VOID_ITEMS = 1_000;
/** Most events one ReplaceUsage brings. */
export const MAX_REPLACEMENT_EVENTS = 10_000;
const REASON_MAX = 500;

/** VoidUsage's input, every problem at once; the tenant in canonical lower case. */
export function validateVoid(raw: RawVoid): RawVoid {
  const checks = createFieldChecks();
  checks.uuid("tenant_id", raw.tenantId);
  checks.check(
    raw.eventIds.length + raw.idempotencyKeys.length > 0,
    "event_ids",
    "name at least one event id or idempotency key",
  );
  checks.check(
    raw.eventIds.length <= MAX_VOID_ITEMS,
    "event_ids",
    `must name at most ${MAX_VOID_ITEMS} events`,
  );
  checks.check(
    raw.idempotencyKeys.length <= MAX_VOID_ITEMS,
    "idempotency_keys",
    `must name at most ${MAX_VOID_ITEMS} admissions`,
  );
  raw.eventIds.slice(0, MAX_VOID_ITEMS).forEach((id, i) => {
    checks.identifier(`event_ids[${i}]`, id, { max: FIELD_RULES.eventIdMax, required: true });
  });
  raw.idempotencyKeys.slice(0, MAX_VOID_ITEMS).forEach((key, i) => {
    checks.identifier(`idempotency_keys[${i}]`, key, { max: FIELD_RULES.idMax, required: true });
  });
  checks.text("reason", raw.reason, { max: REASON_MAX, required: true });
  checkRequestId(checks, "request_id", raw.requestId);
  checks.throwIfAny();
  return {
    ...raw,
    tenantId: raw.tenantId.toLowerCase(),
    eventIds: [...new Set(raw.eventIds)],
    idempotencyKeys: [...new Set(raw.idempotencyKeys)],
  };
}

/** ReplaceUsage's input, validated: the range and its events, each with its meter. */
export interface ValidReplace {
  tenantId: string;
  resourceType: string;
  start: Date;
  end: Date;
  /** The events without their period, which the service gives them. */
  events: Omit<UsageEvent, "periodStart">[];
  reason: string;
  requestId: string;
}

/**
 * ReplaceUsage's input, every problem at once: the range, and each event as ingestion would
 * check it, of this tenant and resource, inside the range, its id given once.
 */
export function validateReplace(
  catalog: PlanCatalog,
  raw: RawReplace,
  now: Date,
  lateWindowMs: number,
): ValidReplace {
  const checks = createFieldChecks();
  checks.uuid("tenant_id", raw.tenantId);
  const tenantId = raw.tenantId.toLowerCase();
  checks.check(
    catalog.resourceKinds.has(raw.resourceType),
    "resource_type",
    unknownResourceDescription(catalog),
  );
  const start = raw.start ?? new Date(Number.NaN);
  const end = raw.end ?? new Date(Number.NaN);
  const startOk = checks.time("start_time", start, WIRE_TIME);
  const endOk = checks.time("end_time", end, WIRE_TIME);
  if (startOk && endOk) checks.check(end > start, "end_time", "must be after start_time");
  checks.check(
    raw.events.length <= MAX_REPLACEMENT_EVENTS,
    "events",
    `must hold at most ${MAX_REPLACEMENT_EVENTS} events`,
  );
  checks.text("reason", raw.reason, { max: REASON_MAX });
  checkRequestId(checks, "request_id", raw.requestId);
  const events: Omit<UsageEvent, "periodStart">[] = [];
  const seen = new Set<string>();
  raw.events.slice(0, MAX_REPLACEMENT_EVENTS).forEach((event, i) => {
    const field = `events[${i}]`;
    const checked = checkEvent(event, catalog, now, { tenantId: undefined }, lateWindowMs);
    if (!checked.ok) {
      checks.check(false, field, checked.reason);
      return;
    }
    const e = checked.event;
    const problems = [
      e.tenantId === tenantId ? "" : "tenant_id: must be the request's tenant_id",
      e.resourceType === raw.resourceType
        ? ""
        : "resource_type: must be the request's resource_type",
      e.occurTime >= start && e.occurTime < end
        ? ""
        : "occur_time: must be within [start_time, end_time)",
      seen.has(e.eventId) ? "event_id: is given twice" : "",
    ].filter((p) => p !== "");
    seen.add(e.eventId);
    if (checks.check(problems.length === 0, field, problems.join("; "))) {
      events.push({ ...e, meter: catalog.meterOf(e.resourceType) });
    }
  });
  checks.throwIfAny();
  return {
    tenantId,
    resourceType: raw.resourceType,
    start,
    end,
    events,
    reason: raw.reason.trim() === "" ? "replaced" : raw.reason,
    requestId: raw.requestId,
  };
}

/** ListUsageEvents' input, every problem at once. */
export function validateListing(catalog: PlanCatalog, raw: RawEventListing): EventListing {
  const checks = createFieldChecks();
  checks.uuid("tenant_id", raw.tenantId);
  if (raw.resourceType !== "") {
    checks.check(
      catalog.resourceKinds.has(raw.resourceType),
      "resource_type",
      unknownResourceDescription(catalog),
    );
  }
  if (raw.start !== undefined) checks.time("start_time", raw.start, WIRE_TIME);
  if (raw.end !== undefined) checks.time("end_time", raw.end, WIRE_TIME);
  checks.intRange("page_size", raw.pageSize, 0, MAX_PAGE_SIZE);
  checks.stringMap("filter", raw.filter, FIELD_RULES.attributes);
  checks.throwIfAny();
  return {
    tenantId: raw.tenantId.toLowerCase(),
    resourceType: raw.resourceType === "" ? undefined : raw.resourceType,
    start: raw.start,
    end: raw.end,
    includeVoided: raw.includeVoided,
    filter: raw.filter,
  };
}
