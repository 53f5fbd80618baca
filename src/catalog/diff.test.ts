import { describe, expect, it } from "vitest";
import { type CatalogDocument, catalogDocument } from "./catalog.js";
import defaultCatalogFile from "./default-plans.json" with { type: "json" };
import { diffCatalogs, formatCatalogChanges } from "./diff.js";

const document = (): CatalogDocument => catalogDocument(structuredClone(defaultCatalogFile), "t");

describe(diffCatalogs.name, () => {
  it("should list every change: plans, prices, limits, features and meters", () => {
    // given a catalog with a plan added and one removed, a price, a limit, a plan's feature
    // value, a feature and a meter changed
    const before = document();
    const after = document();
    after.plans = after.plans.filter((p) => p.id !== "enterprise");
    const pro = after.plans.find((p) => p.id === "pro");
    if (pro === undefined) throw new Error("the default catalog has PRO");
    pro.unit_amount = "59.00";
    pro.limits.executions = { kind: "consumable", limit: "8000" };
    pro.features = { ...pro.features, sso: true };
    after.plans.push({ ...pro, id: "startup", price_id: "price_startup" });
    after.features = { ...after.features, audit_log: { type: "boolean", default: false } };
    after.meters = { ...after.meters, seats: { aggregation: "max" } };

    // when
    const changes = diffCatalogs(before, after);

    // then
    expect(changes.map((c) => `${c.change} ${c.entry} ${c.key}`)).toEqual([
      "changed price pro",
      "changed limit pro.executions",
      "added feature pro.features.sso",
      "added plan startup",
      "removed plan enterprise",
      "added feature audit_log",
      "added meter seats",
    ]);
  });

  it("should say when nothing changes, and list every plan as added against nothing stored", () => {
    expect(
      formatCatalogChanges(diffCatalogs(document(), document()), { before: {}, after: {} }),
    ).toBe("no changes: the file matches the catalog in force\n");
    expect(diffCatalogs(undefined, document()).map((c) => c.key)).toEqual([
      "free",
      "pro",
      "team",
      "enterprise",
      ...Object.keys(document().features ?? {}),
      ...Object.keys(document().meters ?? {}),
    ]);
  });
});
