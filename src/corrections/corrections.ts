import { FailedPreconditionError } from "../platform/errors/domain-error.js";
import { PERIOD_CLOSED_REASON } from "../platform/errors/error-reasons.js";
import type { RawUsageEvent } from "../usage/usage.js";

/** VoidUsage as it arrives. */
export interface RawVoid {
  tenantId: string;
  eventIds: string[];
  idempotencyKeys: string[];
  reason: string;
  requestId: string;
}

/** What VoidUsage did. */
export interface VoidResult {
  voidedCount: number;
  alreadyVoidedCount: number;
  /** The event ids and idempotency keys that matched nothing. */
  notFound: string[];
}

/** ReplaceUsage as it arrives. */
export interface RawReplace {
  tenantId: string;
  resourceType: string;
  start: Date | undefined;
  end: Date | undefined;
  events: RawUsageEvent[];
  reason: string;
  requestId: string;
}

/** What ReplaceUsage did. */
export interface ReplaceResult {
  voidedCount: number;
  acceptedCount: number;
}

/** ListUsageEvents as it arrives. */
export interface RawEventListing {
  tenantId: string;
  resourceType: string;
  start: Date | undefined;
  end: Date | undefined;
  includeVoided: boolean;
  pageSize: number;
  pageToken: string;
  filter: Record<string, string>;
}

/** An event as stored, with its void if it was voided. */
export interface StoredEvent {
  eventId: string;
  tenantId: string;
  resourceType: string;
  quantity: string;
  occurTime: Date;
  attributes: Record<string, string>;
  periodStart: Date;
  void: { time: Date; reason: string; by: string } | undefined;
}

/** Refused because a billing period it touches is closed: its figures are final. */
export class PeriodClosedError extends FailedPreconditionError {
  override readonly reason = PERIOD_CLOSED_REASON;
}
