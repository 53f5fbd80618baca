import { describe, expect, it } from "vitest";
import { createSystemClock } from "../platform/clock/clock.js";
import { ResourceExhaustedError, UnavailableError } from "../platform/errors/domain-error.js";
import { createLogger } from "../platform/observability/logger.js";
import { createUsageBatcher, type EventOutcome } from "./batcher.js";
import type { UsageStore } from "./store.js";
import type { UsageEvent } from "./usage.js";

const TENANT = "00000000-0000-4000-8000-000000000001";

// A store whose flushes finish only when the test says so, so every interleaving of
// enqueues, flushes and timeouts can be laid out by hand.
function createHandReleasedStore() {
  const flushes: { size: number; release(): void }[] = [];
  const store: UsageStore = {
    flush: (events) =>
      new Promise((resolve) => {
        flushes.push({ size: events.length, release: () => resolve(new Set()) });
      }),
    report: () => Promise.reject(new Error("not used")),
  };
  return { store, flushes };
}

let nextId = 0;
function events(n: number, attributes: Record<string, string> = {}): UsageEvent[] {
  return Array.from({ length: n }, () => ({
    tenantId: TENANT,
    eventId: `e${nextId++}`,
    resourceType: "executions",
    quantity: "1",
    occurTime: new Date(),
    attributes,
    periodStart: new Date(0),
  }));
}

function batcherWith(store: UsageStore, limits: { events: number; bytes?: number }) {
  return createUsageBatcher({
    store,
    clock: createSystemClock(),
    logger: createLogger({ level: "silent" }),
    // Flushes take at most 5 × batchSize events (one call of any size alone).
    batchSize: 4,
    flushIntervalMs: 1,
    bufferLimit: limits.events,
    bufferLimitBytes: limits.bytes ?? 1e12,
    failAfterMs: 1_000,
    maxConcurrentFlushes: 4,
  });
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 5));

describe(createUsageBatcher.name, () => {
  it("should not spin when a flush frees less room than the next waiter needs", async () => {
    // given: 20 + 20 held of 50, and a waiter of 31
    const { store, flushes } = createHandReleasedStore();
    const batcher = batcherWith(store, { events: 50 });
    const first = await batcher.enqueue(events(20));
    const second = await batcher.enqueue(events(20));
    let thirdIn = false;
    const third = batcher.enqueue(events(31)).then((t) => {
      thirdIn = true;
      return t;
    });
    await tick();
    expect(flushes.map((f) => f.size)).toEqual([20, 20]);

    // when: the first flush commits, 20 + 31 still does not fit
    flushes[0]?.release();
    await first.done;
    await tick();

    // then: the event loop is free (this line runs) and the waiter still waits
    expect(thirdIn).toBe(false);
    expect(batcher.stats().bufferSize).toBe(20);

    // when: the second commits, it fits
    flushes[1]?.release();
    await second.done;
    const ticket = await third;
    expect(thirdIn).toBe(true);
    expect(batcher.stats().bufferSize).toBe(31);
    await tick();
    flushes[2]?.release();
    expect(await ticket.done).toEqual(Array<EventOutcome>(31).fill("stored"));
  });

  it("should let waiters in strictly in arrival order, never past the limit", async () => {
    // given: a full buffer and three waiters, the first one large
    const { store, flushes } = createHandReleasedStore();
    const batcher = batcherWith(store, { events: 10 });
    await batcher.enqueue(events(10));
    const admitted: string[] = [];
    const waiters = [
      ["large", 8],
      ["small-a", 2],
      ["small-b", 2],
    ].map(([name, n]) =>
      batcher.enqueue(events(n as number)).then(() => admitted.push(name as string)),
    );
    await tick();

    // when: the held batch commits
    flushes[0]?.release();
    await Promise.all(waiters.slice(0, 2));
    await tick();

    // then: large and small-a fit together (10); small-b waits behind them, not ahead
    expect(admitted).toEqual(["large", "small-a"]);
    expect(batcher.stats().bufferSize).toBe(10);
    for (const flush of flushes.slice(1)) flush.release();
    await waiters[2];
    expect(admitted).toEqual(["large", "small-a", "small-b"]);
    expect(batcher.stats().bufferSize).toBeLessThanOrEqual(10);
  });

  it("should let later waiters through when the head gives up, and answer it ResourceExhausted", async () => {
    // given: 6 of 10 held, a head that needs 8 (waits 20 ms) and a follower that needs 3
    const { store, flushes } = createHandReleasedStore();
    const batcher = batcherWith(store, { events: 10 });
    await batcher.enqueue(events(6));
    const head = batcher.enqueue(events(8), 20);
    const follower = batcher.enqueue(events(3));

    // when / then: the head times out; the follower, which fits beside the 6, goes in
    await expect(head).rejects.toBeInstanceOf(ResourceExhaustedError);
    await follower;
    expect(batcher.stats().bufferSize).toBe(9);
    for (const flush of flushes) flush.release();
  });

  it("should bound the buffer by estimated bytes as well as by events", async () => {
    // given: room for a million events but only ~200 KB, and events with large attributes
    const { store, flushes } = createHandReleasedStore();
    const batcher = batcherWith(store, { events: 1_000_000, bytes: 200_000 });
    const heavy = { payload: "x".repeat(8_000) };
    await batcher.enqueue(events(10, heavy));

    // when: ten more heavy events ask for room
    const more = batcher.enqueue(events(10, heavy), 20);

    // then: they are refused for bytes although the event count is tiny
    await expect(more).rejects.toBeInstanceOf(ResourceExhaustedError);
    expect(batcher.stats().bufferSize).toBe(10);
    for (const flush of flushes) flush.release();
  });

  it("should admit a call larger than the whole buffer once it is empty", async () => {
    const { store, flushes } = createHandReleasedStore();
    const batcher = batcherWith(store, { events: 5 });
    const small = await batcher.enqueue(events(2));
    const huge = batcher.enqueue(events(12));
    await tick();
    flushes[0]?.release();
    await small.done;
    const ticket = await huge;
    await tick();
    flushes[1]?.release();
    expect(await ticket.done).toHaveLength(12);
  });

  it("should refuse waiters with Unavailable when closed, and still store what it holds", async () => {
    const { store, flushes } = createHandReleasedStore();
    const batcher = batcherWith(store, { events: 5 });
    const held = await batcher.enqueue(events(5));
    const waiter = batcher.enqueue(events(5));
    const closing = batcher.close();
    await expect(waiter).rejects.toBeInstanceOf(UnavailableError);
    await tick();
    flushes[0]?.release();
    await closing;
    expect(await held.done).toHaveLength(5);
  });
});
