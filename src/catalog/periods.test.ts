import { describe, expect, it } from "vitest";
import { type BillingCycle, calendarMonthStart, isPeriodClosed, periodFor } from "./periods.js";

const periodStartFor = (cycle: BillingCycle, time: Date) => periodFor(cycle, time).start;

const at = (iso: string) => new Date(iso);

describe(periodFor.name, () => {
  // A monthly subscription created May 10 with a trial to May 20: the trial is the first
  // period, and later periods are anchored at the trial's end.
  const cycle: BillingCycle = {
    periodStart: at("2026-07-20T00:00:00.000Z"),
    periodEnd: at("2026-08-20T00:00:00.000Z"),
    subscription: {
      createTime: at("2026-05-10T00:00:00.000Z"),
      billingCycleAnchorTime: at("2026-05-20T00:00:00.000Z"),
      interval: "month",
    },
  };

  it("should put a time within the current period in it", () => {
    expect(periodStartFor(cycle, at("2026-08-01T00:00:00.000Z"))).toEqual(cycle.periodStart);
  });

  it("should put a late event in the earlier period it happened in", () => {
    expect(periodStartFor(cycle, at("2026-06-25T00:00:00.000Z"))).toEqual(
      at("2026-06-20T00:00:00.000Z"),
    );
    expect(periodStartFor(cycle, at("2026-05-20T00:00:00.000Z"))).toEqual(
      at("2026-05-20T00:00:00.000Z"),
    );
  });

  it("should put an event of the trial in the trial, and one before the subscription in its month", () => {
    expect(periodStartFor(cycle, at("2026-05-15T00:00:00.000Z"))).toEqual(
      at("2026-05-10T00:00:00.000Z"),
    );
    expect(periodStartFor(cycle, at("2026-05-09T23:59:59.000Z"))).toEqual(
      at("2026-05-01T00:00:00.000Z"),
    );
  });

  it("should count the default plan in UTC calendar months", () => {
    const free: BillingCycle = {
      periodStart: at("2026-07-01T00:00:00.000Z"),
      periodEnd: at("2026-08-01T00:00:00.000Z"),
      subscription: undefined,
    };
    expect(periodStartFor(free, at("2026-03-31T23:59:59.999Z"))).toEqual(
      at("2026-03-01T00:00:00.000Z"),
    );
    expect(calendarMonthStart(at("2026-12-31T23:00:00.000-05:00"))).toEqual(
      at("2027-01-01T00:00:00.000Z"),
    );
  });

  it("should end each period where the next begins", () => {
    expect(periodFor(cycle, at("2026-06-25T00:00:00.000Z")).end).toEqual(
      at("2026-07-20T00:00:00.000Z"),
    );
    expect(periodFor(cycle, at("2026-05-15T00:00:00.000Z")).end).toEqual(
      at("2026-05-20T00:00:00.000Z"),
    );
    // The default plan's month ends early where the subscription began.
    expect(periodFor(cycle, at("2026-05-09T23:59:59.000Z")).end).toEqual(
      at("2026-05-10T00:00:00.000Z"),
    );
  });
});

describe(isPeriodClosed.name, () => {
  const end = at("2026-08-01T00:00:00.000Z");
  const hours = (n: number) => n * 3_600_000;

  it("should keep a period open until its grace window has passed", () => {
    expect(isPeriodClosed(end, at("2026-07-31T23:00:00.000Z"), hours(24))).toBe(false);
    expect(isPeriodClosed(end, at("2026-08-01T23:59:59.999Z"), hours(24))).toBe(false);
    expect(isPeriodClosed(end, at("2026-08-02T00:00:00.000Z"), hours(24))).toBe(true);
    expect(isPeriodClosed(end, end, 0)).toBe(true);
  });
});
