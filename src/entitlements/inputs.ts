import type { Decimal } from "decimal.js";
import { checkResourceType, type PlanCatalog } from "../catalog/catalog.js";
import { parseQuantity, type QuantitySign } from "../platform/validation/decimal.js";
import { createFieldChecks, type FieldChecks } from "../platform/validation/field-checks.js";
import { checkRequestId } from "../platform/validation/field-rules.js";
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
  checkResourceType(checks, catalog, raw.resourceType);
  const kind = catalog.resourceKinds.get(raw.resourceType);
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
