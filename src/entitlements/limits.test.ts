import { Decimal } from "decimal.js";
import { describe, expect, it } from "vitest";
import { createPlanCatalog, type Plan } from "../catalog/catalog.js";
import defaultPlans from "../catalog/default-plans.json" with { type: "json" };
import type { Override } from "../credits/credits.js";
import type { TenantPlan } from "./entitlements.js";
import { createLimitRules } from "./limits.js";
import { ZERO_COUNTER } from "./store.js";

const NOW = new Date("2026-06-15T12:00:00.000Z");
const catalog = createPlanCatalog(defaultPlans, "default catalog");
const rules = createLimitRules(catalog, () => NOW);
const plan = (id: string) => catalog.planById(id) as Plan;

/** A tenant on `planId` in June 2026, with the given overrides and resources with grants. */
function tenantOn(
  planId: string,
  overrides: Partial<Override>[] = [],
  grantResources: string[] = [],
): TenantPlan {
  return {
    plan: plan(planId),
    periodStart: new Date("2026-06-01T00:00:00.000Z"),
    periodEnd: new Date("2026-07-01T00:00:00.000Z"),
    subscription: undefined,
    prices: new Map(),
    adjustments: {
      overrides: new Map(
        overrides.map((o) => [
          o.resourceType as string,
          {
            tenantId: "t",
            resourceType: o.resourceType as string,
            limit: o.limit,
            expireTime: o.expireTime,
            createTime: NOW,
            updateTime: NOW,
          },
        ]),
      ),
      grantResources: new Set(grantResources),
      validUntil: undefined,
    },
  };
}

const counter = (used: string, granted = "0") => ({
  used: new Decimal(used),
  reserved: new Decimal(0),
  granted: new Decimal(granted),
});

describe(createLimitRules.name, () => {
  it("should take the plan's limit, and nothing for a resource the plan lacks", () => {
    const free = tenantOn("free");
    expect(rules.limitOf(free, "executions")).toMatchObject({
      source: "plan",
      limit: { limit: new Decimal(100), overage: undefined },
    });
    expect(rules.limitOf(free, "gpus")).toEqual({ limit: undefined, source: "plan" });
  });

  it("should put an override's allowance in place of the plan's on the plan's terms, until it expires", () => {
    const live = tenantOn("pro", [{ resourceType: "executions", limit: new Decimal(50) }]);
    const { limit, source } = rules.limitOf(live, "executions");
    expect(source).toBe("override");
    expect(limit?.limit).toEqual(new Decimal(50));
    expect(limit?.overage?.pricing).toEqual({
      model: "per_unit",
      unitAmount: new Decimal("0.006"),
    });

    const expired = tenantOn("pro", [
      { resourceType: "executions", limit: new Decimal(50), expireTime: NOW },
    ]);
    expect(rules.limitOf(expired, "executions").limit?.limit).toEqual(new Decimal(10_000));
  });

  it("should add resources only an override grants, with the default thresholds", () => {
    const tenant = tenantOn("free", [{ resourceType: "gpus", limit: new Decimal(3) }]);
    expect(rules.resourcesOf(tenant)).toContain("gpus");
    expect(rules.limitOf(tenant, "gpus").limit?.alertThresholds).toEqual([
      new Decimal("0.8"),
      new Decimal(1),
    ]);
    const unlimited = tenantOn("free", [{ resourceType: "executions", limit: undefined }]);
    expect(rules.limitInfoOf(unlimited, rules.limitOf(unlimited, "executions").limit)).toBe(
      undefined,
    );
  });

  it("should count consumables in the current period and allocations in the one allocation period", () => {
    const tenant = tenantOn("pro");
    expect(
      rules.counterKeyOf(tenant, { tenantId: "t", resourceType: "executions" }).periodStart,
    ).toEqual(tenant.periodStart);
    expect(
      rules.counterKeyOf(tenant, { tenantId: "t", resourceType: "agents" }).periodStart,
    ).toEqual(new Date(0));
  });

  it("should show a soft limit's ceiling as allowance plus cap plus grants, and a hard limit's as its allowance", () => {
    const pro = tenantOn("pro", [], ["executions"]);
    const soft = rules.entitlementOf(pro, "executions", counter("12000", "30"), new Decimal(70));
    expect(soft.included).toEqual(new Decimal(10_000));
    expect(soft.limit).toEqual(new Decimal(35_100)); // 10,000 + 25,000 cap + 30 drawn + 70 left
    expect(soft.granted).toEqual(new Decimal(100));
    expect(soft.grantRemaining).toEqual(new Decimal(70));

    const free = tenantOn("free");
    const hard = rules.entitlementOf(free, "executions", counter("40"));
    expect(hard.limit).toEqual(new Decimal(100));
    expect(hard.pricing).toBeUndefined();
  });

  it("should count an allocation's grants whole, and read a resource outside the plan as zero", () => {
    const pro = tenantOn("pro", [], ["agents"]);
    const agents = rules.entitlementOf(pro, "agents", counter("4", "0"), new Decimal(5));
    expect(agents.limit).toEqual(new Decimal(15));
    expect(agents.granted).toEqual(new Decimal(5));

    const outside = rules.entitlementOf(tenantOn("free"), "gpus", ZERO_COUNTER);
    expect(outside.limit).toEqual(new Decimal(0));
    expect(outside.included).toEqual(new Decimal(0));
  });

  it("should tell the batch a limit's allowance, cap, kind, grants and thresholds", () => {
    const pro = tenantOn("pro", [], ["executions"]);
    expect(rules.limitInfoOf(pro, rules.limitOf(pro, "executions").limit)).toEqual({
      allowance: new Decimal(10_000),
      cap: new Decimal(25_000),
      hard: false,
      grants: true,
      allocation: false,
      thresholds: [new Decimal("0.8"), new Decimal(1)],
      planId: "pro",
    });
  });
});
