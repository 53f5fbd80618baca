import { describe, expect, it } from "vitest";
import type { ConfigError } from "../platform/config/config.js";
import { createPlanCatalog } from "./catalog.js";
import { readPricing } from "./pricing-rules.js";

const problemsOf = (limits: Record<string, unknown>, plan: Record<string, unknown> = {}) => {
  try {
    createPlanCatalog(
      {
        default_plan: "p",
        plans: [
          { id: "p", display_name: "P", currency: "usd", interval: "month", limits, ...plan },
        ],
      },
      "catalog",
    );
    return [];
  } catch (error) {
    return (error as ConfigError).problems.map((p) => p.replace("catalog: plans[0].", ""));
  }
};

describe(readPricing.name, () => {
  it("should report every problem of a tiered price with its path, at once", () => {
    expect(
      problemsOf({
        tokens: {
          kind: "consumable",
          limit: "100",
          pricing: {
            model: "graduated",
            tiers_from: "middle",
            tiers: [
              { up_to: "1000", unit_amount: "0.01" },
              { up_to: "500", unit_amount: "-1" },
              { up_to: null },
              { up_to: "2000", unit_amount: "0.001", flat_amount: "0.001" },
            ],
          },
        },
      }),
    ).toEqual([
      "limits.tokens.pricing.tiers_from: must be zero or included",
      "limits.tokens.pricing.tiers[1].up_to: must be above the previous tier's 1000",
      'limits.tokens.pricing.tiers[1].unit_amount: must be a non-negative decimal string such as "0.002"',
      "limits.tokens.pricing.tiers[2].up_to: only the last tier is unbounded",
      "limits.tokens.pricing.tiers[2]: needs unit_amount, flat_amount or both",
      "limits.tokens.pricing.tiers[3].up_to: the last tier must be unbounded (null)",
      "limits.tokens.pricing.tiers[3].flat_amount: must be a whole number of usd's minor unit (2 decimals)",
    ]);
  });

  it("should report package, model, shorthand, metering and minimum problems", () => {
    expect(
      problemsOf(
        {
          sms: {
            kind: "consumable",
            limit: "0",
            pricing: { model: "package", package_size: "0", round: "sideways", unit_amount: "1" },
          },
          calls: { kind: "consumable", limit: "10", pricing: { model: "percentage" } },
          runs: {
            kind: "consumable",
            limit: "10",
            overage_unit_amount: "0.1",
            pricing: { model: "per_unit", unit_amount: "0.1" },
          },
          seats: {
            kind: "allocation",
            limit: "10",
            pricing: { model: "per_unit", unit_amount: "1" },
          },
          jobs: {
            kind: "consumable",
            limit: "10",
            meter_event_name: "jobs",
            metered_price_id: "price_jobs",
            pricing: {
              model: "volume",
              tiers_from: "included",
              tiers: [{ up_to: null, unit_amount: "0.001" }],
            },
          },
        },
        { minimum_amount: "10.005" },
      ),
    ).toEqual([
      "minimum_amount: must be a whole number of usd's minor unit (2 decimals)",
      "limits.sms.pricing.unit_amount: is not a field of a package price",
      "limits.sms.pricing.package_size: must be a whole number above 0",
      "limits.sms.pricing.package_amount: is required for a package price",
      "limits.sms.pricing.round: must be up or down",
      "limits.calls.pricing.model: must be one of per_unit, graduated, volume, package",
      "limits.runs.overage_unit_amount: is shorthand for a per_unit pricing; give one or the other",
      "limits.seats.pricing: allocations cannot have overage; only consumables are billed per unit used",
      "limits.jobs.pricing.tiers_from: a metered volume price counts from zero (Stripe prices every unit at the tier the total falls in); add a free first tier instead",
    ]);
  });

  it("should read a valid price with its defaults", () => {
    const { pricing, problems } = readPricing(
      { model: "package", package_size: "100", package_amount: "1.50" },
      "usd",
      "pricing",
    );
    expect(problems).toEqual([]);
    expect(pricing).toMatchObject({ model: "package", round: "up" });
    expect(
      readPricing({ model: "graduated", tiers: [{ up_to: null, unit_amount: "1" }] }, "jpy", "p")
        .pricing,
    ).toMatchObject({ model: "graduated", tiersFrom: "zero" });
  });
});
