import { readFile } from "node:fs/promises";
import { extname } from "node:path";
import { Decimal } from "decimal.js";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { ConfigError } from "../config/config.js";
import { UNSIGNED_DECIMAL_PATTERN } from "../validation/decimal.js";
import defaultCatalogFile from "./default-plans.json" with { type: "json" };

/** Consumables accumulate per billing period; allocations are a level that goes up and down. */
export type ResourceKind = "consumable" | "allocation";

/** One resource's limit in a plan; `limit` is undefined when the plan puts no limit on it. */
export interface PlanLimit {
  resourceType: string;
  kind: ResourceKind;
  limit: Decimal | undefined;
}

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
}

const IDENTIFIER = /^[a-z][a-z0-9_]{0,63}$/;

const limitSchema = z.union([
  z.strictObject({
    kind: z.enum(["consumable", "allocation"]),
    limit: z
      .string()
      .regex(UNSIGNED_DECIMAL_PATTERN, 'must be a non-negative decimal string such as "100"'),
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
      })),
    };
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
  if (problems.length > 0 || defaultPlan === undefined) throw new ConfigError(problems);
  return {
    plans: [...byId.values()],
    defaultPlan,
    resourceKinds,
    planById: (id) => byId.get(id),
    planByPriceId: (priceId) => byPrice.get(priceId),
  };
}

function formatPath(path: PropertyKey[]): string {
  return path.length === 0 ? "(top level)" : path.map(String).join(".");
}
