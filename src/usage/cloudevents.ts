import type { IncomingHttpHeaders } from "node:http";
import type { PlanCatalog } from "../catalog/catalog.js";
import type { Actor } from "../platform/calls/actor.js";
import { httpOutcomeOf } from "../platform/server/error-interceptor.js";
import type { HttpEndpoint, HttpOutcome } from "../platform/server/http-handler.js";
import type { UsageService } from "./service.js";
import type { IngestSummary, RawUsageEvent, RejectedEvent } from "./usage.js";

/** Where CloudEvents are posted. */
export const CLOUDEVENTS_PATH = "/v1/events";
/** One event in structured mode. */
const SINGLE = "application/cloudevents+json";
/** A JSON array of events in structured mode. */
const BATCH = "application/cloudevents-batch+json";
/** Most events one batch may hold, as one TrackUsage call. */
const MAX_BATCH = 10_000;

/** What the endpoint is built from. */
export interface CloudEventsDeps {
  service: UsageService;
  catalog: PlanCatalog;
  /** Authenticates the `authorization` header and counts the call against its key's rate. */
  gate(authorization: string | undefined): Promise<Actor>;
  /** The largest body taken; past it the answer is 413. */
  maxBodyBytes: number;
}

/**
 * `POST /v1/events`: usage as CloudEvents 1.0 in structured mode, one event
 * (`application/cloudevents+json`) or a batch (`application/cloudevents-batch+json`), with
 * the same Bearer keys as the RPCs, so an OpenMeter-style collector (Vector, Benthos, an
 * OpenTelemetry exporter) can be pointed at Tollgate. Each event becomes a usage event (`id`,
 * `subject` the tenant, `type` the resource, `time`, and `data`: the meter's `value_property`
 * is the quantity, the other string fields are attributes) and goes through TrackUsage's
 * validation and batcher with the same guarantees. The answer is TrackUsage's summary as JSON,
 * each rejection with the event's index in the body.
 */
export function createCloudEventsEndpoint(deps: CloudEventsDeps): HttpEndpoint {
  return {
    path: CLOUDEVENTS_PATH,
    maxBodyBytes: deps.maxBodyBytes,
    handle: async (body, headers) => {
      try {
        return await ingest(deps, body, headers);
      } catch (error) {
        const outcome = httpOutcomeOf(error);
        if (outcome === undefined) throw error;
        return outcome;
      }
    },
  };
}

async function ingest(
  deps: CloudEventsDeps,
  body: Buffer,
  headers: IncomingHttpHeaders,
): Promise<HttpOutcome> {
  const actor = await deps.gate(headers.authorization);
  const mediaType = (headers["content-type"] ?? "").split(";")[0]?.trim().toLowerCase();
  if (mediaType !== SINGLE && mediaType !== BATCH) {
    return {
      status: 415,
      body: { error: `send ${SINGLE} (one event) or ${BATCH} (an array of events)` },
    };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString("utf8"));
  } catch (error) {
    return { status: 400, body: { error: `the body is not JSON: ${(error as Error).message}` } };
  }
  const batch = mediaType === BATCH;
  if (batch ? !Array.isArray(parsed) : !isObject(parsed)) {
    return {
      status: 400,
      body: { error: batch ? "a batch is a JSON array of events" : "an event is a JSON object" },
    };
  }
  const items = batch ? (parsed as unknown[]) : [parsed];
  if (items.length > MAX_BATCH) {
    return { status: 400, body: { error: `a batch holds at most ${MAX_BATCH} events` } };
  }
  const events: RawUsageEvent[] = [];
  const positions: number[] = [];
  const rejected: RejectedEvent[] = [];
  items.forEach((item, index) => {
    const mapped = toUsageEvent(item, deps.catalog);
    if (typeof mapped === "string") {
      const eventId = isObject(item) && typeof item.id === "string" ? item.id : "";
      rejected.push({ eventId, eventIndex: index, reason: mapped, reasonCode: "INVALID_EVENT" });
    } else {
      events.push(mapped);
      positions.push(index);
    }
  });
  const summary: IngestSummary =
    events.length === 0
      ? { acceptedCount: 0, duplicateCount: 0, rejectedCount: 0, rejectedEvents: [] }
      : await deps.service.track(actor, events, {
          signal: new AbortController().signal,
          deadline: undefined,
        });
  // TrackUsage numbers the events it was given; the answer numbers them in the body.
  for (const r of summary.rejectedEvents) {
    rejected.push({ ...r, eventIndex: positions[r.eventIndex] ?? r.eventIndex });
  }
  rejected.sort((a, b) => a.eventIndex - b.eventIndex);
  return {
    status: 200,
    body: {
      accepted_count: summary.acceptedCount,
      duplicate_count: summary.duplicateCount,
      rejected_count: summary.rejectedCount + (items.length - events.length),
      rejected_events: rejected.map((r) => ({
        event_id: r.eventId,
        event_index: r.eventIndex,
        reason: r.reason,
        reason_code: r.reasonCode,
      })),
    },
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

// One CloudEvent as a usage event, or every problem of its envelope in one sentence. The
// fields themselves (id, tenant, resource, quantity, time, attributes) are validated after,
// as TrackUsage validates them.
function toUsageEvent(item: unknown, catalog: PlanCatalog): RawUsageEvent | string {
  if (!isObject(item)) return "an event is a JSON object";
  const problems: string[] = [];
  const text = (name: string) => {
    const value = item[name];
    if (typeof value === "string" && value !== "") return value;
    problems.push(`${name}: is required (a non-empty string)`);
    return "";
  };
  if (item.specversion !== "1.0") problems.push('specversion: must be "1.0"');
  const id = text("id");
  text("source");
  const type = text("type");
  const subject = text("subject");
  let occurTime: Date | undefined;
  if (item.time !== undefined) {
    occurTime = typeof item.time === "string" ? new Date(item.time) : new Date(Number.NaN);
    if (Number.isNaN(occurTime.getTime())) problems.push("time: must be an RFC 3339 timestamp");
  }
  const contentType = item.datacontenttype;
  if (contentType !== undefined && !/^application\/(.+\+)?json\b/i.test(String(contentType))) {
    problems.push("datacontenttype: only JSON data is taken");
  }
  if (item.data_base64 !== undefined) problems.push("data_base64: only JSON data is taken");
  const data = item.data ?? {};
  if (!isObject(data)) problems.push("data: must be a JSON object");
  const property = catalog.meterOf(type).valueProperty;
  const value = isObject(data) ? data[property] : undefined;
  let quantity = "";
  if (typeof value === "number" && Number.isFinite(value)) quantity = String(value);
  else if (typeof value === "string") quantity = value;
  else if (value !== undefined && value !== null) {
    problems.push(`data.${property}: the quantity must be a number or a decimal string`);
  }
  if (problems.length > 0) return problems.join("; ");
  const attributes: Record<string, string> = {};
  for (const [key, field] of Object.entries(data as Record<string, unknown>)) {
    if (key !== property && typeof field === "string") attributes[key] = field;
  }
  return { eventId: id, tenantId: subject, resourceType: type, quantity, occurTime, attributes };
}
