import type { PlanCatalog } from "../billing/catalog.js";
import { parseQuantity } from "../validation/decimal.js";
import { createFieldChecks } from "../validation/field-checks.js";
import type { RawUsageEvent, UsageEvent } from "./usage.js";

const FUTURE_TOLERANCE_MS = 5 * 60_000;

/** A valid event without its period yet, or the reason it is rejected. */
export type EventCheck =
  | { ok: true; event: Omit<UsageEvent, "periodStart"> }
  | { ok: false; reason: string };

/**
 * Validates one event on its own: a bad event is rejected and reported, and never fails the
 * other events of its call. `mayRecordFor` says whether the caller's key may record for a
 * tenant (a tenant key only for its own).
 */
export function checkEvent(
  raw: RawUsageEvent,
  catalog: PlanCatalog,
  now: Date,
  mayRecordFor: (tenantId: string) => boolean,
): EventCheck {
  const checks = createFieldChecks();
  checks.check(
    raw.eventId.length >= 1 && raw.eventId.length <= 128,
    "event_id",
    "must be 1 to 128 characters",
  );
  checks.uuid("tenant_id", raw.tenantId);
  const kind = catalog.resourceKinds.get(raw.resourceType);
  checks.check(
    kind !== undefined,
    "resource_type",
    `is not a known resource; known: ${[...catalog.resourceKinds.keys()].join(", ")}`,
  );
  const quantity = parseQuantity(
    checks,
    "quantity",
    raw.quantity,
    kind === "allocation" ? "non-zero" : "positive",
  );
  const occurTime = raw.occurTime ?? now;
  checks.check(
    !Number.isNaN(occurTime.getTime()) &&
      occurTime.getTime() <= now.getTime() + FUTURE_TOLERANCE_MS,
    "occur_time",
    "is more than 5 minutes in the future",
  );
  checks.stringMap("attributes", raw.attributes, { maxEntries: 32, maxKey: 64, maxValue: 512 });
  const violations = checks.violations();
  if (violations.length > 0) {
    return { ok: false, reason: violations.map((v) => `${v.field}: ${v.description}`).join("; ") };
  }
  const tenantId = raw.tenantId.toLowerCase();
  if (!mayRecordFor(tenantId)) {
    return {
      ok: false,
      reason: `permission denied: this API key may not record for tenant ${tenantId}`,
    };
  }
  return {
    ok: true,
    event: {
      tenantId,
      eventId: raw.eventId,
      resourceType: raw.resourceType,
      quantity: quantity?.toFixed() ?? "",
      occurTime,
      attributes: raw.attributes,
    },
  };
}
