import type { Decimal } from "decimal.js";
import { checkResourceType, type PlanCatalog } from "../catalog/catalog.js";
import { counterName } from "../catalog/meters.js";
import { parseQuantity } from "../platform/validation/decimal.js";
import { createFieldChecks, type FieldChecks } from "../platform/validation/field-checks.js";
import { checkRequestId, FIELD_RULES, WIRE_TIME } from "../platform/validation/field-rules.js";

/** GrantCredits as it arrives. */
export interface RawGrant {
  tenantId: string;
  resourceType: string;
  /** A dimension limit's values; empty for the resource's total. */
  dimensions: Record<string, string>;
  quantity: string;
  expireTime: Date | undefined;
  reason: string;
  requestId: string;
}

/** SetEntitlementOverride as it arrives. */
export interface RawOverride {
  tenantId: string;
  resourceType: string;
  /** A dimension limit's values; empty for the resource's total. */
  dimensions: Record<string, string>;
  limit: string;
  unlimited: boolean;
  expireTime: Date | undefined;
  requestId: string;
}

/** A grant, an override or its removal names a tenant and a resource, and may carry a request id. */
export interface RawTarget {
  tenantId: string;
  resourceType: string;
  dimensions: Record<string, string>;
  requestId: string;
}

const GRANT_ID = /^grt_[0-9a-f]{24}$/;

/** GrantCredits, validated: every field problem at once. */
export function validateGrant(
  catalog: PlanCatalog,
  raw: RawGrant,
  now: Date,
): { tenantId: string; quantity: Decimal } {
  const checks = targetChecks(catalog, raw);
  const quantity = parseQuantity(checks, "quantity", raw.quantity, "positive", "");
  checkExpiry(checks, raw.expireTime, now);
  checks.text("reason", raw.reason, { max: FIELD_RULES.descriptionMax });
  checks.throwIfAny();
  return { tenantId: raw.tenantId.toLowerCase(), quantity: quantity as Decimal };
}

/** VoidGrant's grant id and request id. */
export function validateGrantRef(raw: { grantId: string; requestId: string }): void {
  const checks = createFieldChecks();
  checks.check(GRANT_ID.test(raw.grantId), "grant_id", "must be a grant id such as grt_…");
  checkRequestId(checks, "request_id", raw.requestId);
  checks.throwIfAny();
}

/**
 * SetEntitlementOverride, validated: a limit, or `unlimited` and no limit; the expiry, when
 * given, in the future.
 */
export function validateOverride(
  catalog: PlanCatalog,
  raw: RawOverride,
  now: Date,
): { tenantId: string; limit: Decimal | undefined } {
  const checks = targetChecks(catalog, raw);
  let limit: Decimal | undefined;
  if (raw.unlimited) {
    checks.check(raw.limit === "", "limit", "must be empty when unlimited is true");
  } else if (raw.limit === "") {
    checks.check(false, "limit", "is required unless unlimited is true");
  } else {
    limit = parseQuantity(checks, "limit", raw.limit, "non-negative");
  }
  checkExpiry(checks, raw.expireTime, now);
  checks.throwIfAny();
  return { tenantId: raw.tenantId.toLowerCase(), limit };
}

/** DeleteEntitlementOverride's target; returns the tenant id in canonical lower case. */
export function validateOverrideTarget(catalog: PlanCatalog, raw: RawTarget): string {
  targetChecks(catalog, raw).throwIfAny();
  return raw.tenantId.toLowerCase();
}

function targetChecks(catalog: PlanCatalog, raw: RawTarget): FieldChecks {
  const checks = createFieldChecks();
  checks.uuid("tenant_id", raw.tenantId);
  if (checkResourceType(checks, catalog, raw.resourceType)) {
    const name = counterName(raw.resourceType, raw.dimensions);
    const selectors = catalog.meterOf(raw.resourceType).selectors;
    checks.check(
      name === raw.resourceType || selectors.some((s) => counterName(raw.resourceType, s) === name),
      "dimensions",
      `must be the values of a dimension limit of ${raw.resourceType} in some plan, or empty for its total`,
    );
  }
  checkRequestId(checks, "request_id", raw.requestId);
  return checks;
}

/**
 * The counter a grant or override targets: the resource's total, or the dimension limit its
 * dimensions name (`counterName`), in place of the raw resource type.
 */
export function targetOf<T extends RawTarget>(raw: T): T {
  return { ...raw, resourceType: counterName(raw.resourceType, raw.dimensions), dimensions: {} };
}

function checkExpiry(checks: FieldChecks, expireTime: Date | undefined, now: Date): void {
  if (expireTime === undefined) return;
  if (checks.time("expire_time", expireTime, WIRE_TIME)) {
    checks.check(expireTime > now, "expire_time", "must be in the future");
  }
}
