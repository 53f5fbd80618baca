import type { Meter } from "../catalog/meters.js";

/** One usage event as it arrives, before validation. */
export interface RawUsageEvent {
  eventId: string;
  tenantId: string;
  resourceType: string;
  quantity: string;
  /** Undefined when the client did not set it: the event happened when it arrived. */
  occurTime: Date | undefined;
  attributes: Record<string, string>;
}

/** A validated event, ready to store: quantities stay decimal strings, never floats. */
export interface UsageEvent {
  /**
   * The resource's meter: how the event counts and on which counters (its dimension limits'
   * besides the total). Undefined: a sum on the resource's total.
   */
  meter?: Meter | undefined;
  tenantId: string;
  eventId: string;
  resourceType: string;
  /** Canonical decimal string. */
  quantity: string;
  occurTime: Date;
  attributes: Record<string, string>;
  /** The counter period the quantity is added to. */
  periodStart: Date;
}

/** Why an event was not stored, for programs (`RejectedEvent.reason_code`). */
export type RejectionCode =
  | "INVALID_EVENT"
  | "PERMISSION_DENIED"
  | "EVENT_TOO_OLD"
  | "EVENT_IN_FUTURE"
  | "PERIOD_CLOSED"
  | "STORAGE_REFUSED";

/** An event that was not stored, and why. */
export interface RejectedEvent {
  eventId: string;
  /** Position within its call, counting across all messages of a stream. */
  eventIndex: number;
  reason: string;
  reasonCode: RejectionCode;
}

/** What happened to the events of one call. */
export interface IngestSummary {
  acceptedCount: number;
  duplicateCount: number;
  rejectedCount: number;
  rejectedEvents: RejectedEvent[];
}

/** Totals and a time series of ingested usage, each per resource and group. */
export interface UsageReport {
  totals: { resourceType: string; quantity: string; dimensions: Record<string, string> }[];
  series: {
    startTime: Date;
    resourceType: string;
    quantity: string;
    dimensions: Record<string, string>;
  }[];
}

/** The batcher's counters, as GetIngestStats and /metrics report them. */
export interface IngestStats {
  tracked: number;
  flushed: number;
  duplicates: number;
  rejected: number;
  errors: number;
  batches: number;
  bufferSize: number;
  lastFlushTime: Date | undefined;
  /** Events tracked per second over the last minute. */
  recentPerSecond: number;
}

/**
 * A usage report's query, validated: one tenant, maybe one resource, a window, a bucket size
 * in a time zone, the attributes to group by and the attribute values to keep.
 */
export interface UsageQuery {
  tenantId: string;
  resourceType: string | undefined;
  start: Date;
  end: Date;
  granularity: "hour" | "day" | "month";
  groupBy: string[];
  filter: Record<string, string>;
  /** An IANA time zone; `UTC` when the caller named none. */
  timeZone: string;
}
