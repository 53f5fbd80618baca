import { Decimal } from "decimal.js";
import { describe, expect, it } from "vitest";
import { type MeteredResource, overageOf } from "./overage.js";

const soft: MeteredResource = {
  kind: "consumable",
  included: new Decimal(1000),
  pricing: { model: "per_unit", unitAmount: new Decimal("0.006") },
  used: new Decimal(0),
  granted: new Decimal(0),
  grantRemaining: new Decimal(0),
};

describe(overageOf.name, () => {
  it("should charge nothing within the allowance", () => {
    expect(overageOf({ ...soft, used: new Decimal(1000) })).toEqual({
      units: new Decimal(0),
      amount: new Decimal(0),
    });
  });

  it("should charge the units beyond the allowance exactly, without rounding", () => {
    expect(overageOf({ ...soft, used: new Decimal("1234.5") })).toEqual({
      units: new Decimal("234.5"),
      amount: new Decimal("1.407"),
    });
  });

  it("should not bill usage drawn from grants", () => {
    const drawn = { granted: new Decimal(300), grantRemaining: new Decimal(100) };
    expect(overageOf({ ...soft, ...drawn, used: new Decimal(1250) }).units).toEqual(
      new Decimal(50),
    );
  });

  it("should charge nothing for hard limits and allocations", () => {
    expect(overageOf({ ...soft, pricing: undefined, used: new Decimal(5000) })).toEqual({
      units: new Decimal(0),
      amount: new Decimal(0),
    });
    expect(overageOf({ ...soft, kind: "allocation", used: new Decimal(5000) }).units).toEqual(
      new Decimal(0),
    );
  });
});
