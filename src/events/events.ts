/** The event types Tollgate emits; filters and endpoints may name only these. */
export const EVENT_TYPES = [
  "entitlement.threshold_crossed",
  "entitlement.denied",
  "subscription.created",
  "subscription.updated",
  "subscription.canceled",
  "subscription.past_due",
  "subscription.trial_will_end",
] as const;

/** One entry of the event log. */
export interface TollgateEvent {
  id: string;
  /** Commit order: every event with a lower `seq` was committed before this one. */
  seq: string;
  type: string;
  tenantId: string | undefined;
  data: Record<string, unknown>;
  createTime: Date;
}

/** The channel on which `tollgate_emit` announces new events to every replica. */
export const EVENTS_CHANNEL = "tollgate_events";
