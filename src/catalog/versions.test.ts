import { describe, expect, it } from "vitest";
import { type CatalogDocument, catalogDocument, createPlanCatalog } from "./catalog.js";
import defaultCatalogFile from "./default-plans.json" with { type: "json" };
import {
  type CatalogVersion,
  createVersionedCatalog,
  nextPlanVersions,
  planFingerprints,
  pushProblems,
} from "./versions.js";

const document = (): CatalogDocument => catalogDocument(structuredClone(defaultCatalogFile), "t");

const withPro = (change: (pro: CatalogDocument["plans"][number]) => void): CatalogDocument => {
  const next = document();
  const pro = next.plans.find((p) => p.id === "pro");
  if (pro === undefined) throw new Error("the default catalog has PRO");
  change(pro);
  return next;
};

const ONES = { free: 1, pro: 1, team: 1, enterprise: 1 };

describe(nextPlanVersions.name, () => {
  it("should bump only the plans whose terms changed, and continue a removed plan's numbers", () => {
    // given version 1, then PRO repriced (version 2)
    const first: CatalogVersion = { version: 1, document: document(), planVersions: ONES };
    const repriced = withPro((pro) => {
      pro.unit_amount = "59.00";
      pro.price_id = "price_pro_2027";
    });

    // when
    const second = nextPlanVersions([first], repriced);
    const withoutTeam = { ...repriced, plans: repriced.plans.filter((p) => p.id !== "team") };
    const third = nextPlanVersions(
      [first, { version: 2, document: repriced, planVersions: second }],
      withoutTeam,
    );
    const teamBack = nextPlanVersions(
      [
        first,
        { version: 2, document: repriced, planVersions: second },
        { version: 3, document: withoutTeam, planVersions: third },
      ],
      repriced,
    );

    // then
    expect(second).toEqual({ ...ONES, pro: 2 });
    expect(third).toEqual({ free: 1, pro: 2, enterprise: 1 });
    expect(teamBack.team).toBe(2);
  });

  it("should count a feature's new default and a meter of the plan's as a change of the plan", () => {
    const base = document();
    const feature = document();
    feature.features = { ...feature.features, audit_log: { type: "boolean", default: false } };
    expect(
      [...planFingerprints(feature).entries()].filter(
        ([id, f]) => planFingerprints(base).get(id) !== f,
      ),
    ).toHaveLength(4);
  });
});

describe(pushProblems.name, () => {
  it("should refuse a price id that would charge differently, and a resource's kind changed", () => {
    const held = createPlanCatalog(document(), "held");
    const changed = withPro((pro) => {
      pro.unit_amount = "59.00";
    });
    for (const plan of changed.plans) {
      const agents = plan.limits.agents;
      if (agents !== undefined) plan.limits.agents = { ...agents, kind: "consumable" };
    }
    const next = createPlanCatalog(changed, "next");
    expect(pushProblems(held, next, "file")).toEqual([
      "file: agents: is consumable but was allocation; usage already recorded keeps its kind, so add a new resource instead",
      'file: plans.pro.price_id: "price_pro_monthly" charged 49 usd per month on pro version 1; a provider\'s price cannot change, so give the new charge a new price_id',
    ]);
  });
});

describe(createVersionedCatalog.name, () => {
  it("should serve the newest plans and keep every earlier version reachable", () => {
    // given PRO repriced in version 2, and TEAM dropped in version 3
    const repriced = withPro((pro) => {
      pro.unit_amount = "59.00";
      pro.price_id = "price_pro_2027";
      pro.limits.executions = { kind: "consumable", limit: "8000" };
    });
    const dropped = { ...repriced, plans: repriced.plans.filter((p) => p.id !== "team") };
    const catalog = createVersionedCatalog([
      { version: 1, document: document(), planVersions: ONES },
      { version: 2, document: repriced, planVersions: { ...ONES, pro: 2 } },
      { version: 3, document: dropped, planVersions: { free: 1, pro: 2, enterprise: 1 } },
    ]);

    // then the current plans are version 3's, and PRO 1 and TEAM 1 stay reachable
    expect(catalog.plans.map((p) => `${p.id}@${p.version}`)).toEqual([
      "free@1",
      "pro@2",
      "enterprise@1",
    ]);
    expect(catalog.planVersion("pro", 1)?.limitsByCounter.get("executions")?.limit?.toFixed()).toBe(
      "10000",
    );
    expect(catalog.planVersion("pro", undefined)?.unitAmount?.toFixed(2)).toBe("59.00");
    expect(catalog.planVersion("team", 1)?.id).toBe("team");
    expect(catalog.planById("team")).toBeUndefined();
    // a price finds its own version, the current one first
    expect(catalog.planByPriceId("price_pro_monthly")?.version).toBe(1);
    expect(catalog.planByPriceId("price_pro_2027")?.version).toBe(2);
    expect(catalog.planByPriceId("price_team_monthly")?.version).toBe(1);
    // usage of every version's resources is still known
    expect(catalog.resourceKinds.get("executions")).toBe("consumable");
  });
});
