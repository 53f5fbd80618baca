/** Lifecycle states, mirroring Stripe's subscription statuses. */
export type SubscriptionState = "trialing" | "active" | "past_due" | "canceled" | "incomplete";

/** States in which the plan's limits apply; a tenant has at most one subscription in them. */
export const LIVE_STATES: readonly SubscriptionState[] = ["trialing", "active", "past_due"];

/** The time-dependent part of a subscription, which the lifecycle rules move forward. */
export interface SubscriptionTerms {
  state: SubscriptionState;
  trialEndTime: Date | undefined;
  currentPeriodStartTime: Date;
  currentPeriodEndTime: Date;
  /** The instant periods are counted from: creation, or the trial's end. */
  billingCycleAnchorTime: Date;
  cancelAtPeriodEnd: boolean;
  /** When it was canceled, or is scheduled to be. */
  cancelTime: Date | undefined;
}

/**
 * `count` billing intervals after `anchor`. Months keep the anchor's day and clamp it to the
 * month's length (Jan 31 → Feb 28 → Mar 31), counted from the anchor rather than from the
 * previous boundary so periods never drift, as Stripe does.
 */
export function addInterval(anchor: Date, interval: "month" | "year", count: number): Date {
  const months = interval === "year" ? count * 12 : count;
  const year = anchor.getUTCFullYear();
  const month = anchor.getUTCMonth() + months;
  const lastDay = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
  return new Date(
    Date.UTC(
      year,
      month,
      Math.min(anchor.getUTCDate(), lastDay),
      anchor.getUTCHours(),
      anchor.getUTCMinutes(),
      anchor.getUTCSeconds(),
      anchor.getUTCMilliseconds(),
    ),
  );
}

/**
 * Applies everything that time alone changes, up to `now`: a trial ends (trialing → active)
 * at the end of the trial period, periods roll over, and a cancellation scheduled for the
 * period end takes effect (→ canceled). Payment is assumed to succeed, as with Stripe's test
 * clocks and a valid card; a failed payment arrives from the provider as `past_due`.
 *
 * Pure and deterministic, so replicas that apply it concurrently agree, and the mock provider
 * and the store share one definition of the rules.
 */
export function advanceSubscription<T extends SubscriptionTerms>(
  subscription: T,
  interval: "month" | "year",
  now: Date,
): T {
  if (!LIVE_STATES.includes(subscription.state)) return subscription;
  let next = subscription;
  while (next.currentPeriodEndTime.getTime() <= now.getTime()) {
    const periodEnd = next.currentPeriodEndTime;
    if (next.cancelAtPeriodEnd) return { ...next, state: "canceled", cancelTime: periodEnd };
    next = {
      ...next,
      state: next.state === "trialing" ? "active" : next.state,
      currentPeriodStartTime: periodEnd,
      currentPeriodEndTime: nextBoundary(next.billingCycleAnchorTime, interval, periodEnd),
    };
  }
  return next;
}

function nextBoundary(anchor: Date, interval: "month" | "year", after: Date): Date {
  for (let count = 1; ; count++) {
    const boundary = addInterval(anchor, interval, count);
    if (boundary.getTime() > after.getTime()) return boundary;
  }
}
