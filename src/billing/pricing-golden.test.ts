import { Decimal } from "decimal.js";
import { describe, expect, it } from "vitest";
import { storedStripePrice, stripeLineAmount } from "../../test/support/stripe-pricing.js";
import type { PlanLimit } from "../catalog/catalog.js";
import { minorUnitDigits, roundToMinorUnit } from "../catalog/money.js";
import { lineCharge } from "../catalog/overage.js";
import type { Pricing } from "../catalog/pricing.js";
import { stripePricingOf } from "./stripe-prices.js";

const d = (value: Decimal.Value) => new Decimal(value);

const limitOf = (included: string, pricing: Pricing): PlanLimit => ({
  resourceType: "tokens",
  kind: "consumable",
  limit: d(included),
  overage: { pricing, cap: undefined, meter: undefined },
  alertThresholds: [],
  dimensions: {},
  dimensionLimits: [],
});

const tiers = (...rows: [string | undefined, string, string][]) =>
  rows.map(([upTo, unitAmount, flatAmount]) => ({
    upTo: upTo === undefined ? undefined : d(upTo),
    unitAmount: d(unitAmount),
    flatAmount: d(flatAmount),
  }));

/**
 * Tollgate's line amount for `used`, and the fake Stripe's for the same usage fed to its meter
 * (the whole usage) under the price Tollgate would create, back in major units.
 */
function both(included: string, pricing: Pricing, used: string, currency = "usd") {
  const ours = roundToMinorUnit(
    lineCharge(limitOf(included, pricing), pricing, d(used)).amount,
    currency,
  );
  const price = storedStripePrice(stripePricingOf(pricing, d(included), currency));
  const theirs = stripeLineAmount(price, used).dividedBy(d(10).pow(minorUnitDigits(currency)));
  return {
    ours: ours.toFixed(minorUnitDigits(currency)),
    stripe: theirs.toFixed(minorUnitDigits(currency)),
  };
}

/** Each case: usage, and the amount worked out by hand (the arithmetic in the comment). */
function expectCases(
  included: string,
  pricing: Pricing,
  cases: [string, string][],
  currency = "usd",
) {
  for (const [used, expected] of cases) {
    expect({ used, ...both(included, pricing, used, currency) }).toEqual({
      used,
      ours: expected,
      stripe: expected,
    });
  }
}

describe("pricing golden cases, each equal to the fake Stripe's own computation", () => {
  it("per_unit: 0.006 beyond 1,000 included", () => {
    const pricing: Pricing = { model: "per_unit", unitAmount: d("0.006") };
    expectCases("1000", pricing, [
      ["0", "0.00"],
      ["1", "0.00"], // within the allowance
      ["1000", "0.00"], // the edge
      ["1001", "0.01"], // 1 × 0.006 = 0.006 → 0.01
      ["1234.5", "1.41"], // 234.5 × 0.006 = 1.407 → 1.41
      ["2000000", "11994.00"], // 1,999,000 × 0.006 = 11,994
    ]);
  });

  it("graduated from zero: free to 1,000, then 0.002 (+5 flat) to 10,000, then 0.001 (+10 flat)", () => {
    const pricing: Pricing = {
      model: "graduated",
      tiersFrom: "zero",
      tiers: tiers(["1000", "0", "0"], ["10000", "0.002", "5"], [undefined, "0.001", "10"]),
    };
    expectCases("1000", pricing, [
      ["0", "0.00"], // no tier reached
      ["1", "0.00"], // 1 × 0
      ["1000", "0.00"], // the first edge: 1,000 × 0
      ["1001", "5.00"], // 1 × 0.002 + 5 = 5.002 → 5.00
      ["10000", "23.00"], // 9,000 × 0.002 + 5 = 23
      ["10001", "33.00"], // 23 + 1 × 0.001 + 10 = 33.001 → 33.00
      ["1234567", "1257.57"], // 23 + 1,224,567 × 0.001 + 10 = 1,257.567 → 1,257.57
      ["1000.5", "5.00"], // 0.5 × 0.002 + 5 = 5.001 → 5.00
      ["10002.5", "33.00"], // 23 + 2.5 × 0.001 + 10 = 33.0025 → 33.00
      ["10005", "33.01"], // 23 + 5 × 0.001 + 10 = 33.005 → 33.01 (half-up)
    ]);
  });

  it("graduated from the included quantity: 0.01 for the next 500, then 0.005 (+1 flat)", () => {
    const pricing: Pricing = {
      model: "graduated",
      tiersFrom: "included",
      tiers: tiers(["500", "0.01", "0"], [undefined, "0.005", "1"]),
    };
    expectCases("1000", pricing, [
      ["1000", "0.00"], // nothing beyond the allowance
      ["1001", "0.01"], // 1 × 0.01
      ["1500", "5.00"], // 500 × 0.01
      ["1501", "6.01"], // 5 + 1 × 0.005 + 1 = 6.005 → 6.01
      ["101000", "503.50"], // 100,000 beyond: 500 × 0.01 + 99,500 × 0.005 + 1 = 503.50
    ]);
  });

  it("volume: the whole quantity at the tier the total falls in", () => {
    const pricing: Pricing = {
      model: "volume",
      tiersFrom: "zero",
      tiers: tiers(["1000", "0.01", "0"], ["10000", "0.008", "2"], [undefined, "0.005", "0"]),
    };
    expectCases("0", pricing, [
      ["0", "0.00"],
      ["1", "0.01"], // 1 × 0.01
      ["1000", "10.00"], // 1,000 × 0.01
      ["1001", "10.01"], // 1,001 × 0.008 + 2 = 10.008 → 10.01
      ["10000", "82.00"], // 10,000 × 0.008 + 2
      ["10001", "50.01"], // 10,001 × 0.005 = 50.005 → 50.01 (half-up)
      ["1000000", "5000.00"], // 1,000,000 × 0.005
      ["999.5", "10.00"], // 999.5 × 0.01 = 9.995 → 10.00
    ]);
  });

  it("package: 1.50 per 100, partial packages rounded up, or down", () => {
    const up: Pricing = {
      model: "package",
      packageSize: d(100),
      packageAmount: d("1.5"),
      round: "up",
    };
    expectCases("0", up, [
      ["0", "0.00"],
      ["1", "1.50"], // 1 package
      ["100", "1.50"], // the edge: 1 package
      ["101", "3.00"], // 2 packages
      ["250", "4.50"], // 3 packages
      ["100.5", "3.00"], // 2 packages
      ["123456", "1852.50"], // 1,235 packages × 1.50
    ]);
    const down: Pricing = { ...up, round: "down" };
    expectCases("0", down, [
      ["99", "0.00"], // no whole package
      ["250", "3.00"], // 2 packages
    ]);
  });

  it("JPY has no minor unit and KWD three digits", () => {
    const yen: Pricing = {
      model: "graduated",
      tiersFrom: "zero",
      tiers: tiers(["100", "0", "0"], [undefined, "3.5", "0"]),
    };
    expectCases(
      "100",
      yen,
      [
        ["101", "4"], // 3.5 → 4 (half-up)
        ["102", "7"], // 7
        ["103", "11"], // 10.5 → 11
      ],
      "jpy",
    );
    const dinar: Pricing = { model: "per_unit", unitAmount: d("0.0125") };
    expectCases(
      "0",
      dinar,
      [
        ["1", "0.013"], // 0.0125 → 0.013
        ["3", "0.038"], // 0.0375 → 0.038
        ["4", "0.050"], // 0.05
      ],
      "kwd",
    );
  });
});
