import type { CatalogDocument } from "./catalog.js";
import { canonicalJson } from "./versions.js";

/** What a catalog entry is: a plan, one of its prices or limits, a feature or a meter. */
export type CatalogEntry = "plan" | "price" | "limit" | "feature" | "meter";

/** One difference between the catalog in force and a new one. */
export interface CatalogChange {
  entry: CatalogEntry;
  /** `pro`, `pro.executions`, `pro.features.sso`, `sso`, `tokens`: unique per entry kind. */
  key: string;
  change: "added" | "removed" | "changed";
  /** As the file spells it; undefined when added. */
  before?: unknown;
  /** As the file spells it; undefined when removed. */
  after?: unknown;
}

type RawPlan = CatalogDocument["plans"][number];

// The fields of a plan entry that make up its price; the rest are its name, limits and features.
const PRICE_FIELDS = ["price_id", "unit_amount", "currency", "interval", "minimum_amount"] as const;

/**
 * Every difference from `before` (undefined: nothing stored yet) to `after`, plans in `after`'s
 * order then removed ones: a plan added or removed is one change, a plan changed lists what
 * changed in it (its price, each limit, each feature value, its name).
 */
export function diffCatalogs(
  before: CatalogDocument | undefined,
  after: CatalogDocument,
): CatalogChange[] {
  const changes: CatalogChange[] = [];
  const was = new Map((before?.plans ?? []).map((p) => [p.id, p]));
  for (const plan of after.plans) {
    const old = was.get(plan.id);
    if (old === undefined) changes.push({ entry: "plan", key: plan.id, change: "added" });
    else changes.push(...planChanges(old, plan));
    was.delete(plan.id);
  }
  for (const id of was.keys()) changes.push({ entry: "plan", key: id, change: "removed" });
  if (before !== undefined && before.default_plan !== after.default_plan) {
    changes.push({
      entry: "plan",
      key: "default_plan",
      change: "changed",
      before: before.default_plan,
      after: after.default_plan,
    });
  }
  changes.push(...recordChanges("feature", "", before?.features ?? {}, after.features ?? {}));
  changes.push(...recordChanges("meter", "", before?.meters ?? {}, after.meters ?? {}));
  return changes;
}

function planChanges(before: RawPlan, after: RawPlan): CatalogChange[] {
  const changes: CatalogChange[] = [];
  const price = (plan: RawPlan) => Object.fromEntries(PRICE_FIELDS.map((f) => [f, plan[f]]));
  if (canonicalJson(price(before)) !== canonicalJson(price(after))) {
    changes.push({
      entry: "price",
      key: after.id,
      change: "changed",
      before: price(before),
      after: price(after),
    });
  }
  if (before.display_name !== after.display_name) {
    changes.push({
      entry: "plan",
      key: after.id,
      change: "changed",
      before: { display_name: before.display_name },
      after: { display_name: after.display_name },
    });
  }
  changes.push(...recordChanges("limit", `${after.id}.`, before.limits, after.limits));
  changes.push(
    ...recordChanges(
      "feature",
      `${after.id}.features.`,
      before.features ?? {},
      after.features ?? {},
    ),
  );
  return changes;
}

function recordChanges(
  entry: CatalogEntry,
  prefix: string,
  before: Readonly<Record<string, unknown>>,
  after: Readonly<Record<string, unknown>>,
): CatalogChange[] {
  const changes: CatalogChange[] = [];
  for (const [name, value] of Object.entries(after)) {
    const key = `${prefix}${name}`;
    if (!(name in before)) changes.push({ entry, key, change: "added", after: value });
    else if (canonicalJson(before[name]) !== canonicalJson(value)) {
      changes.push({ entry, key, change: "changed", before: before[name], after: value });
    }
  }
  for (const [name, value] of Object.entries(before)) {
    if (!(name in after)) {
      changes.push({ entry, key: `${prefix}${name}`, change: "removed", before: value });
    }
  }
  return changes;
}

/**
 * The changes as `catalog diff` prints them, one per line: `+` added, `-` removed, `~` changed,
 * then the entry, its key and the values as the file spells them; each changed plan says which
 * version its subscribers stay on and which one new subscriptions get.
 */
export function formatCatalogChanges(
  changes: readonly CatalogChange[],
  versions: {
    before: Readonly<Record<string, number>>;
    after: Readonly<Record<string, number>>;
  },
): string {
  if (changes.length === 0) return "no changes: the file matches the catalog in force\n";
  const sign = { added: "+", removed: "-", changed: "~" } as const;
  const value = (v: unknown) => (typeof v === "string" ? v : canonicalJson(v));
  const lines = changes.map((c) => {
    const head = `${sign[c.change]} ${c.entry} ${c.key}`;
    if (c.change === "added") return c.after === undefined ? head : `${head}: ${value(c.after)}`;
    if (c.change === "removed")
      return c.before === undefined ? head : `${head}: was ${value(c.before)}`;
    return `${head}: ${value(c.before)} -> ${value(c.after)}`;
  });
  const bumps = Object.entries(versions.after)
    .filter(([id, v]) => versions.before[id] !== v)
    .map(([id, v]) =>
      versions.before[id] === undefined
        ? `plan ${id}: version ${v} for new subscriptions`
        : `plan ${id}: version ${versions.before[id]} -> ${v}; existing subscriptions stay on ${versions.before[id]} until migrated`,
    );
  return `${[...lines, ...(bumps.length ? ["", ...bumps] : [])].join("\n")}\n`;
}
