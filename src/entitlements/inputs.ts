import type { Decimal } from "decimal.js";
import { type PlanCatalog, unknownResourceDescription } from "../billing/catalog.js";
import { parseQuantity, type QuantitySign } from "../validation/decimal.js";
import { createFieldChecks, type FieldChecks } from "../validation/field-checks.js";
import { checkRequestId } from "../validation/field-rules.js";
import type { ResourceRequest } from "./entitlements.js";

/** The raw fields of a resource request as they come off the wire. */
export interface RawResourceRequest {
  tenantId: string;
  resourceType: string;
  quantity: string;
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
  const kind = catalog.resourceKinds.get(raw.resourceType);
  if (raw.resourceType === "") checks.check(false, "resource_type", "is required");
  else {
    checks.check(kind !== undefined, "resource_type", unknownResourceDescription(catalog));
  }
  const sign: QuantitySign = kind === "allocation" && use !== "hold" ? "non-zero" : "positive";
  const quantity = parseQuantity(checks, "quantity", raw.quantity, sign);
  checks.throwIfAny();
  return {
    tenantId: raw.tenantId.toLowerCase(),
    resourceType: raw.resourceType,
    quantity: quantity as Decimal,
  };
}

/** Adds the idempotency key check to a set of field checks. */
export function checkIdempotencyKey(checks: FieldChecks, key: string): void {
  checkRequestId(checks, "idempotency_key", key);
}
