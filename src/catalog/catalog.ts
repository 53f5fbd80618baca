import { readFile } from "node:fs/promises";
import { extname } from "node:path";
import { Decimal } from "decimal.js";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { ConfigError } from "../platform/config/config.js";
import { UNSIGNED_DECIMAL_PATTERN } from "../platform/validation/decimal.js";
import type { FieldChecks } from "../platform/validation/field-checks.js";
import defaultCatalogFile from "./default-plans.json" with { type: "json" };
import {
  type FeatureDefinition,
  type FeatureValue,
  featureDefinitionSchema,
  readFeatureDefinitions,
  readFeatureValue,
} from "./features.js";
import {
  AGGREGATIONS,
  type Aggregation,
  counterName,
  DEFAULT_VALUE_PROPERTY,
  type Meter,
} from "./meters.js";
import { minorUnitDigits, toMinorUnits } from "./money.js";
import type { Pricing } from "./pricing.js";
import { readPricing } from "./pricing-rules.js";

/** Consumables accumulate per billing period; allocations are a level that goes up and down. */
export type ResourceKind = "consumable" | "allocation";

/**
 * What a soft limit charges. Usage up to `limit + cap` is admitted (all of it when `cap` is
 * undefined), and priced by `pricing` (`pricing.ts`: per unit beyond the included quantity,
 * tiers, or packages).
 */
export interface Overage {
  pricing: Pricing;
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
  /**
   * The usage this limit holds for: empty for the resource's total, else the dimension values
   * a usage must carry (`{ model: "gpt-4" }`) to count against it.
   */
  dimensions: Readonly<Record<string, string>>;
  /** The limits per dimension values under a total; empty on a dimension limit itself. */
  dimensionLimits: PlanLimit[];
  /**
   * The length of the rolling window the limit holds over, in milliseconds (`"window": "60s"`);
   * undefined: the billing period. A windowed limit is never billed.
   */
  window?: number | undefined;
}

/** Thresholds of a limit that names none: 80 % and 100 %. */
export const DEFAULT_ALERT_THRESHOLDS: readonly Decimal[] = [new Decimal("0.8"), new Decimal(1)];

/** One tier of the catalog. */
export interface Plan {
  id: string;
  /**
   * The plan's version: 1 when first stored, and one more for each catalog push that changed
   * it. A subscription keeps the version it started on until it is migrated.
   */
  version: number;
  displayName: string;
  /** The provider price id that subscribes to this plan; undefined for the default plan. */
  priceId: string | undefined;
  /** Price per interval in major units; undefined when the price is negotiated. */
  unitAmount: Decimal | undefined;
  currency: string;
  interval: "month" | "year";
  /**
   * The least a period's usage charges come to: below it, the invoice gets a `minimum_true_up`
   * line for the difference. Undefined: no minimum.
   */
  minimumAmount: Decimal | undefined;
  limits: PlanLimit[];
  /** Every limit of the plan, totals and dimension limits, by counter name (`counterName`). */
  limitsByCounter: ReadonlyMap<string, PlanLimit>;
  /** Every feature the catalog declares, with this plan's value or the feature's default. */
  features: ReadonlyMap<string, { value: FeatureValue; source: "plan" | "default" }>;
}

/** The plans a deployment sells, and what a tenant without a live subscription gets. */
export interface PlanCatalog {
  /** The current version of every plan, in catalog order. */
  plans: readonly Plan[];
  /** The plan of tenants with no live subscription (FREE in the default catalog). */
  defaultPlan: Plan;
  /** Every resource type any plan mentions, with its kind, in first-mention order. */
  resourceKinds: ReadonlyMap<string, ResourceKind>;
  /** The features the catalog declares (`features`), in declaration order. */
  features: ReadonlyMap<string, FeatureDefinition>;
  /** The current version of a plan. */
  planById(id: string): Plan | undefined;
  /** One version of a plan, current or not; `undefined` names the current one. */
  planVersion(id: string, version: number | undefined): Plan | undefined;
  /** Every version of every plan this catalog holds, the current ones first. */
  allVersions: readonly Plan[];
  /** The plan a price subscribes to: a current plan, else the newest earlier version. */
  planByPriceId(priceId: string): Plan | undefined;
  /** The resource (or dimension limit) whose usage a metered price bills, with its plan. */
  meteredPrice(priceId: string): { plan: Plan; limit: PlanLimit } | undefined;
  /** The resource's meter: its own `meters` entry, or `sum` without dimensions. */
  meterOf(resourceType: string): Meter;
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

const DIMENSION_VALUE = z.string().min(1).max(200);

// The shape only; readPricing checks the values with the plan's currency, every problem at once.
const pricingSchema = z.strictObject({
  model: z.string(),
  unit_amount: z.string().optional(),
  tiers: z
    .array(
      z.strictObject({
        up_to: z.string().nullable(),
        unit_amount: z.string().optional(),
        flat_amount: z.string().optional(),
      }),
    )
    .optional(),
  tiers_from: z.string().optional(),
  package_size: z.string().optional(),
  package_amount: z.string().optional(),
  round: z.string().optional(),
});

const limitFields = {
  limit: z
    .string()
    .regex(UNSIGNED_DECIMAL_PATTERN, 'must be a non-negative decimal string such as "100"'),
  overage_unit_amount: z
    .string()
    .regex(UNSIGNED_DECIMAL_PATTERN, 'must be a decimal string such as "0.002"')
    .optional(),
  pricing: pricingSchema.optional(),
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
  // Checked with the limit's other rules (windowProblems), so every problem shows at once.
  window: z.string().optional(),
};

const dimensionLimitSchema = z.strictObject({
  dimensions: z.record(
    z.string().regex(IDENTIFIER, "dimensions are lower-case identifiers"),
    DIMENSION_VALUE,
  ),
  ...limitFields,
});

const dimensionLimitsSchema = z.array(dimensionLimitSchema).max(100).optional();

const limitSchema = z.union([
  z.strictObject({
    kind: z.enum(["consumable", "allocation"]),
    ...limitFields,
    dimension_limits: dimensionLimitsSchema,
  }),
  z.strictObject({
    kind: z.enum(["consumable", "allocation"]),
    unlimited: z.literal(true),
    dimension_limits: dimensionLimitsSchema,
  }),
]);

const meterSchema = z.strictObject({
  // Checked with the meter's other rules (meterProblems), so every problem shows at once.
  aggregation: z.string(),
  dimensions: z
    .array(z.string().regex(IDENTIFIER, "dimensions are lower-case identifiers"))
    .max(8)
    .optional(),
  unique_key: z
    .string()
    .regex(IDENTIFIER, "must be a lower-case identifier such as user_id")
    .optional(),
  // The field of a CloudEvent's `data` that carries the quantity (`POST /v1/events`).
  value_property: z
    .string()
    .regex(IDENTIFIER, "must be a lower-case identifier such as tokens")
    .optional(),
});

const catalogSchema = z.strictObject({
  default_plan: z.string(),
  features: z
    .record(
      z.string().regex(IDENTIFIER, "features are lower-case identifiers such as sso"),
      featureDefinitionSchema,
    )
    .optional(),
  meters: z
    .record(
      z.string().regex(IDENTIFIER, "resource types must be lower-case identifiers"),
      meterSchema,
    )
    .optional(),
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
        minimum_amount: z
          .string()
          .regex(UNSIGNED_DECIMAL_PATTERN, 'must be a decimal string such as "100.00"')
          .optional(),
        limits: z.record(
          z.string().regex(IDENTIFIER, "resource types must be lower-case identifiers"),
          limitSchema,
        ),
        features: z.record(z.string(), z.union([z.boolean(), z.string()])).optional(),
      }),
    )
    .min(1),
});

/**
 * The catalog a deployment starts from: the seed's four tiers by default, or the operator's
 * JSON or YAML file at `path` (`PLAN_CATALOG_PATH`), with the label its problems are reported
 * under. `createPlanCatalog` checks it, every problem at once, so a bad catalog stops the server
 * at start-up instead of surfacing as odd limits later.
 */
export async function readCatalogSeed(
  path: string | undefined,
): Promise<{ data: unknown; label: string }> {
  const label = path === undefined ? "default catalog" : `PLAN_CATALOG_PATH (${path})`;
  return { data: await readCatalogData(path, label), label };
}

/**
 * The parsed (not yet validated) content of a catalog file, JSON or YAML by its extension, or
 * the default catalog when `path` is undefined; `label` names the file in errors.
 */
export async function readCatalogData(path: string | undefined, label: string): Promise<unknown> {
  if (path === undefined) return structuredClone(defaultCatalogFile);
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new ConfigError([`${label}: cannot be read: ${(error as Error).message}`]);
  }
  const extension = extname(path).toLowerCase();
  try {
    if (extension === ".json") return JSON.parse(text);
    if (extension === ".yaml" || extension === ".yml") return parseYaml(text);
    throw new Error("the file name must end in .json, .yaml or .yml");
  } catch (error) {
    throw new ConfigError([`${label}: ${(error as Error).message}`]);
  }
}

/** A catalog document as its file spells it, checked for shape: what versions store and diff. */
export type CatalogDocument = z.infer<typeof catalogSchema>;

/** Checks the shape of catalog data, every problem at once (the rules come with createPlanCatalog). */
export function catalogDocument(data: unknown, label: string): CatalogDocument {
  const parsed = catalogSchema.safeParse(data);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => `${label}: ${formatPath(issue.path)}: ${issue.message}`),
    );
  }
  return parsed.data;
}

/** The violation text for a resource type the catalog does not know, listing the known ones. */
export function unknownResourceDescription(catalog: PlanCatalog): string {
  return `is not a known resource; known: ${[...catalog.resourceKinds.keys()].join(", ")}`;
}

/**
 * Validates parsed catalog data and builds the lookup structure over it; `versions` numbers its
 * plans (1 when a plan is not listed).
 */
export function createPlanCatalog(
  data: unknown,
  label: string,
  versions: Readonly<Record<string, number>> = {},
): PlanCatalog {
  const document = catalogDocument(data, label);
  const problems: string[] = [];
  const resourceKinds = new Map<string, ResourceKind>();
  const byId = new Map<string, Plan>();
  const byPrice = new Map<string, Plan>();
  const byMeteredPrice = new Map<string, { plan: Plan; limit: PlanLimit }>();
  const meterOfCounter = new Map<string, string>();
  const counterOfMeter = new Map<string, string>();
  const meters = metersOf(document.meters ?? {}, document.plans);
  problems.push(...meterProblems(label, document.meters ?? {}));
  const features = readFeatureDefinitions(document.features ?? {}, label);
  problems.push(...features.problems);
  const meterOf = (resourceType: string): Meter =>
    meters.get(resourceType) ?? plainMeter(resourceType);
  // One counter feeds one Stripe meter, and one meter is fed by one counter.
  const checkMeter = (at: string, counter: string, eventName: string | undefined) => {
    if (eventName === undefined) return;
    const known = meterOfCounter.get(counter) ?? eventName;
    if (known !== eventName) {
      problems.push(
        `${at}.meter_event_name: "${eventName}" differs from "${known}" in an earlier plan; one resource feeds one meter`,
      );
    }
    const owner = counterOfMeter.get(eventName) ?? counter;
    if (owner !== counter) {
      problems.push(`${at}.meter_event_name: "${eventName}" already meters ${owner}`);
    }
    meterOfCounter.set(counter, known);
    counterOfMeter.set(eventName, owner);
  };
  for (const [index, raw] of document.plans.entries()) {
    const limits = Object.entries(raw.limits).map(([resourceType, limit]) => ({
      ...limitOf(resourceType, limit.kind, limit, {}, raw.currency),
      dimensionLimits: (limit.dimension_limits ?? []).map((d) =>
        limitOf(resourceType, limit.kind, d, d.dimensions, raw.currency),
      ),
    }));
    const minimum = raw.minimum_amount === undefined ? undefined : new Decimal(raw.minimum_amount);
    if (minimum !== undefined && !toMinorUnits(minimum, raw.currency).isInteger()) {
      problems.push(
        `${label}: plans[${index}].minimum_amount: must be a whole number of ${raw.currency}'s minor unit (${minorUnitDigits(raw.currency)} decimals)`,
      );
    }
    const plan: Plan = {
      id: raw.id,
      version: versions[raw.id] ?? 1,
      displayName: raw.display_name,
      priceId: raw.price_id,
      unitAmount: raw.unit_amount === undefined ? undefined : new Decimal(raw.unit_amount),
      currency: raw.currency,
      interval: raw.interval,
      minimumAmount: minimum,
      limits,
      limitsByCounter: new Map(
        limits
          .flatMap((l) => [l, ...l.dimensionLimits])
          .map((l) => [counterName(l.resourceType, l.dimensions), l]),
      ),
      features: planFeatures(
        features.definitions,
        raw.features ?? {},
        `${label}: plans[${index}].features`,
        problems,
      ),
    };
    for (const [resourceType, limit] of Object.entries(raw.limits)) {
      const at = `${label}: plans[${index}].limits.${resourceType}`;
      const meter = meterOf(resourceType);
      if (limit.kind === "allocation" && meter.aggregation !== "sum") {
        problems.push(
          `${at}.kind: an allocation is a level that goes up and down; its meter must be sum, not ${meter.aggregation}`,
        );
      }
      const planLimit = plan.limits.find((l) => l.resourceType === resourceType) as PlanLimit;
      const priced: [string, RawLimit, PlanLimit][] =
        "limit" in limit ? [[at, { ...limit, kind: limit.kind }, planLimit]] : [];
      const seen = new Set<string>();
      for (const [d, dimensionLimit] of (limit.dimension_limits ?? []).entries()) {
        const dat = `${at}.dimension_limits[${d}]`;
        problems.push(...selectorProblems(dat, meter, dimensionLimit.dimensions));
        const name = counterName(resourceType, dimensionLimit.dimensions);
        if (seen.has(name)) problems.push(`${dat}.dimensions: repeats an earlier dimension limit`);
        seen.add(name);
        priced.push([
          dat,
          { ...dimensionLimit, kind: limit.kind },
          planLimit.dimensionLimits[d] as PlanLimit,
        ]);
      }
      for (const [where, rawLimit, parsedLimit] of priced) {
        problems.push(...overageProblems(where, rawLimit, raw.currency));
        problems.push(...windowProblems(where, rawLimit, meter, where !== at));
        // A provider's meter adds up what it is sent; a latest value can go down.
        if (rawLimit.meter_event_name !== undefined && meter.aggregation === "latest") {
          problems.push(
            `${where}.meter_event_name: a latest meter's value can go down, and the provider's meter only adds increments; bill it by the invoice instead`,
          );
        }
        checkMeter(
          where,
          counterName(resourceType, parsedLimit.dimensions),
          rawLimit.meter_event_name,
        );
        const priceId = rawLimit.metered_price_id;
        if (priceId === undefined) continue;
        if (byMeteredPrice.has(priceId))
          problems.push(`${where}.metered_price_id: "${priceId}" repeats`);
        byMeteredPrice.set(priceId, { plan, limit: parsedLimit });
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
  for (const resourceType of meters.keys()) {
    if (!resourceKinds.has(resourceType)) {
      problems.push(`${label}: meters.${resourceType}: no plan has this resource`);
    }
  }
  const defaultPlan = byId.get(document.default_plan);
  if (defaultPlan === undefined) {
    problems.push(`${label}: default_plan: "${document.default_plan}" is not a plan id`);
  }
  for (const [priceId, { plan }] of byMeteredPrice) {
    if (byPrice.has(priceId)) {
      problems.push(
        `${label}: plans[${document.plans.findIndex((p) => p.id === plan.id)}]: metered price "${priceId}" is also a plan's price_id`,
      );
    }
  }
  if (problems.length > 0 || defaultPlan === undefined) throw new ConfigError(problems);
  // Every resource has its meter object, made once: ingestion looks one up per event.
  for (const resourceType of resourceKinds.keys()) {
    if (!meters.has(resourceType)) meters.set(resourceType, plainMeter(resourceType));
  }
  const plans = [...byId.values()];
  return {
    plans,
    defaultPlan,
    resourceKinds,
    features: features.definitions,
    planById: (id) => byId.get(id),
    planVersion: (id, version) => {
      const plan = byId.get(id);
      return version === undefined || plan?.version === version ? plan : undefined;
    },
    allVersions: plans,
    planByPriceId: (priceId) => byPrice.get(priceId),
    meteredPrice: (priceId) => byMeteredPrice.get(priceId),
    meterOf,
  };
}

type RawMeter = z.infer<typeof meterSchema>;

// Each declared feature with the plan's value, or its default; a value the plan gives a feature
// the catalog does not declare, or of the wrong type, is a problem.
function planFeatures(
  definitions: ReadonlyMap<string, FeatureDefinition>,
  raw: Record<string, boolean | string>,
  at: string,
  problems: string[],
): Plan["features"] {
  for (const name of Object.keys(raw)) {
    if (!definitions.has(name)) {
      problems.push(
        `${at}.${name}: is not a declared feature; declared: ${[...definitions.keys()].join(", ") || "none"}`,
      );
    }
  }
  const values = new Map<string, { value: FeatureValue; source: "plan" | "default" }>();
  for (const [name, definition] of definitions) {
    const given = raw[name];
    if (given === undefined) {
      values.set(name, { value: definition.default, source: "default" });
      continue;
    }
    const value = readFeatureValue(definition, given);
    if (typeof value === "string") problems.push(`${at}.${name}: ${value}`);
    else values.set(name, { value, source: "plan" });
  }
  return values;
}

// The meter of a resource the catalog's `meters` does not name: a sum, without dimensions.
function plainMeter(resourceType: string): Meter {
  return {
    resourceType,
    aggregation: "sum",
    dimensions: [],
    uniqueKey: undefined,
    valueProperty: DEFAULT_VALUE_PROPERTY,
    selectors: [],
  };
}

// Each meter with its selectors: the dimension values of every dimension limit of every plan,
// each once, so a resource's dimension limits are counted whatever the tenant's plan.
function metersOf(
  raw: Record<string, RawMeter>,
  plans: z.infer<typeof catalogSchema>["plans"],
): Map<string, Meter> {
  return new Map(
    Object.entries(raw).map(([resourceType, m]) => {
      const selectors = new Map<string, Record<string, string>>();
      for (const plan of plans) {
        for (const { dimensions } of plan.limits[resourceType]?.dimension_limits ?? []) {
          selectors.set(counterName(resourceType, dimensions), dimensions);
        }
      }
      const meter: Meter = {
        resourceType,
        aggregation: m.aggregation as Aggregation,
        dimensions: [...(m.dimensions ?? [])].sort(),
        uniqueKey: m.unique_key,
        valueProperty: m.value_property ?? DEFAULT_VALUE_PROPERTY,
        selectors: [...selectors.values()],
      };
      return [resourceType, meter];
    }),
  );
}

// A unique_count names its member attribute, and only it does; the member is not a dimension.
function meterProblems(label: string, raw: Record<string, RawMeter>): string[] {
  const problems: string[] = [];
  for (const [resourceType, m] of Object.entries(raw)) {
    const at = `${label}: meters.${resourceType}`;
    if (!(AGGREGATIONS as readonly string[]).includes(m.aggregation)) {
      problems.push(
        `${at}.aggregation: "${m.aggregation}" is not one of ${AGGREGATIONS.join(", ")}`,
      );
    }
    if (m.aggregation === "unique_count" && m.unique_key === undefined) {
      problems.push(
        `${at}.unique_key: required for a unique_count meter (the attribute naming the member)`,
      );
    }
    if (m.aggregation !== "unique_count" && m.unique_key !== undefined) {
      problems.push(`${at}.unique_key: only a unique_count meter has one, not ${m.aggregation}`);
    }
    const dimensions = m.dimensions ?? [];
    if (new Set(dimensions).size !== dimensions.length) {
      problems.push(`${at}.dimensions: names a dimension twice`);
    }
    if (m.unique_key !== undefined && dimensions.includes(m.unique_key)) {
      problems.push(`${at}.dimensions: "${m.unique_key}" is the unique_key, not a dimension`);
    }
    const value = m.value_property;
    if (value !== undefined && (dimensions.includes(value) || value === m.unique_key)) {
      problems.push(`${at}.value_property: "${value}" carries the quantity, not an attribute`);
    }
  }
  return problems;
}

// A dimension limit names at least one dimension, and only those its meter declares.
function selectorProblems(at: string, meter: Meter, dimensions: Record<string, string>): string[] {
  const names = Object.keys(dimensions);
  if (names.length === 0)
    return [`${at}.dimensions: names no dimension; the resource's own limit is the total`];
  return names
    .filter((name) => !meter.dimensions.includes(name))
    .map(
      (name) =>
        `${at}.dimensions.${name}: is not a dimension of the ${meter.resourceType} meter (declared: ${meter.dimensions.join(", ") || "none"})`,
    );
}

function limitOf(
  resourceType: string,
  kind: ResourceKind,
  raw: Partial<RawLimit> & { alert_thresholds?: number[] | undefined },
  dimensions: Record<string, string>,
  currency: string,
): PlanLimit {
  const limited = raw.limit !== undefined;
  return {
    resourceType,
    kind,
    limit: limited ? new Decimal(raw.limit as string) : undefined,
    overage: limited ? overageOf({ ...(raw as RawLimit), kind }, currency) : undefined,
    alertThresholds: thresholdsOf(limited ? raw.alert_thresholds : []),
    window: raw.window === undefined ? undefined : windowMs(raw.window),
    dimensions,
    dimensionLimits: [],
  };
}

type RawLimit = {
  kind: ResourceKind;
  window?: string | undefined;
  alert_thresholds?: number[] | undefined;
  limit: string;
  overage_unit_amount?: string | undefined;
  pricing?: z.infer<typeof pricingSchema> | undefined;
  overage_cap?: string | undefined;
  meter_event_name?: string | undefined;
  metered_price_id?: string | undefined;
};

// `overage_unit_amount` is shorthand for a per_unit price.
function pricingOf(raw: RawLimit, currency: string): Pricing | undefined {
  if (raw.pricing !== undefined) return readPricing(raw.pricing, currency, "pricing").pricing;
  if (raw.overage_unit_amount === undefined) return undefined;
  return { model: "per_unit", unitAmount: new Decimal(raw.overage_unit_amount) };
}

function overageOf(raw: RawLimit, currency: string): Overage | undefined {
  const pricing = pricingOf(raw, currency);
  if (pricing === undefined) return undefined;
  return {
    pricing,
    cap: raw.overage_cap === undefined ? undefined : new Decimal(raw.overage_cap),
    meter:
      raw.meter_event_name === undefined || raw.metered_price_id === undefined
        ? undefined
        : { eventName: raw.meter_event_name, meteredPriceId: raw.metered_price_id },
  };
}

// Overage fields make sense only together: a cap or a meter needs a price, a meter needs both
// its event name and its price, and allocations (a level, not a sum over the period) have none.
function overageProblems(at: string, raw: RawLimit, currency: string): string[] {
  const problems: string[] = [];
  const priced = raw.overage_unit_amount !== undefined || raw.pricing !== undefined;
  const field = raw.pricing === undefined ? "overage_unit_amount" : "pricing";
  if (raw.overage_unit_amount !== undefined && raw.pricing !== undefined) {
    problems.push(
      `${at}.overage_unit_amount: is shorthand for a per_unit pricing; give one or the other`,
    );
  }
  if (raw.pricing !== undefined) {
    problems.push(...readPricing(raw.pricing, currency, `${at}.pricing`).problems);
  }
  const pricing = pricingOf(raw, currency);
  if (pricing !== undefined && raw.meter_event_name !== undefined) {
    problems.push(...meteredPricingProblems(`${at}.pricing`, pricing, new Decimal(raw.limit)));
  }
  if (priced && raw.kind === "allocation") {
    problems.push(
      `${at}.${field}: allocations cannot have overage; only consumables are billed per unit used`,
    );
  }
  for (const field of ["overage_cap", "meter_event_name", "metered_price_id"] as const) {
    if (raw[field] !== undefined && !priced) {
      problems.push(
        `${at}.${field}: needs pricing or overage_unit_amount (only a soft limit has it)`,
      );
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

/** Units of a window's length. */
const WINDOW_UNITS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** The shortest and longest rolling windows: one second, one day. */
const WINDOW_BOUNDS = { min: 1_000, max: 86_400_000 };

/** A window's length as the catalog writes it (`"60s"`, `"5m"`): the largest unit that divides it. */
export function windowText(ms: number): string {
  for (const unit of ["d", "h", "m"] as const) {
    const size = WINDOW_UNITS[unit] as number;
    if (ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms / 1000}s`;
}

// `"60s"`, `"5m"`, `"1h"`, `"1d"` in milliseconds; NaN when the text is not such a length.
function windowMs(text: string): number {
  const match = /^([1-9][0-9]{0,5})([smhd])$/.exec(text);
  return match ? Number(match[1]) * (WINDOW_UNITS[match[2] as string] as number) : Number.NaN;
}

// A rolling window counts calls, not billed usage: one length from 1 s to 1 day, on a
// consumable's own limit counted by sum or count, without pricing, meter or alert thresholds.
function windowProblems(
  at: string,
  raw: RawLimit,
  meter: Meter,
  dimensionLimit: boolean,
): string[] {
  if (raw.window === undefined) return [];
  const ms = windowMs(raw.window);
  const problems: string[] = [];
  if (!(ms >= WINDOW_BOUNDS.min && ms <= WINDOW_BOUNDS.max)) {
    problems.push(
      `${at}.window: "${raw.window}" must be a length from 1s to 1d such as "60s", "5m" or "1h"`,
    );
  }
  if (dimensionLimit)
    problems.push(`${at}.window: only a resource's own limit can be a rolling window`);
  if (raw.kind !== "consumable")
    problems.push(`${at}.window: only a consumable can be counted over a window`);
  if (meter.aggregation !== "sum" && meter.aggregation !== "count") {
    problems.push(`${at}.window: a window counts a sum or count meter, not ${meter.aggregation}`);
  }
  for (const field of [
    "pricing",
    "overage_unit_amount",
    "overage_cap",
    "meter_event_name",
    "alert_thresholds",
  ] as const) {
    if (raw[field] !== undefined) {
      problems.push(
        `${at}.${field}: a rolling window is never billed or alerted; remove it or the window`,
      );
    }
  }
  return problems;
}

/**
 * Why a price cannot bill a limit that a provider meter feeds, if it cannot: the meter is fed
 * the whole usage and the provider's price must say the same as ours, so the included quantity
 * becomes a free first tier (which Stripe bounds by a whole number), and a volume price cannot
 * leave the included units out of the tier the total falls in.
 */
export function meteredPricingProblems(at: string, pricing: Pricing, included: Decimal): string[] {
  const fromIncluded =
    pricing.model === "per_unit" ||
    ((pricing.model === "graduated" || pricing.model === "volume") &&
      pricing.tiersFrom === "included");
  if (pricing.model === "volume" && pricing.tiersFrom === "included") {
    return [
      `${at}.tiers_from: a metered volume price counts from zero (Stripe prices every unit at the tier the total falls in); add a free first tier instead`,
    ];
  }
  if (fromIncluded && !included.isInteger()) {
    return [`${at}: a metered price's included quantity (limit) must be a whole number`];
  }
  return [];
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
