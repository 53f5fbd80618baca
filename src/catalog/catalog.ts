import { readFile } from "node:fs/promises";
import { extname } from "node:path";
import { Decimal } from "decimal.js";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { ConfigError } from "../platform/config/config.js";
import { UNSIGNED_DECIMAL_PATTERN } from "../platform/validation/decimal.js";
import type { FieldChecks } from "../platform/validation/field-checks.js";
import defaultCatalogFile from "./default-plans.json" with { type: "json" };

/** Consumables accumulate per billing period; allocations are a level that goes up and down. */
export type ResourceKind = "consumable" | "allocation";

/**
 * What a soft limit charges beyond what the plan includes. Usage up to `limit + cap` is admitted
 * (all of it when `cap` is undefined); what lies beyond `limit` is billed at `unitAmount` each.
 */
export interface Overage {
  /** Price per unit beyond the included quantity, in major currency units. */
  unitAmount: Decimal;
  /** Units beyond the included quantity after which calls are denied; undefined: none. */
  cap: Decimal | undefined;
  /** The Stripe meter that receives this resource's usage; undefined: not metered. */
  meter: { eventName: string; meteredPriceId: string } | undefined;
}

/**
 * One resource's limit in a plan. `limit` is the quantity the plan includes, undefined when the
 * plan puts no limit on it; with `overage` the limit is soft.
 */
export interface PlanLimit {
  resourceType: string;
  kind: ResourceKind;
  limit: Decimal | undefined;
  overage: Overage | undefined;
  /**
   * Fractions of the effective limit (allowance plus grants, or the override) whose crossing is
   * announced once per period as `entitlement.threshold_crossed`, ascending.
   */
  alertThresholds: Decimal[];
}

/** Thresholds of a limit that names none: 80 % and 100 %. */
export const DEFAULT_ALERT_THRESHOLDS: readonly Decimal[] = [new Decimal("0.8"), new Decimal(1)];

/** One tier of the catalog. */
export interface Plan {
  id: string;
  displayName: string;
  /** The provider price id that subscribes to this plan; undefined for the default plan. */
  priceId: string | undefined;
  /** Price per interval in major units; undefined when the price is negotiated. */
  unitAmount: Decimal | undefined;
  currency: string;
  interval: "month" | "year";
  limits: PlanLimit[];
}

/** The plans a deployment sells, and what a tenant without a live subscription gets. */
export interface PlanCatalog {
  plans: readonly Plan[];
  /** The plan of tenants with no live subscription (FREE in the default catalog). */
  defaultPlan: Plan;
  /** Every resource type any plan mentions, with its kind, in first-mention order. */
  resourceKinds: ReadonlyMap<string, ResourceKind>;
  planById(id: string): Plan | undefined;
  planByPriceId(priceId: string): Plan | undefined;
  /** The resource whose usage a metered price bills, with the plan that sells it. */
  meteredPrice(priceId: string): { plan: Plan; limit: PlanLimit } | undefined;
}

/**
 * The most a plan admits of a resource before calls are denied: the included quantity of a hard
 * limit, plus the cap of a soft one; undefined when nothing is ever denied.
 */
export function ceilingOf(limit: PlanLimit): Decimal | undefined {
  if (limit.limit === undefined) return undefined;
  if (limit.overage === undefined) return limit.limit;
  return limit.overage.cap === undefined ? undefined : limit.limit.plus(limit.overage.cap);
}

const IDENTIFIER = /^[a-z][a-z0-9_]{0,63}$/;

const STRIPE_ID = z
  .string()
  .regex(/^[A-Za-z0-9_]{1,255}$/, "must be a Stripe id such as price_123");

const limitSchema = z.union([
  z.strictObject({
    kind: z.enum(["consumable", "allocation"]),
    limit: z
      .string()
      .regex(UNSIGNED_DECIMAL_PATTERN, 'must be a non-negative decimal string such as "100"'),
    overage_unit_amount: z
      .string()
      .regex(UNSIGNED_DECIMAL_PATTERN, 'must be a decimal string such as "0.002"')
      .optional(),
    overage_cap: z
      .string()
      .regex(UNSIGNED_DECIMAL_PATTERN, 'must be a non-negative decimal string such as "5000"')
      .optional(),
    meter_event_name: z
      .string()
      .regex(/^[A-Za-z0-9_.:-]{1,100}$/, "must be 1 to 100 letters, digits or _ . : -")
      .optional(),
    metered_price_id: STRIPE_ID.optional(),
    alert_thresholds: z
      .array(z.number().gt(0, "must be above 0").max(10, "must be at most 10"))
      .max(10)
      .optional(),
  }),
  z.strictObject({ kind: z.enum(["consumable", "allocation"]), unlimited: z.literal(true) }),
]);

const catalogSchema = z.strictObject({
  default_plan: z.string(),
  plans: z
    .array(
      z.strictObject({
        id: z.string().regex(IDENTIFIER, 'must be a lower-case identifier such as "pro"'),
        display_name: z.string().min(1).max(64),
        price_id: z.string().min(1).max(255).optional(),
        unit_amount: z
          .string()
          .regex(UNSIGNED_DECIMAL_PATTERN, 'must be a decimal string such as "49.00"')
          .optional(),
        currency: z.string().regex(/^[a-z]{3}$/, "must be an ISO 4217 code in lower case"),
        interval: z.enum(["month", "year"]),
        limits: z.record(
          z.string().regex(IDENTIFIER, "resource types must be lower-case identifiers"),
          limitSchema,
        ),
      }),
    )
    .min(1),
});

/**
 * Loads the plan catalog: the seed's four tiers by default, or the operator's JSON or YAML file
 * at `path`. Every problem in the file is reported at once as a ConfigError, so a bad catalog
 * stops the server at start-up instead of surfacing as odd limits later.
 */
export async function loadPlanCatalog(path: string | undefined): Promise<PlanCatalog> {
  if (path === undefined) return createPlanCatalog(defaultCatalogFile, "default catalog");
  const label = `PLAN_CATALOG_PATH (${path})`;
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new ConfigError([`${label}: cannot be read: ${(error as Error).message}`]);
  }
  const extension = extname(path).toLowerCase();
  let data: unknown;
  try {
    if (extension === ".json") data = JSON.parse(text);
    else if (extension === ".yaml" || extension === ".yml") data = parseYaml(text);
    else throw new Error("the file name must end in .json, .yaml or .yml");
  } catch (error) {
    throw new ConfigError([`${label}: ${(error as Error).message}`]);
  }
  return createPlanCatalog(data, label);
}

/** The violation text for a resource type the catalog does not know, listing the known ones. */
export function unknownResourceDescription(catalog: PlanCatalog): string {
  return `is not a known resource; known: ${[...catalog.resourceKinds.keys()].join(", ")}`;
}

/** Validates parsed catalog data and builds the lookup structure over it. */
export function createPlanCatalog(data: unknown, label: string): PlanCatalog {
  const parsed = catalogSchema.safeParse(data);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => `${label}: ${formatPath(issue.path)}: ${issue.message}`),
    );
  }
  const problems: string[] = [];
  const resourceKinds = new Map<string, ResourceKind>();
  const byId = new Map<string, Plan>();
  const byPrice = new Map<string, Plan>();
  const byMeteredPrice = new Map<string, { plan: Plan; limit: PlanLimit }>();
  const meterOfResource = new Map<string, string>();
  const resourceOfMeter = new Map<string, string>();
  for (const [index, raw] of parsed.data.plans.entries()) {
    const plan: Plan = {
      id: raw.id,
      displayName: raw.display_name,
      priceId: raw.price_id,
      unitAmount: raw.unit_amount === undefined ? undefined : new Decimal(raw.unit_amount),
      currency: raw.currency,
      interval: raw.interval,
      limits: Object.entries(raw.limits).map(([resourceType, limit]) => ({
        resourceType,
        kind: limit.kind,
        limit: "limit" in limit ? new Decimal(limit.limit) : undefined,
        overage: "limit" in limit ? overageOf(limit) : undefined,
        alertThresholds: thresholdsOf("limit" in limit ? limit.alert_thresholds : []),
      })),
    };
    for (const [resourceType, limit] of Object.entries(raw.limits)) {
      if (!("limit" in limit)) continue;
      const at = `${label}: plans[${index}].limits.${resourceType}`;
      problems.push(...overageProblems(at, limit));
      const eventName = limit.meter_event_name;
      const priceId = limit.metered_price_id;
      if (eventName !== undefined) {
        const known = meterOfResource.get(resourceType) ?? eventName;
        if (known !== eventName) {
          problems.push(
            `${at}.meter_event_name: "${eventName}" differs from "${known}" in an earlier plan; one resource feeds one meter`,
          );
        }
        const owner = resourceOfMeter.get(eventName) ?? resourceType;
        if (owner !== resourceType) {
          problems.push(`${at}.meter_event_name: "${eventName}" already meters ${owner}`);
        }
        meterOfResource.set(resourceType, known);
        resourceOfMeter.set(eventName, owner);
      }
      if (priceId !== undefined) {
        if (byMeteredPrice.has(priceId)) {
          problems.push(`${at}.metered_price_id: "${priceId}" repeats`);
        }
        const planLimit = plan.limits.find((l) => l.resourceType === resourceType) as PlanLimit;
        byMeteredPrice.set(priceId, { plan, limit: planLimit });
      }
    }
    if (byId.has(plan.id)) problems.push(`${label}: plans[${index}].id: "${plan.id}" repeats`);
    byId.set(plan.id, plan);
    if (plan.priceId !== undefined) {
      if (byPrice.has(plan.priceId)) {
        problems.push(`${label}: plans[${index}].price_id: "${plan.priceId}" repeats`);
      }
      byPrice.set(plan.priceId, plan);
    }
    for (const { resourceType, kind } of plan.limits) {
      const known = resourceKinds.get(resourceType);
      if (known !== undefined && known !== kind) {
        problems.push(
          `${label}: plans[${index}].limits.${resourceType}.kind: is ${kind} here but ${known} in an earlier plan`,
        );
      }
      resourceKinds.set(resourceType, known ?? kind);
    }
  }
  const defaultPlan = byId.get(parsed.data.default_plan);
  if (defaultPlan === undefined) {
    problems.push(`${label}: default_plan: "${parsed.data.default_plan}" is not a plan id`);
  }
  for (const [priceId, { plan }] of byMeteredPrice) {
    if (byPrice.has(priceId)) {
      problems.push(
        `${label}: plans[${parsed.data.plans.findIndex((p) => p.id === plan.id)}]: metered price "${priceId}" is also a plan's price_id`,
      );
    }
  }
  if (problems.length > 0 || defaultPlan === undefined) throw new ConfigError(problems);
  return {
    plans: [...byId.values()],
    defaultPlan,
    resourceKinds,
    planById: (id) => byId.get(id),
    planByPriceId: (priceId) => byPrice.get(priceId),
    meteredPrice: (priceId) => byMeteredPrice.get(priceId),
  };
}

type RawLimit = {
  kind: ResourceKind;
  limit: string;
  overage_unit_amount?: string | undefined;
  overage_cap?: string | undefined;
  meter_event_name?: string | undefined;
  metered_price_id?: string | undefined;
};

function overageOf(raw: RawLimit): Overage | undefined {
  if (raw.overage_unit_amount === undefined) return undefined;
  return {
    unitAmount: new Decimal(raw.overage_unit_amount),
    cap: raw.overage_cap === undefined ? undefined : new Decimal(raw.overage_cap),
    meter:
      raw.meter_event_name === undefined || raw.metered_price_id === undefined
        ? undefined
        : { eventName: raw.meter_event_name, meteredPriceId: raw.metered_price_id },
  };
}

// Overage fields make sense only together: a cap or a meter needs a price, a meter needs both
// its event name and its price, and allocations (a level, not a sum over the period) have none.
function overageProblems(at: string, raw: RawLimit): string[] {
  const problems: string[] = [];
  const priced = raw.overage_unit_amount !== undefined;
  if (priced && raw.kind === "allocation") {
    problems.push(
      `${at}.overage_unit_amount: allocations cannot have overage; only consumables are billed per unit used`,
    );
  }
  for (const field of ["overage_cap", "meter_event_name", "metered_price_id"] as const) {
    if (raw[field] !== undefined && !priced) {
      problems.push(`${at}.${field}: needs overage_unit_amount (only a soft limit has it)`);
    }
  }
  if ((raw.meter_event_name === undefined) !== (raw.metered_price_id === undefined)) {
    const missing = raw.meter_event_name === undefined ? "meter_event_name" : "metered_price_id";
    problems.push(
      `${at}.${missing}: required with ${missing === "meter_event_name" ? "metered_price_id" : "meter_event_name"}`,
    );
  }
  return problems;
}

function formatPath(path: PropertyKey[]): string {
  return path.length === 0 ? "(top level)" : path.map(String).join(".");
}

// Sorted and without repeats; absent means the defaults.
function thresholdsOf(raw: number[] | undefined): Decimal[] {
  if (raw === undefined) return [...DEFAULT_ALERT_THRESHOLDS];
  return [...new Set(raw)].sort((a, b) => a - b).map((f) => new Decimal(f));
}

/** A required `resource_type` the catalog knows; the violation lists the known ones. */
export function checkResourceType(
  checks: FieldChecks,
  catalog: PlanCatalog,
  resourceType: string,
): boolean {
  if (resourceType === "") return checks.check(false, "resource_type", "is required");
  return checks.check(
    catalog.resourceKinds.has(resourceType),
    "resource_type",
    unknownResourceDescription(catalog),
  );
}
