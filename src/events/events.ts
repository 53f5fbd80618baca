/** The event types Tollgate emits; filters and endpoints may name only these. */
export const EVENT_TYPES = [
  "entitlement.threshold_crossed",
  "entitlement.threshold_resolved",
  "usage.corrected",
  "entitlement.denied",
  "entitlement.updated",
  "subscription.created",
  "subscription.updated",
  "subscription.canceled",
  "subscription.past_due",
  "subscription.trial_will_end",
  "grant.expired",
] as const;

/** One entry of the event log. */
export interface TollgateEvent {
  id: string;
  /** Commit order within the tenant: each of its events with a lower `seq` committed first. */
  seq: string;
  /** `createTime` in exact microseconds: the cross-tenant order is (micros, tenant, seq). */
  micros: string;
  type: string;
  tenantId: string;
  data: Record<string, unknown>;
  createTime: Date;
}

/** The channel on which writers announce new events to every replica, after commit. */
export const EVENTS_CHANNEL = "tollgate_events";
