import type { Actor } from "../platform/calls/actor.js";
import { NotFoundError } from "../platform/errors/domain-error.js";
import { fetchPage, type Page } from "../platform/pagination/page-token.js";
import type { TollgateEvent } from "./events.js";
import {
  POSITION_PATTERN,
  type RawEventQuery,
  validateEventPage,
  validateEventStream,
} from "./inputs.js";
import { type EventFilter, type EventPosition, type EventStore, LOG_START } from "./store.js";
import type { EventWakeup } from "./wakeup.js";

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

const STREAM_PAGE = 200;
/** How soon a cross-tenant stream looks again while events wait above its watermark. */
const WATERMARK_RETRY_MS = 50;

/** Creates the event reader; `pollMs` bounds how long a stream waits without a notification. */
export function createEventService(deps: {
  store: EventStore;
  wakeup: EventWakeup;
  pollMs: number;
}): EventService {
  const { store, wakeup, pollMs } = deps;

  // Where a stream starts: the log's start, after a named event (another tenant's is as
  // unknown to a tenant's stream as one that does not exist), or after what is already there.
  const startOf = async (
    filter: EventFilter,
    raw: { afterEventId: string; fromStart: boolean },
  ): Promise<EventPosition> => {
    if (raw.fromStart) return LOG_START;
    if (raw.afterEventId !== "") {
      const found = await store.find(raw.afterEventId, filter.tenantId);
      if (found === undefined) throw new NotFoundError(`event ${raw.afterEventId} not found`);
      return found;
    }
    if (filter.tenantId !== undefined) return store.latest(filter.tenantId);
    return { ...LOG_START, micros: await store.watermark() };
  };

  return {
    async list(raw) {
      const filter = validateEventPage(raw);
      return fetchPage({
        scope: `events/${filter.tenantId ?? "*"}/${filter.types.join(",")}`,
        pageSize: raw.pageSize,
        pageToken: raw.pageToken,
        idPattern: POSITION_PATTERN,
        fetch: (limit, after) => store.list(filter, limit, after && positionOf(after.id)),
        cursorOf: (event) => ({
          time: event.createTime,
          id: `${event.micros}.${event.tenantId}.${event.seq}`,
        }),
      });
    },

    /*
     * A tenant's stream follows its `seq`, which is its commit order. A stream of every tenant
     * merges them by (time, tenant, seq), reading only below the watermark, the start of the
     * oldest transaction still open: every event below it has committed, so a stream resumed
     * after any event misses none and repeats none, and no writer ever waits for a reader.
     */
    async *stream(_actor, raw, signal) {
      const filter = validateEventStream(raw);
      let cursor = await startOf(filter, raw);
      const merged = filter.tenantId === undefined;
      while (!signal.aborted) {
        // Read before the events, in a statement of its own (see `EventStore.watermark`).
        const below = merged ? BigInt(await store.watermark()) : undefined;
        const found = await store.after(filter, cursor, STREAM_PAGE);
        // Merged events are in time order: those below the watermark are a prefix.
        const ready = below === undefined ? found : found.filter((e) => BigInt(e.micros) < below);
        for (const event of ready) {
          yield event;
          cursor = { micros: event.micros, tenantId: event.tenantId, seq: event.seq };
        }
        if (ready.length === STREAM_PAGE) continue;
        // Events found above the watermark are delivered once their transactions have ended.
        await wakeup.wait(ready.length < found.length ? WATERMARK_RETRY_MS : pollMs, signal);
      }
    },
  };
}

function positionOf(id: string): EventPosition {
  const [micros = "0", tenantId = "", seq = "0"] = id.split(".");
  return { micros, tenantId, seq };
}
