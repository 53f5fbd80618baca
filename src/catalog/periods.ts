import { addInterval } from "./lifecycle.js";

/**
 * Where a tenant stands in its billing cycle: the current period, and the subscription whose
 * anchor earlier periods are counted from (none on the default plan).
 */
export interface BillingCycle {
  periodStart: Date;
  periodEnd: Date;
  subscription:
    | { createTime: Date; billingCycleAnchorTime: Date; interval: "month" | "year" }
    | undefined;
}

/** The counter period of allocations, which never reset. */
export const ALLOCATION_PERIOD = new Date(0);

/**
 * The counter period of a rolling window: one counter that never resets, whose usage is what
 * its window entries hold (`src/entitlements/sql/admit.sql`). The same instant as allocations'
 * is safe: a resource is a consumable or an allocation in every plan, and only consumables
 * have windows.
 */
export const WINDOW_PERIOD = ALLOCATION_PERIOD;

/** The first instant of the UTC calendar month containing `time`: FREE tenants' periods. */
export function calendarMonthStart(time: Date): Date {
  return new Date(Date.UTC(time.getUTCFullYear(), time.getUTCMonth(), 1));
}

/**
 * The consumable period that contains `time`, so late events count where they happened: the
 * current period for most events; an earlier subscription period for late ones (the trial is
 * the first period; later ones are anchored at its end); and the calendar month for times
 * before the subscription existed, when the tenant was on the default plan (ending early
 * where the subscription began). Plan changes that restarted the cycle are not replayed: such
 * late events count in the period the current anchor implies.
 */
export function periodFor(cycle: BillingCycle, time: Date): { start: Date; end: Date } {
  const t = time.getTime();
  if (t >= cycle.periodStart.getTime() && t < cycle.periodEnd.getTime()) {
    return { start: cycle.periodStart, end: cycle.periodEnd };
  }
  const subscription = cycle.subscription;
  if (subscription === undefined || t < subscription.createTime.getTime()) {
    const start = calendarMonthStart(time);
    const next = new Date(Date.UTC(start.getUTCFullYear(), start.getUTCMonth() + 1, 1));
    const end =
      subscription !== undefined && subscription.createTime < next ? subscription.createTime : next;
    return { start, end };
  }
  const anchor = subscription.billingCycleAnchorTime;
  if (t < anchor.getTime()) return { start: subscription.createTime, end: anchor };
  let count = 0;
  while (addInterval(anchor, subscription.interval, count + 1).getTime() <= t) count++;
  return {
    start: addInterval(anchor, subscription.interval, count),
    end: addInterval(anchor, subscription.interval, count + 1),
  };
}

/**
 * Whether a period that ended at `end` is closed at `now`: more than the grace window has
 * passed since, so its figures are final and nothing may change them.
 */
export function isPeriodClosed(end: Date, now: Date, graceMs: number): boolean {
  return now.getTime() >= end.getTime() + graceMs;
}
