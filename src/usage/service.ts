import type { PlanCatalog } from "../catalog/catalog.js";
import { ALLOCATION_PERIOD, isPeriodClosed, periodFor } from "../catalog/periods.js";
import type { PlanCache } from "../entitlements/plan-cache.js";
import type { Actor } from "../platform/calls/actor.js";
import { assertLive, type CallBudget } from "../platform/calls/budget.js";
import type { Clock } from "../platform/clock/clock.js";
import type { UsageBatcher } from "./batcher.js";
import { checkEvent, type RawUsageQuery, validateUsageQuery } from "./inputs.js";
import type { UsageStore } from "./store.js";
import type {
  IngestStats,
  IngestSummary,
  RawUsageEvent,
  RejectionCode,
  UsageEvent,
  UsageReport,
} from "./usage.js";

/** How many rejected events a summary lists; the counts are always exact. */
const MAX_LISTED_REJECTIONS = 1000;
/** How long a unary call waits for buffer room before `ResourceExhausted`. */
const UNARY_ROOM_WAIT_MS = 2_000;
/** Said of an event PostgreSQL refused although it passed validation; the log has the cause. */
const REFUSED_REASON = "the database could not store this event; the server logged why";

/** Ingests usage events and reports on them. */
export interface UsageService {
  /** Takes a stream of event batches; answers once every accepted event is committed. */
  ingestStream(actor: Actor, batches: AsyncIterable<RawUsageEvent[]>): Promise<IngestSummary>;
  /** Takes one batch; answers once every accepted event is committed. */
  /** Not started (nothing recorded) when the caller has already given up. */
  track(actor: Actor, events: RawUsageEvent[], budget: CallBudget): Promise<IngestSummary>;
  /** Stopped in the database when `budget.signal` aborts (the caller went away). */
  getUsage(query: RawUsageQuery, budget: CallBudget): Promise<UsageReport>;
  stats(): IngestStats;
}

/** What the usage service is built from. */
export interface UsageServiceDeps {
  batcher: UsageBatcher;
  store: UsageStore;
  plans: PlanCache;
  catalog: PlanCatalog;
  clock: Clock;
  /** How old an event may be: `USAGE_LATE_WINDOW_HOURS`. */
  lateWindowMs: number;
  /** How long a period stays open after its end: `PERIOD_GRACE_HOURS`. */
  graceMs: number;
}

/**
 * Creates the usage service. Each event is validated on its own, given the counter period that
 * contains its `occur_time` (late events count where they happened), and handed to the shared
 * batcher; a call is answered only after its accepted events are committed.
 */
export function createUsageService(deps: UsageServiceDeps): UsageService {
  const { batcher, store, plans, catalog, clock } = deps;

  const ingest = async (
    actor: Actor,
    batches: AsyncIterable<RawUsageEvent[]>,
    waitMs: number | undefined,
  ): Promise<IngestSummary> => {
    const summary: IngestSummary = {
      acceptedCount: 0,
      duplicateCount: 0,
      rejectedCount: 0,
      rejectedEvents: [],
    };
    // Outstanding tickets are counted, not kept: a stream's lifetime may span millions of
    // messages, and each ticket is forgotten as soon as its events are committed.
    const outstanding = createCountdown();
    let failure: unknown;
    let index = 0;
    const reject = (
      eventId: string,
      eventIndex: number,
      reason: string,
      reasonCode: RejectionCode,
    ) => {
      summary.rejectedCount++;
      if (summary.rejectedEvents.length < MAX_LISTED_REJECTIONS) {
        summary.rejectedEvents.push({ eventId, eventIndex, reason, reasonCode });
      }
    };
    for await (const raws of batches) {
      if (failure !== undefined) break;
      const now = clock.now();
      const accepted: UsageEvent[] = [];
      const positions: number[] = [];
      for (const raw of raws) {
        const checked = checkEvent(raw, catalog, now, actor, deps.lateWindowMs);
        if (!checked.ok) {
          reject(raw.eventId, index, checked.reason, checked.code);
          index++;
          continue;
        }
        const event = checked.event;
        let periodStart = ALLOCATION_PERIOD;
        if (catalog.resourceKinds.get(event.resourceType) !== "allocation") {
          const cycle = plans.peek(event.tenantId) ?? (await plans.resolve(event.tenantId));
          const period = periodFor(cycle, event.occurTime);
          if (isPeriodClosed(period.end, now, deps.graceMs)) {
            reject(raw.eventId, index, closedReason(period.end), "PERIOD_CLOSED");
            index++;
            continue;
          }
          periodStart = period.start;
        }
        accepted.push({ ...event, periodStart, meter: catalog.meterOf(event.resourceType) });
        positions.push(index);
        index++;
      }
      batcher.countRejected(raws.length - accepted.length);
      if (accepted.length === 0) continue;
      const ticket = await batcher.enqueue(accepted, waitMs);
      outstanding.add();
      ticket.done
        .then(
          (outcomes) =>
            outcomes.forEach((outcome, i) => {
              if (outcome === "stored") summary.acceptedCount++;
              else if (outcome === "duplicate") summary.duplicateCount++;
              else {
                reject(
                  accepted[i]?.eventId ?? "",
                  positions[i] ?? -1,
                  REFUSED_REASON,
                  "STORAGE_REFUSED",
                );
              }
            }),
          (error: unknown) => {
            failure ??= error;
          },
        )
        .finally(outstanding.done);
    }
    await outstanding.zero();
    if (failure !== undefined) throw failure;
    summary.rejectedEvents.sort((a, b) => a.eventIndex - b.eventIndex);
    return summary;
  };

  return {
    ingestStream: (actor, batches) => ingest(actor, batches, undefined),
    async track(actor, events, budget) {
      assertLive(budget);
      return ingest(
        actor,
        (async function* () {
          yield events;
        })(),
        UNARY_ROOM_WAIT_MS,
      );
    },

    async getUsage(query, budget) {
      const valid = validateUsageQuery(catalog, query);
      const resources =
        valid.resourceType === undefined ? [...catalog.resourceKinds.keys()] : [valid.resourceType];
      return store.report(
        valid,
        resources.map((r) => catalog.meterOf(r)),
        budget.signal,
      );
    },

    stats: () => batcher.stats(),
  };
}

/** Counts work in progress; `zero()` resolves once every `add()` has had its `done()`. */
function createCountdown() {
  let count = 0;
  let onZero: (() => void) | undefined;
  return {
    add() {
      count++;
    },
    done() {
      count--;
      if (count === 0) onZero?.();
    },
    zero: () =>
      count === 0
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            onZero = resolve;
          }),
  };
}

/** Why an event of a closed period is refused. */
export function closedReason(end: Date): string {
  return `its billing period ended ${end.toISOString()} and is closed (PERIOD_GRACE_HOURS passed): its figures are final`;
}
