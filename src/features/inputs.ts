import type { PlanCatalog } from "../catalog/catalog.js";
import type { FeatureDefinition, FeatureValue } from "../catalog/features.js";
import { readFeatureValue } from "../catalog/features.js";
import { createFieldChecks, type FieldChecks } from "../platform/validation/field-checks.js";
import { checkRequestId, WIRE_TIME } from "../platform/validation/field-rules.js";

/** SetFeatureOverride as it arrives. */
export interface RawFeatureOverride {
  tenantId: string;
  feature: string;
  value: string;
  expireTime: Date | undefined;
  requestId: string;
}

/** DeleteFeatureOverride as it arrives. */
export interface RawFeatureTarget {
  tenantId: string;
  feature: string;
  requestId: string;
}

/** A tenant and a feature as CheckFeature names them. */
export interface RawFeatureCheck {
  tenantId: string;
  feature: string;
}

/** Every problem of a CheckFeature at once; returns the tenant id in canonical lower case. */
export function validateFeatureCheck(catalog: PlanCatalog, raw: RawFeatureCheck): string {
  const checks = createFieldChecks();
  checks.uuid("tenant_id", raw.tenantId);
  checkFeature(checks, catalog, raw.feature);
  checks.throwIfAny();
  return raw.tenantId.toLowerCase();
}

/** Every problem of a SetFeatureOverride at once: target, value of the feature's type, expiry. */
export function validateFeatureOverride(
  catalog: PlanCatalog,
  raw: RawFeatureOverride,
  now: Date,
): { tenantId: string; value: FeatureValue } {
  const checks = createFieldChecks();
  checks.uuid("tenant_id", raw.tenantId);
  const definition = checkFeature(checks, catalog, raw.feature);
  let value: FeatureValue | undefined;
  if (raw.value === "") checks.check(false, "value", "is required");
  else if (definition !== undefined) {
    const read = readFeatureValue(definition, raw.value);
    if (typeof read === "string") checks.check(false, "value", read);
    else value = read;
  }
  if (raw.expireTime !== undefined && checks.time("expire_time", raw.expireTime, WIRE_TIME)) {
    checks.check(raw.expireTime > now, "expire_time", "must be in the future");
  }
  checkRequestId(checks, "request_id", raw.requestId);
  checks.throwIfAny();
  return { tenantId: raw.tenantId.toLowerCase(), value: value as FeatureValue };
}

/** Every problem of a DeleteFeatureOverride at once; returns the tenant id in lower case. */
export function validateFeatureTarget(catalog: PlanCatalog, raw: RawFeatureTarget): string {
  const checks = createFieldChecks();
  checks.uuid("tenant_id", raw.tenantId);
  checkFeature(checks, catalog, raw.feature);
  checkRequestId(checks, "request_id", raw.requestId);
  checks.throwIfAny();
  return raw.tenantId.toLowerCase();
}

// A required feature the catalog declares; the violation lists the declared ones.
function checkFeature(
  checks: FieldChecks,
  catalog: PlanCatalog,
  feature: string,
): FeatureDefinition | undefined {
  if (feature === "") {
    checks.check(false, "feature", "is required");
    return undefined;
  }
  const definition = catalog.features.get(feature);
  checks.check(
    definition !== undefined,
    "feature",
    `is not a known feature; known: ${[...catalog.features.keys()].join(", ") || "none"}`,
  );
  return definition;
}
