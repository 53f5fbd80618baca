import { Decimal } from "decimal.js";
import { describe, expect, it } from "vitest";
import { createPlanCatalog, type Plan } from "../catalog/catalog.js";
import defaultPlans from "../catalog/default-plans.json" with { type: "json" };
import { minorUnitDigits } from "../catalog/money.js";
import type { Subscription } from "./billing.js";
import { priceInvoice } from "./invoice.js";

const catalog = createPlanCatalog(defaultPlans, "default catalog");
const pro = catalog.planById("pro") as Plan;

const subscription: Subscription = {
  id: "sub_1",
  customerId: "cus_1",
  tenantId: "t",
  planId: "pro",
  priceId: "price_pro_monthly",
  state: "active",
  trialEndTime: undefined,
  currentPeriodStartTime: new Date("2026-06-01T00:00:00.000Z"),
  currentPeriodEndTime: new Date("2026-07-01T00:00:00.000Z"),
  billingCycleAnchorTime: new Date("2026-06-01T00:00:00.000Z"),
  cancelAtPeriodEnd: false,
  cancelTime: undefined,
  createTime: new Date("2026-06-01T00:00:00.000Z"),
  prorationBehavior: undefined,
};

const usage = (entries: Record<string, string>) =>
  new Map(Object.entries(entries).map(([type, used]) => [type, new Decimal(used)]));

describe(priceInvoice.name, () => {
  it("should charge the fee and each soft limit's overage, rounding each line once, half-up", () => {
    // 10,001 executions: 1 beyond at 0.006 → 0.006 → 0.01; 10,000,500 tokens: 500 at 0.000006
    // → 0.003 → 0.00; 100,250 api calls: 250 at 0.0005 → 0.125 → 0.13.
    const invoice = priceInvoice({
      subscription,
      plan: pro,
      usage: usage({ executions: "10001", tokens: "10000500", api_calls: "100250" }),
    });
    expect(
      invoice.lines.map((l) => [l.resourceType, l.quantity.toFixed(), l.amount.toFixed()]),
    ).toEqual([
      ["", "1", "49"],
      ["executions", "1", "0.01"],
      ["tokens", "500", "0"],
      ["api_calls", "250", "0.13"],
    ]);
    // The total is the sum of the rounded lines, not the rounded sum of the exact ones.
    expect(invoice.total.toFixed(2)).toBe("49.14");
  });

  it("should price every line at zero during a trial and still show the quantities", () => {
    const invoice = priceInvoice({
      subscription: { ...subscription, state: "trialing" },
      plan: pro,
      usage: usage({ executions: "12000" }),
    });
    expect(invoice.total.isZero()).toBe(true);
    expect(invoice.lines[1]).toMatchObject({
      description: "executions beyond the 10000 included (trial)",
      quantity: new Decimal(2000),
    });
  });

  it("should know each currency's minor unit", () => {
    expect([minorUnitDigits("usd"), minorUnitDigits("jpy"), minorUnitDigits("kwd")]).toEqual([
      2, 0, 3,
    ]);
  });
});
