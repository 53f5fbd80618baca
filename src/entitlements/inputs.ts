import type { Decimal } from "decimal.js";
import { checkResourceType, type PlanCatalog } from "../catalog/catalog.js";
import { checkDimensions } from "../catalog/dimensions.js";
import { parseQuantity, type QuantitySign } from "../platform/validation/decimal.js";
import { createFieldChecks, type FieldChecks } from "../platform/validation/field-checks.js";
import { checkRequestId } from "../platform/validation/field-rules.js";
import type { ResourceRequest } from "./entitlements.js";

/** The longest a reservation may be held: a day. */
const MAX_HOLD_SECONDS = 86_400;

/** The raw fields of a resource request as they come off the wire. */
export interface RawResourceRequest {
  tenantId: string;
  resourceType: string;
  quantity: string;
  /** The usage's dimension values, and a `unique_count` call's member under its unique_key. */
  dimensions: Record<string, string>;
}

/** How a call treats the quantity's sign. */
export type QuantityUse = "check" | "record" | "hold";

/**
 * Validates a resource request at the service boundary, collecting every violation: the
 * tenant id, the resource type (listing the known ones when it is not), and the quantity —
 * positive for consumables and holds, non-zero for allocations, whose negative quantities
 * release.
 */
export function validateResourceRequest(
  catalog: PlanCatalog,
  raw: RawResourceRequest,
  use: QuantityUse,
  checks: FieldChecks = createFieldChecks(),
): ResourceRequest {
  checks.uuid("tenant_id", raw.tenantId);
  checkResourceType(checks, catalog, raw.resourceType);
  const kind = catalog.resourceKinds.get(raw.resourceType);
  const sign: QuantitySign = kind === "allocation" && use !== "hold" ? "non-zero" : "positive";
  const quantity = parseQuantity(checks, "quantity", raw.quantity, sign);
  const known = kind !== undefined;
  const meter = catalog.meterOf(raw.resourceType);
  const { dimensions, member } = known
    ? checkDimensions(checks, meter, raw.dimensions, "dimensions")
    : { dimensions: {}, member: undefined };
  if (known && use === "hold" && !["sum", "count"].includes(meter.aggregation)) {
    checks.check(
      false,
      "resource_type",
      `is a ${meter.aggregation} meter; a reservation holds a quantity of a sum or count meter`,
    );
  }
  checks.throwIfAny();
  return {
    tenantId: raw.tenantId.toLowerCase(),
    resourceType: raw.resourceType,
    quantity: quantity as Decimal,
    dimensions,
    member,
  };
}

/** CheckAndRecord, RecordUsage and Reserve: the request, its idempotency key and a hold's TTL. */
export function validateKeyedRequest(
  catalog: PlanCatalog,
  raw: RawResourceRequest & { idempotencyKey: string },
  use: "record" | "hold",
  ttlSeconds?: number,
): ResourceRequest {
  const checks = createFieldChecks();
  checkRequestId(checks, "idempotency_key", raw.idempotencyKey);
  if (ttlSeconds !== undefined) checks.intRange("ttl_seconds", ttlSeconds, 0, MAX_HOLD_SECONDS);
  return validateResourceRequest(catalog, raw, use, checks);
}

/** CommitReservation: the reservation and the actual quantity, if given (else the held one). */
export function validateCommit(raw: {
  reservationId: string;
  actualQuantity: string;
  tenantId: string;
}): { quantity: Decimal | undefined; tenantId: string | undefined } {
  const checks = createFieldChecks();
  checks.uuid("reservation_id", raw.reservationId);
  const tenantId = optionalTenant(checks, raw.tenantId);
  const quantity =
    raw.actualQuantity === ""
      ? undefined
      : parseQuantity(checks, "actual_quantity", raw.actualQuantity, "non-negative");
  checks.throwIfAny();
  return { quantity, tenantId };
}

/** ReleaseReservation's reservation id, and its tenant when the caller names it. */
export function validateRelease(raw: { reservationId: string; tenantId: string }): {
  tenantId: string | undefined;
} {
  const checks = createFieldChecks();
  checks.uuid("reservation_id", raw.reservationId);
  const tenantId = optionalTenant(checks, raw.tenantId);
  checks.throwIfAny();
  return { tenantId };
}

// A reservation's tenant as a caller may name it: empty for none, else a UUID (lower case).
function optionalTenant(checks: FieldChecks, tenantId: string): string | undefined {
  if (tenantId === "") return undefined;
  checks.uuid("tenant_id", tenantId);
  return tenantId.toLowerCase();
}
