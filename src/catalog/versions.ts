import { createHash } from "node:crypto";
import type { CatalogDocument, Plan, PlanCatalog, PlanLimit, ResourceKind } from "./catalog.js";
import { createPlanCatalog } from "./catalog.js";
import type { FeatureDefinition } from "./features.js";
import { counterName, type Meter } from "./meters.js";

/** One stored catalog: its document and the version each of its plans has in it. */
export interface CatalogVersion {
  version: number;
  document: CatalogDocument;
  planVersions: Readonly<Record<string, number>>;
}

/**
 * Everything that decides what a plan's subscribers get, as one hash: the plan's own entry, the
 * catalog's features (their defaults fill the plan's unset ones) and the meters of its
 * resources. Two documents give a plan the same fingerprint exactly when its terms are equal.
 */
export function planFingerprints(document: CatalogDocument): Map<string, string> {
  const meters = document.meters ?? {};
  return new Map(
    document.plans.map((plan) => {
      const own = Object.keys(plan.limits).sort();
      const terms = {
        plan,
        features: document.features ?? {},
        meters: Object.fromEntries(own.flatMap((r) => (meters[r] ? [[r, meters[r]]] : []))),
      };
      return [plan.id, createHash("sha256").update(canonicalJson(terms)).digest("hex")];
    }),
  );
}

/**
 * The version each plan of `next` gets when it is pushed after `versions`: its version in force
 * when its fingerprint is unchanged, else one more than the highest it ever had (a plan removed
 * and added back continues its numbering).
 */
export function nextPlanVersions(
  versions: readonly CatalogVersion[],
  next: CatalogDocument,
): Record<string, number> {
  const current = versions.at(-1);
  const before = current ? planFingerprints(current.document) : new Map<string, string>();
  const highest = new Map<string, number>();
  for (const { planVersions } of versions) {
    for (const [id, version] of Object.entries(planVersions)) {
      highest.set(id, Math.max(version, highest.get(id) ?? 0));
    }
  }
  const result: Record<string, number> = {};
  for (const [id, fingerprint] of planFingerprints(next)) {
    const kept = current?.planVersions[id];
    result[id] =
      kept !== undefined && before.get(id) === fingerprint ? kept : (highest.get(id) ?? 0) + 1;
  }
  return result;
}

/**
 * What a push may not change, because subscriptions on earlier versions and recorded usage keep
 * their meaning: a resource's kind and its meter's aggregation, unique key and value property
 * (usage already counted one way cannot be re-read another), and a price id whose amount,
 * currency or interval differs from what it charged before (a provider's price is immutable).
 */
export function pushProblems(held: PlanCatalog, next: PlanCatalog, label: string): string[] {
  const problems: string[] = [];
  for (const [resourceType, kind] of next.resourceKinds) {
    const was = held.resourceKinds.get(resourceType);
    if (was !== undefined && was !== kind) {
      problems.push(
        `${label}: ${resourceType}: is ${kind} but was ${was}; usage already recorded keeps its kind, so add a new resource instead`,
      );
    }
  }
  for (const resourceType of next.resourceKinds.keys()) {
    if (!held.resourceKinds.has(resourceType)) continue;
    const was = held.meterOf(resourceType);
    const is = next.meterOf(resourceType);
    for (const field of ["aggregation", "uniqueKey", "valueProperty"] as const) {
      if (was[field] !== is[field]) {
        problems.push(
          `${label}: meters.${resourceType}.${snakeCase(field)}: "${is[field] ?? ""}" differs from "${was[field] ?? ""}"; usage already counted keeps its meter, so add a new resource instead`,
        );
      }
    }
  }
  for (const plan of next.plans) {
    if (plan.priceId === undefined) continue;
    const earlier = held.allVersions.find((p) => p.priceId === plan.priceId);
    if (earlier !== undefined && chargeOf(earlier) !== chargeOf(plan)) {
      problems.push(
        `${label}: plans.${plan.id}.price_id: "${plan.priceId}" charged ${chargeOf(earlier)} on ${earlier.id} version ${earlier.version}; a provider's price cannot change, so give the new charge a new price_id`,
      );
    }
  }
  return problems;
}

/**
 * The catalog as every version stored builds it: the newest version's plans are current, every
 * earlier version of a plan stays reachable by `planVersion` for the subscriptions still on it,
 * and what identifies usage (resource kinds, meters, features) is the union, the newest first.
 */
export function createVersionedCatalog(versions: readonly CatalogVersion[]): PlanCatalog {
  const newest = versions.at(-1);
  if (newest === undefined) throw new Error("a versioned catalog needs at least one version");
  const label = (v: CatalogVersion) => `catalog version ${v.version}`;
  const current = createPlanCatalog(newest.document, label(newest), newest.planVersions);
  const older = versions
    .slice(0, -1)
    .reverse()
    .map((v) => createPlanCatalog(v.document, label(v), v.planVersions));
  const byVersion = new Map<string, Plan>();
  for (const catalog of [current, ...older]) {
    for (const plan of catalog.plans) {
      const key = `${plan.id}@${plan.version}`;
      if (!byVersion.has(key)) byVersion.set(key, plan);
    }
  }
  const all = [current, ...older];
  const resourceKinds = new Map<string, ResourceKind>();
  const features = new Map<string, FeatureDefinition>();
  for (const catalog of all) {
    for (const [type, kind] of catalog.resourceKinds) {
      if (!resourceKinds.has(type)) resourceKinds.set(type, kind);
    }
    for (const [name, feature] of catalog.features) {
      if (!features.has(name)) features.set(name, feature);
    }
  }
  const firstOf = <T>(find: (catalog: PlanCatalog) => T | undefined): T | undefined => {
    for (const catalog of all) {
      const found = find(catalog);
      if (found !== undefined) return found;
    }
    return undefined;
  };
  // A meter counts every dimension limit that any version sets, so a subscription still on an
  // earlier version finds its dimension counters kept.
  const meters = new Map<string, Meter>(
    [...resourceKinds.keys()].map((type) => {
      const holding = all.filter((c) => c.resourceKinds.has(type));
      const meter = (holding[0] ?? current).meterOf(type);
      const selectors = new Map(
        holding.flatMap((c) => c.meterOf(type).selectors).map((s) => [counterName(type, s), s]),
      );
      return [type, { ...meter, selectors: [...selectors.values()] }];
    }),
  );
  return {
    plans: current.plans,
    defaultPlan: current.defaultPlan,
    resourceKinds,
    features,
    planById: current.planById,
    planVersion: (id, version) =>
      version === undefined ? current.planById(id) : byVersion.get(`${id}@${version}`),
    allVersions: [...byVersion.values()],
    planByPriceId: (priceId) => firstOf((c) => c.planByPriceId(priceId)),
    meteredPrice: (priceId) =>
      firstOf((c) => c.meteredPrice(priceId)) as { plan: Plan; limit: PlanLimit } | undefined,
    meterOf: (type) => meters.get(type) ?? current.meterOf(type),
  };
}

/** JSON with object keys sorted at every depth, so equal values print equally. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

function chargeOf(plan: Plan): string {
  return `${plan.unitAmount?.toFixed() ?? "negotiated"} ${plan.currency} per ${plan.interval}`;
}

function snakeCase(field: string): string {
  return field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}
