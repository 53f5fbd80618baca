import type { Customer, Subscription } from "./billing.js";
import type { ProviderSubscription } from "./provider.js";

/**
 * The JSON form of a customer or subscription, as stored in audit rows and request records:
 * times as ISO strings, unset fields left out.
 */
export function snapshot(value: Customer | Subscription): Record<string, unknown> {
  return JSON.parse(JSON.stringify(value)) as Record<string, unknown>;
}

const SUBSCRIPTION_TIMES = [
  "trialEndTime",
  "currentPeriodStartTime",
  "currentPeriodEndTime",
  "billingCycleAnchorTime",
  "cancelTime",
  "createTime",
] as const;

/**
 * Rebuilds a subscription from {@link snapshot}: for replaying a repeated request, and for
 * the mock provider's stored objects, which share the shape.
 */
export function reviveSubscription<T extends ProviderSubscription = Subscription>(
  stored: unknown,
): T {
  const record = { ...(stored as Record<string, unknown>) };
  for (const field of SUBSCRIPTION_TIMES) {
    const value = record[field];
    record[field] = typeof value === "string" ? new Date(value) : undefined;
  }
  const scheduled = record.scheduledMigration as { time: string } | undefined;
  if (scheduled !== undefined) {
    record.scheduledMigration = { ...scheduled, time: new Date(scheduled.time) };
  }
  return record as unknown as T;
}

/** Rebuilds a customer from {@link snapshot}, for replaying a repeated request. */
export function reviveCustomer(stored: unknown): Customer {
  const record = stored as Record<string, unknown>;
  return { ...(record as unknown as Customer), createTime: new Date(record.createTime as string) };
}
