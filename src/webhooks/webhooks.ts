/** A URL that receives events. */
export interface WebhookEndpoint {
  id: string;
  url: string;
  /** Event types delivered; empty: all. */
  types: string[];
  description: string;
  enabled: boolean;
  disabledReason: string;
  createTime: Date;
  updateTime: Date;
}

/** Where a delivery stands. */
export type DeliveryState = "pending" | "succeeded" | "failed";

/** One try of a delivery. */
export interface DeliveryAttempt {
  attempt: number;
  /** Undefined when the receiver did not answer. */
  statusCode: number | undefined;
  error: string;
  durationMs: number;
  createTime: Date;
}

/** One event on its way to one endpoint. */
export interface Delivery {
  id: string;
  endpointId: string;
  eventId: string;
  eventType: string;
  state: DeliveryState;
  attemptCount: number;
  nextAttemptTime: Date | undefined;
  lastStatusCode: number | undefined;
  lastError: string;
  createTime: Date;
  attempts: DeliveryAttempt[];
}

/** A delivery claimed for one attempt, with what sending it needs. */
export interface ClaimedDelivery {
  id: string;
  /** The tenant of its event: where the delivery's row lives. */
  tenantId: string;
  attempt: number;
  eventId: string;
  eventType: string;
  eventTime: Date;
  data: Record<string, unknown>;
  endpointId: string;
  url: string;
  /** The current secret, then the previous one while it still signs. */
  secrets: string[];
}
