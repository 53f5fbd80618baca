import { mayAccessTenant } from "../auth/policy.js";
import type { Actor } from "../auth/principal.js";
import { type PlanCatalog, unknownResourceDescription } from "../billing/catalog.js";
import { DECIMAL_PATTERN, parseQuantity } from "../validation/decimal.js";
import { createFieldChecks, UUID_PATTERN } from "../validation/field-checks.js";
import type { RawUsageEvent, UsageEvent } from "./usage.js";

const FUTURE_TOLERANCE_MS = 5 * 60_000;
const EVENT_ID_MAX = 128;
const ATTRIBUTES = { maxEntries: 32, maxKey: 64, maxValue: 512 };

/** A valid event without its period yet, or the reason it is rejected. */
export type EventCheck =
  | { ok: true; event: Omit<UsageEvent, "periodStart"> }
  | { ok: false; reason: string };

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
): EventCheck {
  // Ingestion runs this for every event, so well-formed events take an allocation-free path;
  // only an event that fails it is checked again field by field to say why.
  const checked = quickCheck(raw, catalog, now) ?? fullCheck(raw, catalog, now);
  if (!checked.ok || mayAccessTenant(actor, checked.event.tenantId)) return checked;
  return {
    ok: false,
    reason: `permission denied: this API key may not record for tenant ${checked.event.tenantId}`,
  };
}

function fullCheck(raw: RawUsageEvent, catalog: PlanCatalog, now: Date): EventCheck {
  const checks = createFieldChecks();
  checks.check(
    raw.eventId.length >= 1 && raw.eventId.length <= EVENT_ID_MAX,
    "event_id",
    `must be 1 to ${EVENT_ID_MAX} characters`,
  );
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
  checks.check(
    !Number.isNaN(occurTime.getTime()) &&
      occurTime.getTime() <= now.getTime() + FUTURE_TOLERANCE_MS,
    "occur_time",
    "is more than 5 minutes in the future",
  );
  checks.stringMap("attributes", raw.attributes, ATTRIBUTES);
  const violations = checks.violations();
  if (violations.length > 0) {
    return { ok: false, reason: violations.map((v) => `${v.field}: ${v.description}`).join("; ") };
  }
  return validEvent(raw, quantity?.toFixed() ?? "", occurTime);
}

// True only for events fullCheck would accept as they are: a positive plain quantity, every
// field within bounds. Anything else (including negative allocations) goes to fullCheck.
function quickCheck(raw: RawUsageEvent, catalog: PlanCatalog, now: Date): EventCheck | undefined {
  const quantity = raw.quantity === "" ? "1" : raw.quantity;
  const occurTime = raw.occurTime ?? now;
  const attributes = Object.entries(raw.attributes);
  const ok =
    raw.eventId.length >= 1 &&
    raw.eventId.length <= EVENT_ID_MAX &&
    UUID_PATTERN.test(raw.tenantId) &&
    catalog.resourceKinds.has(raw.resourceType) &&
    DECIMAL_PATTERN.test(quantity) &&
    !quantity.startsWith("-") &&
    /[1-9]/.test(quantity) &&
    occurTime.getTime() <= now.getTime() + FUTURE_TOLERANCE_MS &&
    attributes.length <= ATTRIBUTES.maxEntries &&
    attributes.every(
      ([k, v]) => k.length >= 1 && k.length <= ATTRIBUTES.maxKey && v.length <= ATTRIBUTES.maxValue,
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
