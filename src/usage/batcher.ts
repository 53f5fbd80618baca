import { setTimeout as sleep } from "node:timers/promises";
import type { Clock } from "../platform/clock/clock.js";
import { isDatabaseUnavailable } from "../platform/db/database.js";
import { UnavailableError } from "../platform/errors/domain-error.js";
import type { Logger } from "../platform/observability/logger.js";
import { createBufferRoom, estimateEventBytes, type RoomClaim } from "./buffer-room.js";
import { createRateWindow } from "./rate-window.js";
import { eventKey, type UsageStore } from "./store.js";
import type { IngestStats, UsageEvent } from "./usage.js";

/** Options of {@link createUsageBatcher}. */
export interface UsageBatcherOptions {
  store: UsageStore;
  clock: Clock;
  logger: Logger;
  /** Flush as soon as this many events are waiting (`USAGE_TRACKER_BATCH_SIZE`). */
  batchSize: number;
  /** Flush at least this often while events wait (`USAGE_TRACKER_FLUSH_INTERVAL`). */
  flushIntervalMs: number;
  /** Most events held in memory, waiting or being flushed; callers wait for room beyond it. */
  bufferLimit: number;
  /** Most estimated heap bytes those events may hold; callers wait for room beyond it too. */
  bufferLimitBytes: number;
  /** How long a failing batch is retried before its callers get `Unavailable`. */
  failAfterMs: number;
  /** Flushes running at once (each on its own connection). */
  maxConcurrentFlushes?: number;
}

/**
 * What became of one buffered event: stored for the first time, found already stored, or
 * refused by the database (which validation should have prevented; the log says why).
 */
export type EventOutcome = "stored" | "duplicate" | "refused";

/** A batch of one call's events, admitted to the buffer. */
export interface Ticket {
  /** Resolves once the batch is committed, with each event's outcome in order. */
  done: Promise<EventOutcome[]>;
}

/** The server-side batcher that every StreamUsage and TrackUsage call feeds. */
export interface UsageBatcher {
  /**
   * Admits events to the buffer, waiting for room when it is full: up to `waitMs`, then
   * `ResourceExhausted`; without `waitMs`, as long as it takes (streams stop being read, so
   * HTTP/2 flow control pushes back on the client).
   */
  enqueue(events: UsageEvent[], waitMs?: number): Promise<Ticket>;
  /** Counts events rejected before they reached the buffer, for the statistics. */
  countRejected(n: number): void;
  stats(): IngestStats;
  /** Refuses new events, flushes everything buffered and waits for it. */
  close(): Promise<void>;
}

interface Submission {
  events: UsageEvent[];
  claim: RoomClaim;
  resolve(outcomes: EventOutcome[]): void;
  reject(error: unknown): void;
}

/**
 * Creates the batcher. Events wait in a bounded buffer and are written in batches by
 * {@link UsageStore.flush}, which skips stored event ids and adds only new quantities to the
 * counters in one transaction. A caller's promise settles only after its events are committed,
 * so an acknowledgement always means durable. A flush that fails because the database is
 * unreachable is retried with backoff; after `failAfterMs` its callers get `Unavailable` and
 * retry with the same event ids, which the dedupe makes safe whether or not the last attempt
 * actually committed. A flush that fails for any other reason never fails the whole batch:
 * it is bisected until the events the database refuses are found, and only those are refused.
 */
export function createUsageBatcher(options: UsageBatcherOptions): UsageBatcher {
  const maxFlushes = options.maxConcurrentFlushes ?? 2;
  const waiting: Submission[] = [];
  const room = createBufferRoom({
    maxEvents: options.bufferLimit,
    maxBytes: options.bufferLimitBytes,
  });
  let waitingEvents = 0;
  let inFlight = 0;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  const flushesDone: Set<Promise<void>> = new Set();
  const counters = { tracked: 0, flushed: 0, duplicates: 0, rejected: 0, errors: 0, batches: 0 };
  let lastFlushTime: Date | undefined;
  const recent = createRateWindow(60);

  const schedule = () => {
    if (waitingEvents === 0) return;
    if (waitingEvents >= options.batchSize || closed) {
      if (timer) clearTimeout(timer);
      timer = undefined;
      pump();
    } else if (timer === undefined) {
      timer = setTimeout(() => {
        timer = undefined;
        pump();
      }, options.flushIntervalMs);
    }
  };

  const pump = () => {
    while (inFlight < maxFlushes && waiting.length > 0) {
      const batch: Submission[] = [];
      const claim: RoomClaim = { events: 0, bytes: 0 };
      while (
        waiting.length > 0 &&
        (claim.events === 0 ||
          claim.events + (waiting[0]?.events.length ?? 0) <= options.batchSize * 5)
      ) {
        const next = waiting.shift() as Submission;
        batch.push(next);
        claim.events += next.claim.events;
        claim.bytes += next.claim.bytes;
      }
      waitingEvents -= claim.events;
      inFlight++;
      const done = flushBatch(batch, claim.events).finally(() => {
        inFlight--;
        flushesDone.delete(done);
        room.give(claim);
        schedule();
      });
      flushesDone.add(done);
    }
  };

  const flushBatch = async (batch: Submission[], size: number) => {
    // The first of several events with one key in a batch is stored; the rest are duplicates.
    const unique = new Map<string, UsageEvent>();
    for (const { events } of batch) {
      for (const event of events) {
        const key = eventKey(event.tenantId, event.eventId);
        if (!unique.has(key)) unique.set(key, event);
      }
    }
    let result: { duplicates: Set<string>; refused: Set<string> };
    try {
      result = await storeIsolating([...unique.values()], Date.now() + options.failAfterMs);
    } catch (error) {
      for (const submission of batch) submission.reject(error);
      return;
    }
    const firsts = new Set<UsageEvent>(unique.values());
    let duplicates = 0;
    for (const submission of batch) {
      const outcomes = submission.events.map((e): EventOutcome => {
        const key = eventKey(e.tenantId, e.eventId);
        if (result.refused.has(key)) return "refused";
        return !firsts.has(e) || result.duplicates.has(key) ? "duplicate" : "stored";
      });
      duplicates += outcomes.filter((o) => o === "duplicate").length;
      submission.resolve(outcomes);
    }
    counters.batches++;
    counters.duplicates += duplicates;
    counters.rejected += result.refused.size;
    counters.flushed += size - duplicates - result.refused.size;
    lastFlushTime = options.clock.now();
  };

  // Stores events, retrying while the database is unreachable (until `deadline`, then
  // `Unavailable` for all). Any other failure is blamed on the events, not on the database:
  // the set is split in halves that are stored on their own, down to single events, so one
  // event PostgreSQL refuses is refused alone and every other event still commits.
  const storeIsolating = async (
    events: UsageEvent[],
    deadline: number,
  ): Promise<{ duplicates: Set<string>; refused: Set<string> }> => {
    const duplicates = new Set<string>();
    const refused = new Set<string>();
    const write = async (part: UsageEvent[]): Promise<void> => {
      for (let attempt = 0; ; attempt++) {
        try {
          for (const key of await options.store.flush(part)) duplicates.add(key);
          return;
        } catch (error) {
          counters.errors++;
          if (!isDatabaseUnavailable(error)) return isolate(part, error);
          const pause = Math.min(2_000, 50 * 2 ** attempt);
          if (Date.now() + pause > deadline) {
            options.logger.error(
              { err: error, events: part.length },
              "usage flush failed; callers must retry",
            );
            throw new UnavailableError(
              "usage events could not be stored; retry with the same event ids",
            );
          }
          options.logger.warn({ err: error, attempt }, "usage flush failed; retrying");
          await sleep(pause);
        }
      }
    };
    const isolate = async (part: UsageEvent[], error: unknown): Promise<void> => {
      const [only] = part;
      if (part.length === 1 && only) {
        options.logger.error(
          { err: error, tenantId: only.tenantId, eventId: only.eventId },
          "the database refused a usage event; it is rejected alone",
        );
        refused.add(eventKey(only.tenantId, only.eventId));
        return;
      }
      const half = Math.ceil(part.length / 2);
      await write(part.slice(0, half));
      await write(part.slice(half));
    };
    await write(events);
    return { duplicates, refused };
  };

  return {
    async enqueue(events, waitMs) {
      if (closed) throw new UnavailableError("the server is shutting down");
      let bytes = 0;
      for (const event of events) bytes += estimateEventBytes(event);
      const claim = { events: events.length, bytes };
      await room.take(claim, waitMs);
      counters.tracked += events.length;
      recent.add(events.length);
      const done = new Promise<EventOutcome[]>((resolve, reject) => {
        waiting.push({ events, claim, resolve, reject });
      });
      waitingEvents += events.length;
      schedule();
      return { done };
    },
    countRejected(n) {
      counters.rejected += n;
    },
    stats: () => ({
      ...counters,
      bufferSize: room.held().events,
      lastFlushTime,
      recentPerSecond: recent.perSecond(),
    }),
    async close() {
      closed = true;
      room.close();
      schedule();
      while (flushesDone.size > 0 || waiting.length > 0) {
        pump();
        await Promise.all([...flushesDone]);
      }
    },
  };
}
