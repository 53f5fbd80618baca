import { MAX_PAGE_SIZE } from "../platform/pagination/page-token.js";
import { createFieldChecks, type FieldChecks } from "../platform/validation/field-checks.js";
import { EVENT_TYPES } from "./events.js";
import type { EventFilter } from "./store.js";

/** An event filter as it arrives; the tenant was authorized before the handler ran. */
export interface RawEventQuery {
  tenantId: string;
  types: readonly string[];
}

/**
 * An event's position as a page cursor, `micros.tenant.seq` (see `EventPosition`): bigints of
 * at most 18 digits, so they stay within their range, and a UUID.
 */
export const POSITION_PATTERN = /^[0-9]{1,18}\.[0-9a-f-]{36}\.[0-9]{1,18}$/;

/** Checks event types against the known ones, reporting each unknown one. */
export function checkEventTypes(checks: FieldChecks, field: string, types: readonly string[]) {
  for (const [i, type] of types.entries()) {
    checks.check(
      (EVENT_TYPES as readonly string[]).includes(type),
      `${field}[${i}]`,
      `is not a known event type; known: ${EVENT_TYPES.join(", ")}`,
    );
  }
}

/** ListEvents: the filter and the page size, every problem at once. */
export function validateEventPage(raw: RawEventQuery & { pageSize: number }): EventFilter {
  const checks = createFieldChecks();
  checks.intRange("page_size", raw.pageSize, 0, MAX_PAGE_SIZE);
  return filterOf(checks, raw);
}

/** StreamEvents: the filter, and at most one of a cursor and `from_start`. */
export function validateEventStream(
  raw: RawEventQuery & { afterEventId: string; fromStart: boolean },
): EventFilter {
  const checks = createFieldChecks();
  checks.check(
    !(raw.fromStart && raw.afterEventId !== ""),
    "from_start",
    "cannot be set together with after_event_id",
  );
  return filterOf(checks, raw);
}

function filterOf(checks: FieldChecks, raw: RawEventQuery): EventFilter {
  if (raw.tenantId !== "") checks.uuid("tenant_id", raw.tenantId);
  checkEventTypes(checks, "types", raw.types);
  checks.throwIfAny();
  return {
    tenantId: raw.tenantId === "" ? undefined : raw.tenantId.toLowerCase(),
    types: [...new Set(raw.types)].sort(),
  };
}
