import type { Actor } from "../platform/calls/actor.js";
import { NotFoundError } from "../platform/errors/domain-error.js";
import { fetchPage, type Page } from "../platform/pagination/page-token.js";
import type { TollgateEvent } from "./events.js";
import {
  type RawEventQuery,
  SEQ_PATTERN,
  validateEventPage,
  validateEventStream,
} from "./inputs.js";
import type { EventStore } from "./store.js";
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

/** Creates the event reader; `pollMs` bounds how long a stream waits without a notification. */
export function createEventService(deps: {
  store: EventStore;
  wakeup: EventWakeup;
  pollMs: number;
}): EventService {
  const { store, wakeup, pollMs } = deps;

  return {
    async list(raw) {
      const filter = validateEventPage(raw);
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
      const filter = validateEventStream(raw);
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
