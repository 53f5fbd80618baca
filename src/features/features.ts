import type { Plan, PlanCatalog } from "../catalog/catalog.js";
import { type FeatureValue, featureValueJson } from "../catalog/features.js";
import { counterName } from "../catalog/meters.js";

/** Where a tenant's value of a feature comes from. */
export type FeatureSource = "plan" | "override" | "default";

/** One feature of a tenant with its value. */
export interface TenantFeature {
  name: string;
  value: FeatureValue;
  source: FeatureSource;
  /** When the override that sets the value ends; undefined for other sources or no expiry. */
  overrideExpireTime: Date | undefined;
}

/** A tenant's own value of one feature, as set. */
export interface FeatureOverride {
  tenantId: string;
  feature: string;
  value: FeatureValue;
  expireTime: Date | undefined;
  createTime: Date;
  updateTime: Date;
}

/**
 * Every feature the catalog declares with the tenant's value: an override in force wins over
 * the plan's value, which wins over the feature's default.
 */
export function featuresOf(
  catalog: PlanCatalog,
  plan: Plan,
  overrides: readonly FeatureOverride[],
): TenantFeature[] {
  const byName = new Map(overrides.map((o) => [o.feature, o]));
  return [...catalog.features.keys()].map((name) => {
    const override = byName.get(name);
    if (override !== undefined) {
      return {
        name,
        value: override.value,
        source: "override",
        overrideExpireTime: override.expireTime,
      };
    }
    const planned = plan.features.get(name);
    return {
      name,
      value: planned?.value ?? (catalog.features.get(name)?.default as FeatureValue),
      source: planned?.source ?? "default",
      overrideExpireTime: undefined,
    };
  });
}

/**
 * Whether a feature is on: a boolean feature's value; a number or string feature is on when
 * its value differs from the catalog's default (a plan or override gave it something).
 */
export function isEnabled(catalog: PlanCatalog, feature: TenantFeature): boolean {
  if (feature.value.type === "boolean") return feature.value.value;
  const fallback = catalog.features.get(feature.name)?.default;
  return fallback === undefined || featureValueJson(fallback) !== featureValueJson(feature.value);
}

/** A limit override as the snapshot needs it: the allowance, undefined for unlimited. */
export interface LimitOverride {
  resourceType: string;
  limit: string | undefined;
  expireTime: Date | undefined;
}

/**
 * What a tenant is entitled to, in the form `entitlement.updated` carries and
 * `entitlement_states` stores: its plan, each feature's value, each limit's allowance (a
 * decimal string, null for unlimited) by counter name (a dimension limit's `tokens{model=x}`).
 */
export interface EntitlementSnapshot {
  plan_id: string;
  plan_version: number;
  features: Record<string, boolean | string>;
  limits: Record<string, string | null>;
}

/** The snapshot of a tenant on `plan` with the overrides in force. */
export function snapshotOf(
  catalog: PlanCatalog,
  plan: Plan,
  features: readonly FeatureOverride[],
  limits: readonly LimitOverride[],
): EntitlementSnapshot {
  const overridden = new Map(limits.map((o) => [o.resourceType, o.limit ?? null]));
  const snapshotLimits: Record<string, string | null> = {};
  for (const limit of plan.limits.flatMap((l) => [l, ...l.dimensionLimits])) {
    const name = counterName(limit.resourceType, limit.dimensions);
    snapshotLimits[name] = overridden.has(name)
      ? (overridden.get(name) as string | null)
      : (limit.limit?.toFixed() ?? null);
  }
  for (const [name, value] of overridden) snapshotLimits[name] = value;
  return {
    plan_id: plan.id,
    plan_version: plan.version,
    features: Object.fromEntries(
      featuresOf(catalog, plan, features).map((f) => [f.name, featureValueJson(f.value)]),
    ),
    limits: snapshotLimits,
  };
}

/**
 * What differs between two snapshots, sorted: `plan_id`, and the feature names and counters
 * whose values differ.
 */
export function changesBetween(before: EntitlementSnapshot, after: EntitlementSnapshot): string[] {
  const changed = new Set<string>(before.plan_id === after.plan_id ? [] : ["plan_id"]);
  // Snapshots stored before plans had versions carry none: they were on version 1.
  if ((before.plan_version ?? 1) !== after.plan_version) changed.add("plan_version");
  for (const part of ["features", "limits"] as const) {
    const names = new Set([...Object.keys(before[part]), ...Object.keys(after[part])]);
    for (const name of names) {
      if (before[part][name] !== after[part][name]) changed.add(name);
    }
  }
  return [...changed].sort();
}
