import type { Knex } from "knex";
import type { AuditStore } from "../audit/store.js";
import type { Actor } from "../platform/calls/actor.js";
import {
  FailedPreconditionError,
  ResourceExhaustedError,
} from "../platform/errors/domain-error.js";
import type { Logger } from "../platform/observability/logger.js";
import type { TimeJob } from "../platform/tasks/periodic.js";
import { createFieldChecks } from "../platform/validation/field-checks.js";
import { WIRE_TIME } from "../platform/validation/field-rules.js";
import type { TestClock } from "./clock.js";
import type { TestClockStore } from "./store.js";

/** Moving business time outside production. */
export interface TestClockService {
  /** Business time now, as every replica reads it. */
  now(): Promise<Date>;
  /**
   * Moves business time forward to `to`, running every time-driven job at each moment one falls
   * due on the way, in order; resolves to business time after the last job ran.
   */
  advance(actor: Actor, to: Date | undefined): Promise<Date>;
}

/** Items each job handles per run, as its periodic task does. */
const BATCH = 500;
/** The most due moments one call steps through; the caller continues with another call. */
const MAX_STEPS = 2_000;

/**
 * Creates the test clock service. `jobs` are every module's time-driven jobs in module order;
 * at each due moment all of them run, each until it has nothing left due, so a job that
 * another makes due at the same moment (a rollover re-arming counters that the settle sweep
 * then reads) runs after it. The jobs are the periodic tasks' own, which every replica may run
 * at once: each item is applied once however many replicas run them.
 */
export function createTestClockService(deps: {
  /** Undefined in production, where business time is the database's. */
  clock: TestClock | undefined;
  store: TestClockStore;
  knex: Knex;
  audit: AuditStore;
  jobs: () => readonly TimeJob[];
  logger: Logger;
}): TestClockService {
  const { store } = deps;
  // One advance at a time on this replica; replicas advancing at once only ever move forward.
  let running: Promise<unknown> = Promise.resolve();

  const allowed = (): TestClock => {
    if (deps.clock === undefined) {
      throw new FailedPreconditionError(
        "the test clock is off in production (ENVIRONMENT=production); business time is the database's",
      );
    }
    return deps.clock;
  };
  const sync = async (clock: TestClock) => clock.follow(await store.offset());
  const moveTo = async (clock: TestClock, time: Date) => {
    const base = clock.now().getTime() - clock.offsetMs();
    clock.follow(await store.raise(time.getTime() - base, new Date(base)));
  };
  const runJobs = async () => {
    for (const job of deps.jobs()) {
      let handled: number;
      do handled = await job.run(BATCH);
      while (handled === BATCH);
    }
  };
  // The earliest moment after now at which some job has work.
  const nextDue = async (clock: TestClock) => {
    const now = clock.now().getTime();
    const due = (await Promise.all(deps.jobs().map((job) => job.nextDue())))
      .map((d) => d?.getTime())
      .filter((t): t is number => t !== undefined && t > now);
    return due.length === 0 ? undefined : Math.min(...due);
  };

  const audited = (actor: Actor, from: Date, to: Date) =>
    deps.knex.transaction((trx) =>
      deps.audit.insert(trx, {
        actor: actor.id,
        action: "test_clock.advance",
        tenantId: undefined,
        target: "test_clock",
        requestId: "",
        createTime: to,
        before: { time: from.toISOString() },
        after: { time: to.toISOString() },
      }),
    );

  const advance = async (clock: TestClock, actor: Actor, to: Date) => {
    await sync(clock);
    const from = clock.now();
    if (to.getTime() <= from.getTime()) {
      const checks = createFieldChecks();
      checks.check(
        false,
        "to_time",
        `must be after the test clock's time, ${from.toISOString()}; it only moves forward`,
      );
      checks.throwIfAny();
    }
    await runJobs();
    for (let steps = 0; ; steps++) {
      const due = await nextDue(clock);
      if (due === undefined || due >= to.getTime()) break;
      if (steps === MAX_STEPS) {
        // Time has moved this far, for every replica: that is audited too.
        await audited(actor, from, clock.now());
        throw new ResourceExhaustedError(
          `stopped at ${clock.now().toISOString()} after ${MAX_STEPS} due moments; advance again to go on`,
        );
      }
      await moveTo(clock, new Date(due));
      await runJobs();
    }
    await moveTo(clock, to);
    await runJobs();
    await audited(actor, from, to);
    deps.logger.info({ from, to }, "test clock advanced");
    return clock.now();
  };

  return {
    async now() {
      const clock = allowed();
      await sync(clock);
      return clock.now();
    },
    advance(actor, to) {
      const clock = allowed();
      const checks = createFieldChecks();
      if (checks.check(to !== undefined, "to_time", "is required")) {
        checks.time("to_time", to as Date, WIRE_TIME);
      }
      checks.throwIfAny();
      const result = running.then(() => advance(clock, actor, to as Date));
      running = result.catch(() => undefined);
      return result;
    },
  };
}
