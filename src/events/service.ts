import type { Actor } from "../platform/calls/actor.js";
import { NotFoundError } from "../platform/errors/domain-error.js";
import { fetchPage, MAX_PAGE_SIZE, type Page } from "../platform/pagination/page-token.js";
import { createFieldChecks, type FieldChecks } from "../platform/validation/field-checks.js";
import { EVENT_TYPES, type TollgateEvent } from "./events.js";
import type { EventFilter, EventStore } from "./store.js";
import type { EventWakeup } from "./wakeup.js";

/** An event's `seq` as a cursor: a bigint, so at most 18 digits stay within its range. */
const SEQ_PATTERN = /^[0-9]{1,18}$/;

/** Reads and follows the event log. */
export interface EventService {
  list(raw: RawEventQuery & { pageSize: number; pageToken: string }): Promise<Page<TollgateEvent>>;
  /**
   * Replays after the cursor (from the oldest event with `fromStart`; none without either),
   * then follows new events until `signal` aborts.
   */
  stream(
    actor: Actor,
    raw: RawEventQuery & { afterEventId: string; fromStart: boolean },
    signal: AbortSignal,
  ): AsyncIterable<TollgateEvent>;
}

/** An event filter as it arrives; the tenant was authorized before the handler ran. */
export interface RawEventQuery {
  tenantId: string;
  types: readonly string[];
}

/** Checks event types against the known ones, reporting each unknown one. */
export function checkEventTypes(checks: FieldChecks, field: string, types: readonly string[]) {
  for (const [i, type] of types.entries()) {
    checks.check(
      (EVENT_TYPES as readonly string[]).includes(type),
      `${field}[${i}]`,
      `is not a known event type; known: ${EVENT_TYPES.join(", ")}`,
    );
  }
}

const STREAM_PAGE = 200;

/** Creates the event reader; `pollMs` bounds how long a stream waits without a notification. */
export function createEventService(deps: {
  store: EventStore;
  wakeup: EventWakeup;
  pollMs: number;
}): EventService {
  const { store, wakeup, pollMs } = deps;

  const filterOf = (
    raw: RawEventQuery,
    more: (checks: FieldChecks) => void = () => undefined,
  ): EventFilter => {
    const checks = createFieldChecks();
    if (raw.tenantId !== "") checks.uuid("tenant_id", raw.tenantId);
    more(checks);
    checkEventTypes(checks, "types", raw.types);
    checks.throwIfAny();
    return {
      tenantId: raw.tenantId === "" ? undefined : raw.tenantId.toLowerCase(),
      types: [...new Set(raw.types)].sort(),
    };
  };

  return {
    async list(raw) {
      const checks = createFieldChecks();
      checks.intRange("page_size", raw.pageSize, 0, MAX_PAGE_SIZE);
      checks.throwIfAny();
      const filter = filterOf(raw);
      return fetchPage({
        scope: `events/${filter.tenantId ?? "*"}/${filter.types.join(",")}`,
        pageSize: raw.pageSize,
        pageToken: raw.pageToken,
        idPattern: SEQ_PATTERN,
        fetch: (limit, after) => store.list(filter, limit, after?.id),
        cursorOf: (event) => ({ time: event.createTime, id: event.seq }),
      });
    },

    async *stream(_actor, raw, signal) {
      const filter = filterOf(raw, (checks) =>
        checks.check(
          !(raw.fromStart && raw.afterEventId !== ""),
          "from_start",
          "cannot be set together with after_event_id",
        ),
      );
      let cursor: string;
      if (raw.fromStart) {
        cursor = "0";
      } else if (raw.afterEventId === "") {
        cursor = await store.latestSeq();
      } else {
        const found = await store.find(raw.afterEventId);
        // Another tenant's event is as unknown to this stream as one that does not exist.
        if (
          found === undefined ||
          (filter.tenantId !== undefined && found.tenantId !== filter.tenantId)
        ) {
          throw new NotFoundError(`event ${raw.afterEventId} not found`);
        }
        cursor = found.seq;
      }
      while (!signal.aborted) {
        const events = await store.after(filter, cursor, STREAM_PAGE);
        for (const event of events) {
          yield event;
          cursor = event.seq;
        }
        if (events.length < STREAM_PAGE) await wakeup.wait(pollMs, signal);
      }
    },
  };
}
