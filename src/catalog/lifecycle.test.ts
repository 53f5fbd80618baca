import { describe, expect, it } from "vitest";
import { addInterval, advanceSubscription, type SubscriptionTerms } from "./lifecycle.js";

const at = (iso: string) => new Date(iso);

describe(addInterval.name, () => {
  it("should keep the anchor's day, clamped to short months, without drifting", () => {
    const anchor = at("2026-01-31T10:00:00Z");
    expect([1, 2, 3, 13].map((n) => addInterval(anchor, "month", n).toISOString())).toEqual([
      "2026-02-28T10:00:00.000Z",
      "2026-03-31T10:00:00.000Z",
      "2026-04-30T10:00:00.000Z",
      "2027-02-28T10:00:00.000Z",
    ]);
    expect(addInterval(at("2028-02-29T00:00:00Z"), "year", 1).toISOString()).toBe(
      "2029-02-28T00:00:00.000Z",
    );
  });
});

describe(advanceSubscription.name, () => {
  const trialing: SubscriptionTerms = {
    state: "trialing",
    trialEndTime: at("2026-03-24T12:00:00Z"),
    currentPeriodStartTime: at("2026-03-10T12:00:00Z"),
    currentPeriodEndTime: at("2026-03-24T12:00:00Z"),
    billingCycleAnchorTime: at("2026-03-24T12:00:00Z"),
    cancelAtPeriodEnd: false,
    cancelTime: undefined,
  };

  it("should return the same object when nothing is due", () => {
    expect(advanceSubscription(trialing, "month", at("2026-03-24T11:59:59Z"))).toBe(trialing);
  });

  it("should end the trial at its end and roll over every period passed since", () => {
    const next = advanceSubscription(trialing, "month", at("2026-06-01T00:00:00Z"));
    expect(next).toEqual({
      ...trialing,
      state: "active",
      currentPeriodStartTime: at("2026-05-24T12:00:00Z"),
      currentPeriodEndTime: at("2026-06-24T12:00:00Z"),
    });
  });

  it("should cancel at the period end when scheduled, and never roll a canceled one", () => {
    const scheduled = {
      ...trialing,
      cancelAtPeriodEnd: true,
      cancelTime: at("2026-03-24T12:00:00Z"),
    };
    const canceled = advanceSubscription(scheduled, "month", at("2026-09-01T00:00:00Z"));
    expect(canceled).toEqual({ ...scheduled, state: "canceled" });
    expect(advanceSubscription(canceled, "month", at("2027-01-01T00:00:00Z"))).toBe(canceled);
  });
});
