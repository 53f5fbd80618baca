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

/** The first instant of the UTC calendar month containing `time`: FREE tenants' periods. */
export function calendarMonthStart(time: Date): Date {
  return new Date(Date.UTC(time.getUTCFullYear(), time.getUTCMonth(), 1));
}

/**
 * The start of the consumable period that contains `time`, so late events count where they
 * happened: the current period for most events; an earlier subscription period for late ones
 * (the trial is the first period; later ones are anchored at its end); and the calendar month
 * for times before the subscription existed, when the tenant was on the default plan. (Plan
 * changes that restarted the cycle are not replayed: such late events count in the period the
 * current anchor implies.)
 */
export function periodStartFor(cycle: BillingCycle, time: Date): Date {
  const t = time.getTime();
  if (t >= cycle.periodStart.getTime() && t < cycle.periodEnd.getTime()) return cycle.periodStart;
  const subscription = cycle.subscription;
  if (subscription === undefined || t < subscription.createTime.getTime()) {
    return calendarMonthStart(time);
  }
  const anchor = subscription.billingCycleAnchorTime;
  if (t < anchor.getTime()) return subscription.createTime;
  let count = 0;
  while (addInterval(anchor, subscription.interval, count + 1).getTime() <= t) count++;
  return addInterval(anchor, subscription.interval, count);
}
