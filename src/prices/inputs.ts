import { checkResourceType, meteredPricingProblems, type PlanCatalog } from "../catalog/catalog.js";
import { counterName } from "../catalog/meters.js";
import type { Pricing } from "../catalog/pricing.js";
import { type RawPricing, readPricing } from "../catalog/pricing-rules.js";
import { createFieldChecks } from "../platform/validation/field-checks.js";
import { checkRequestId, WIRE_TIME } from "../platform/validation/field-rules.js";

/** SetPriceOverride as it arrives. */
export interface RawPriceOverride {
  tenantId: string;
  resourceType: string;
  dimensions: Record<string, string>;
  pricing: RawPricing | undefined;
  startTime: Date | undefined;
  endTime: Date | undefined;
  requestId: string;
}

/** SetPriceOverride, validated. */
export interface PriceOverrideInput {
  tenantId: string;
  counter: string;
  pricing: Pricing;
  startTime: Date;
  endTime: Date | undefined;
}

const OVERRIDE_ID = /^pro_[0-9a-f]{24}$/;

/**
 * SetPriceOverride, validated, every problem at once: a counter some plan prices (a soft
 * limit's total or a priced dimension limit), the price by the catalog's rules in the tenant's
 * `currency` (and, where a plan meters the counter at the provider, one the provider's meter can
 * bill), and a time range that ends after it starts and in the future.
 */
export function validatePriceOverride(
  catalog: PlanCatalog,
  raw: RawPriceOverride,
  currency: string,
  now: Date,
): PriceOverrideInput {
  const checks = createFieldChecks();
  checks.uuid("tenant_id", raw.tenantId);
  const counter = counterName(raw.resourceType, raw.dimensions);
  if (checkResourceType(checks, catalog, raw.resourceType)) {
    const limits = catalog.plans.map((plan) => plan.limitsByCounter.get(counter));
    checks.check(
      limits.some((limit) => limit?.overage !== undefined),
      raw.dimensions && Object.keys(raw.dimensions).length > 0 ? "dimensions" : "resource_type",
      `must be a resource (or dimension limit) that some plan prices; ${counter} is not priced in any plan`,
    );
    if (raw.pricing !== undefined) {
      const { pricing } = readPricing(raw.pricing, currency, "pricing");
      for (const limit of limits) {
        if (pricing === undefined || limit?.overage?.meter === undefined || !limit.limit) continue;
        for (const problem of meteredPricingProblems("pricing", pricing, limit.limit)) {
          reportProblem(checks, problem);
        }
      }
    }
  }
  if (raw.pricing === undefined) {
    checks.check(false, "pricing", "is required");
  } else {
    for (const problem of readPricing(raw.pricing, currency, "pricing").problems) {
      reportProblem(checks, problem);
    }
  }
  const startTime = raw.startTime ?? now;
  if (raw.startTime) checks.time("start_time", raw.startTime, WIRE_TIME);
  if (raw.endTime && checks.time("end_time", raw.endTime, WIRE_TIME)) {
    checks.check(raw.endTime > startTime, "end_time", "must be after start_time");
    checks.check(raw.endTime > now, "end_time", "must be in the future");
  }
  checkRequestId(checks, "request_id", raw.requestId);
  checks.throwIfAny();
  return {
    tenantId: raw.tenantId.toLowerCase(),
    counter,
    pricing: readPricing(raw.pricing as RawPricing, currency, "pricing").pricing as Pricing,
    startTime,
    endTime: raw.endTime,
  };
}

/** DeletePriceOverride's tenant, id and request id. */
export function validatePriceOverrideRef(raw: {
  tenantId: string;
  id: string;
  requestId: string;
}): string {
  const checks = createFieldChecks();
  checks.uuid("tenant_id", raw.tenantId);
  checks.check(OVERRIDE_ID.test(raw.id), "id", "must be a price override id such as pro_…");
  checkRequestId(checks, "request_id", raw.requestId);
  checks.throwIfAny();
  return raw.tenantId.toLowerCase();
}

// The pricing rules say "path: what is wrong"; the field is the path.
function reportProblem(checks: ReturnType<typeof createFieldChecks>, problem: string): void {
  const at = problem.indexOf(": ");
  checks.check(false, problem.slice(0, at), problem.slice(at + 2));
}
