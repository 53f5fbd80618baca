import { setTimeout as sleep } from "node:timers/promises";
import { Decimal } from "decimal.js";
import { describe, expect, it } from "vitest";
import { createSystemClock } from "../platform/clock/clock.js";
import { DeadlineExceededError, UnavailableError } from "../platform/errors/domain-error.js";
import { createAdmissionQueue } from "./admissions.js";
import type { AdmissionOp, AdmissionOutcome, CounterOp, EntitlementStore } from "./store.js";

/*
 * The queue's scheduling rules, over a store that records the batches it is given and
 * answers each op from its quantity. Whether a batch decides correctly is the database's
 * part, tested against PostgreSQL in test/admissions.e2e.test.ts.
 */

const POISON = "13";

const op = (tenant: string, quantity: string): CounterOp => ({
  kind: "add",
  key: { tenantId: tenant, resourceType: "tokens", periodStart: new Date(0) },
  quantity: new Decimal(quantity),
  limits: undefined,
  idempotency: undefined,
  answer: {},
});

const answered = (o: AdmissionOp): AdmissionOutcome => ({
  outcome: "done",
  counter: undefined,
  answer: { quantity: (o as CounterOp).quantity.toFixed() },
  reservation: undefined,
});

function recordingStore(options: { delayMs?: number; failWith?: () => Error } = {}) {
  const batches: string[][] = [];
  let running = 0;
  let mostRunning = 0;
  const store: Pick<EntitlementStore, "admitBatch"> = {
    async admitBatch(ops) {
      const names = ops.map((o) => `${(o as CounterOp).key.tenantId}:${(o as CounterOp).quantity}`);
      batches.push(names);
      running += 1;
      mostRunning = Math.max(mostRunning, running);
      try {
        await sleep(options.delayMs ?? 1);
        if (options.failWith) throw options.failWith();
        if (ops.some((o) => (o as CounterOp).quantity.toFixed() === POISON)) {
          throw Object.assign(new Error("numeric field overflow"), { code: "22003" });
        }
        return ops.map(answered);
      } finally {
        running -= 1;
      }
    },
  };
  return { store, batches, mostRunning: () => mostRunning };
}

const queueOver = (store: Pick<EntitlementStore, "admitBatch">, maxInFlight = 4) =>
  createAdmissionQueue({ store, clock: createSystemClock(), maxInFlight, maxWaitMs: 1_000 });

describe("admission queue", () => {
  it("should gather concurrent calls into one batch when one slot is free", async () => {
    const { store, batches } = recordingStore();
    const queue = queueOver(store, 1);
    const outcomes = await Promise.all(
      Array.from({ length: 50 }, (_, i) => queue.submit(op(`t${i}`, "1"), {})),
    );
    expect(outcomes.every((o) => o.outcome === "done")).toBe(true);
    expect(batches).toHaveLength(1);
    expect(queue.stats()).toMatchObject({ calls: 50, batches: 1, waiting: 0 });
  });

  it("should share waiting calls among the free slots instead of running them in waves", async () => {
    const { store, batches, mostRunning } = recordingStore({ delayMs: 5 });
    const queue = queueOver(store, 4);
    await Promise.all(Array.from({ length: 50 }, (_, i) => queue.submit(op(`t${i}`, "1"), {})));
    expect(batches.map((b) => b.length)).toEqual([13, 13, 12, 12]);
    expect(mostRunning()).toBe(4);
  });

  it("should split a failing batch by tenant, then bisect, so only the poison call fails", async () => {
    const { store, batches } = recordingStore();
    const queue = queueOver(store, 1);
    const settled = await Promise.allSettled(
      ["1", "2", "3", POISON, "5", "6", "7", "8"].map((q, i) => queue.submit(op(`t${i}`, q), {})),
    );
    expect(settled.map((s) => s.status)).toEqual([
      "fulfilled",
      "fulfilled",
      "fulfilled",
      "rejected",
      "fulfilled",
      "fulfilled",
      "fulfilled",
      "fulfilled",
    ]);
    expect((settled[3] as PromiseRejectedResult).reason).toMatchObject({ code: "22003" });
    // the whole batch, then each tenant's share: the poison call alone
    expect(batches[0]).toHaveLength(8);
    expect(batches).toContainEqual([`t3:${POISON}`]);
  });

  it("should bisect one tenant's failing share until the poison call is alone", async () => {
    const { store, batches } = recordingStore();
    const queue = queueOver(store, 1);
    const settled = await Promise.allSettled(
      ["1", "2", POISON, "4"].map((q) => queue.submit(op("a", q), {})),
    );
    expect(settled.map((s) => s.status)).toEqual([
      "fulfilled",
      "fulfilled",
      "rejected",
      "fulfilled",
    ]);
    expect(batches).toEqual([
      ["a:1", "a:2", `a:${POISON}`, "a:4"],
      ["a:1", "a:2"],
      [`a:${POISON}`, "a:4"],
      [`a:${POISON}`],
      ["a:4"],
    ]);
  });

  it("should fail a whole batch without bisecting when the database is unavailable", async () => {
    const refused = Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" });
    const { store, batches } = recordingStore({ failWith: () => refused });
    const queue = queueOver(store, 1);
    const settled = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) => queue.submit(op(`t${i}`, "1"), {})),
    );
    expect(settled.every((s) => s.status === "rejected" && s.reason === refused)).toBe(true);
    expect(batches).toHaveLength(1);
  });

  it("should keep one counter in one running batch and its calls in arrival order", async () => {
    const { store, batches, mostRunning } = recordingStore({ delayMs: 5 });
    const queue = queueOver(store, 4);
    const calls: Promise<AdmissionOutcome>[] = [];
    for (let i = 0; i < 30; i++) {
      calls.push(queue.submit(op(i % 3 === 0 ? "hot" : `t${i}`, String(i + 100)), {}));
      if (i % 5 === 4) await sleep(1);
    }
    await Promise.all(calls);
    const hot = batches.map((b) => b.filter((name) => name.startsWith("hot:")));
    // the hot counter's calls appear in arrival order across batches
    expect(hot.flat()).toEqual(Array.from({ length: 10 }, (_, k) => `hot:${k * 3 + 100}`));
    expect(mostRunning()).toBeGreaterThan(1);
  });

  it("should shed calls whose caller has given up and answer overdue ones Unavailable", async () => {
    const { store, batches } = recordingStore({ delayMs: 300 });
    const queue = createAdmissionQueue({
      store,
      clock: createSystemClock(),
      maxInFlight: 1,
      maxWaitMs: 100,
    });
    const gaveUp = new AbortController();
    const first = queue.submit(op("a", "1"), {});
    await sleep(5);
    const abandoned = queue.submit(op("b", "1"), { signal: gaveUp.signal });
    const expired = queue.submit(op("c", "1"), { deadline: Date.now() + 20 });
    const waiting = queue.submit(op("d", "1"), {});
    gaveUp.abort();
    await expect(abandoned).rejects.toBeInstanceOf(DeadlineExceededError);
    await expect(expired).rejects.toBeInstanceOf(DeadlineExceededError);
    await expect(waiting).rejects.toBeInstanceOf(UnavailableError);
    await expect(first).resolves.toMatchObject({ outcome: "done" });
    expect(batches).toEqual([["a:1"]]);
    expect(queue.stats()).toMatchObject({ calls: 4, shed: 2, overdue: 1, waiting: 0 });
  });

  it("should refuse a call whose deadline has already passed without queueing it", async () => {
    const { store, batches } = recordingStore();
    const queue = queueOver(store);
    await expect(queue.submit(op("a", "1"), { deadline: Date.now() - 1 })).rejects.toBeInstanceOf(
      DeadlineExceededError,
    );
    expect(batches).toHaveLength(0);
  });
});
