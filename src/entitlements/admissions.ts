import { resourceOfCounter } from "../catalog/meters.js";
import {
  type CallBudget,
  deadlineExceeded,
  isSpent,
  remainingMs,
} from "../platform/calls/budget.js";
import type { Clock } from "../platform/clock/clock.js";
import { isDatabaseUnavailable } from "../platform/db/database.js";
import { UnavailableError } from "../platform/errors/domain-error.js";
import {
  type AdmissionOp,
  type AdmissionOutcome,
  type EntitlementStore,
  endsReservation,
} from "./store.js";

const BUSY_MESSAGE = "every database connection is busy; retry shortly";

/** Group commit of admissions: concurrent calls share one database round trip. */
export interface AdmissionQueue {
  /** Resolves once the call's batch has committed; rejects when it cannot run. */
  submit(op: AdmissionOp, budget: CallBudget): Promise<AdmissionOutcome>;
  /** Totals since start (calls, batches, shed, overdue) and calls waiting now. */
  stats(): AdmissionStats;
}

/** What {@link AdmissionQueue.stats} reports (a type alias, so it exports to `/metrics` as is). */
export type AdmissionStats = {
  calls: number;
  batches: number;
  /** Calls dropped unstarted because their caller had given up. */
  shed: number;
  /** Calls answered Unavailable after waiting `maxWaitMs` for a batch slot. */
  overdue: number;
  waiting: number;
};

/** Options of {@link createAdmissionQueue}. */
export interface AdmissionQueueOptions {
  store: Pick<EntitlementStore, "admitBatch">;
  clock: Clock;
  /** Batches running at once; 1 on a single-connection database. */
  maxInFlight: number;
  /**
   * Sends each tenant's share of a batch as a statement (and transaction) of its own, as a
   * distributed database routes it to the tenant's shard; otherwise one statement carries
   * every tenant's share and one commit covers them all.
   */
  statementPerTenant?: boolean;
  /** Calls per batch at most. */
  maxBatch?: number;
  /**
   * How long a call may wait for a batch slot before it is answered `Unavailable`, as a call
   * waits for a pooled connection (`DATABASE_POOL_WAIT_SECONDS`): slots held by batches stuck
   * behind a lock must not hold every other tenant's calls indefinitely.
   */
  maxWaitMs: number;
}

interface Waiting {
  op: AdmissionOp;
  budget: CallBudget;
  enqueued: number;
  /** The counter the call touches. */
  counter: string;
  /** The reservation a commit or release ends: one per batch, so its state is known. */
  reservation: string | undefined;
  resolve(outcome: AdmissionOutcome): void;
  reject(error: unknown): void;
}

/**
 * Creates the admission queue. Calls wait only while every batch slot is busy or, when a slot
 * is free, until the current turn of the event loop ends, so the window adapts by itself: a
 * lone call goes out at once, and under load each batch carries what arrived while the
 * previous ones ran. What waits is shared among the free slots rather than taken by the first,
 * so batches overlap instead of running in waves (one batch in the database while the next
 * waits for it).
 *
 * Calls of one counter are decided in arrival order: a counter is in at most one running
 * batch, and calls behind a busy counter wait, in order, for the next; a reservation is ended
 * by at most one call of a batch. Calls whose caller has given up are dropped when a batch is
 * formed (answered `DEADLINE_EXCEEDED`, nothing recorded), so overload sheds them first. A
 * batch that fails for a reason other than the database being unavailable is split into its
 * tenants' shares and a share that fails is bisected until the call that fails it is alone;
 * every other call is admitted.
 */
export function createAdmissionQueue(options: AdmissionQueueOptions): AdmissionQueue {
  const { store, clock, maxInFlight, maxBatch = 500, maxWaitMs, statementPerTenant } = options;
  let waiting: Waiting[] = [];
  const busy = new Set<string>();
  let running = 0;
  let scheduled = false;
  let overdueTimer: NodeJS.Timeout | undefined;
  const totals = { calls: 0, batches: 0, shed: 0, overdue: 0 };
  const shed = (w: Waiting) => {
    totals.shed += 1;
    w.reject(deadlineExceeded());
  };

  // Answers the calls that waited too long for a slot; armed for the oldest waiting call.
  const armOverdue = () => {
    const oldest = waiting[0];
    if (overdueTimer !== undefined || oldest === undefined) return;
    overdueTimer = setTimeout(
      () => {
        overdueTimer = undefined;
        const now = Date.now();
        waiting = waiting.filter((w) => {
          if (isSpent(w.budget)) shed(w);
          else if (now - w.enqueued >= maxWaitMs) {
            totals.overdue += 1;
            w.reject(new UnavailableError(BUSY_MESSAGE));
          } else return true;
          return false;
        });
        armOverdue();
      },
      Math.max(0, oldest.enqueued + maxWaitMs - Date.now()),
    );
    overdueTimer.unref();
  };

  const schedule = () => {
    if (scheduled || running >= maxInFlight || waiting.length === 0) return;
    scheduled = true;
    setImmediate(launch);
  };

  // Takes the next batch: its share of what waits (calls on counters it already holds always
  // join), in arrival order, skipping counters busy in a running batch, and everything behind
  // a call it had to skip on the same counter.
  const take = (slots: number): Waiting[] => {
    const size = Math.min(maxBatch, Math.ceil(waiting.length / slots));
    const batch: Waiting[] = [];
    const claimed = new Set<string>();
    const held = new Set<string>();
    const deferred = new Set<string>();
    const left: Waiting[] = [];
    for (const w of waiting) {
      if (isSpent(w.budget)) {
        shed(w);
      } else if (
        // A call on a counter this batch holds joins it whatever its share: no other batch
        // could take it until this one ends.
        (batch.length >= size && !claimed.has(w.counter)) ||
        batch.length >= maxBatch ||
        deferred.has(w.counter) ||
        (busy.has(w.counter) && !claimed.has(w.counter)) ||
        (w.reservation !== undefined && held.has(w.reservation))
      ) {
        left.push(w);
        deferred.add(w.counter);
      } else {
        batch.push(w);
        if (w.reservation !== undefined) held.add(w.reservation);
        if (!busy.has(w.counter)) {
          busy.add(w.counter);
          claimed.add(w.counter);
        }
      }
    }
    waiting = left;
    return batch;
  };

  const run = async (batch: Waiting[]): Promise<void> => {
    totals.batches += 1;
    try {
      const outcomes = await store.admitBatch(
        batch.map((w) => w.op),
        batch.map((w) => remainingMs(w.budget)),
        clock.now(),
      );
      for (const [i, w] of batch.entries()) w.resolve(outcomes[i] as AdmissionOutcome);
    } catch (error) {
      if (batch.length === 1 || isDatabaseUnavailable(error)) {
        for (const w of batch) w.reject(error);
        return;
      }
      const shares = byTenant(batch);
      if (shares.length > 1) {
        for (const share of shares) await run(share);
        return;
      }
      const half = batch.length >> 1;
      await run(batch.slice(0, half));
      await run(batch.slice(half));
    }
  };

  const launch = () => {
    scheduled = false;
    while (running < maxInFlight) {
      const batch = take(maxInFlight - running);
      if (batch.length === 0) break;
      running += 1;
      const done = statementPerTenant ? Promise.all(byTenant(batch).map(run)) : run(batch);
      void done.finally(() => {
        running -= 1;
        for (const w of batch) busy.delete(w.counter);
        schedule();
      });
    }
  };

  return {
    submit(op, budget) {
      totals.calls += 1;
      if (isSpent(budget)) {
        totals.shed += 1;
        return Promise.reject(deadlineExceeded());
      }
      return new Promise((resolve, reject) => {
        const { key } = op;
        waiting.push({
          op,
          budget,
          enqueued: Date.now(),
          // The resource, not the counter: a call counts on the total and its dimension
          // limits, so calls of one resource are decided in one batch at a time.
          counter: `${key.tenantId}/${resourceOfCounter(key.resourceType)}/${key.periodStart.getTime()}`,
          reservation: endsReservation(op) ? op.reservation.id : undefined,
          resolve,
          reject,
        });
        schedule();
        armOverdue();
      });
    },
    stats: () => ({ ...totals, waiting: waiting.length }),
  };
}

// A batch's calls by tenant, each tenant's in arrival order.
function byTenant(batch: Waiting[]): Waiting[][] {
  const shares = new Map<string, Waiting[]>();
  for (const w of batch) {
    const tenant = w.op.key.tenantId;
    const share = shares.get(tenant);
    if (share) share.push(w);
    else shares.set(tenant, [w]);
  }
  return [...shares.values()];
}
