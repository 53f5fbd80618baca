import type { Logger } from "../observability/logger.js";

/** A background task that can be stopped before shutdown. */
export interface PeriodicTask {
  /** Stops the timer and waits for a run in progress. */
  stop(): Promise<void>;
}

/**
 * Runs `work` every `intervalMs`, one run at a time, until stopped. `work` returns how many
 * items it handled; a full batch (`batch` items) runs again at once, so a backlog drains
 * without waiting for the next tick. A failed run is logged and retried next interval.
 */
export function startPeriodicTask(options: {
  name: string;
  intervalMs: number;
  batch: number;
  work(limit: number): Promise<number>;
  logger: Logger;
}): PeriodicTask {
  let running: Promise<void> = Promise.resolve();
  const runOnce = async () => {
    try {
      let handled: number;
      do {
        handled = await options.work(options.batch);
        if (handled > 0) options.logger.info({ task: options.name, handled }, "periodic task ran");
      } while (handled === options.batch);
    } catch (error) {
      options.logger.warn(
        { err: error, task: options.name },
        "periodic task failed; retrying next interval",
      );
    }
  };
  const timer = setInterval(() => {
    running = running.then(runOnce);
  }, options.intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}

/**
 * Work that falls due at business times (a period's end, an expiry). Each runs on its periodic
 * task as well; when the test clock moves time, it runs every job at each time one falls due,
 * in the order the modules list them.
 */
export interface TimeJob {
  name: string;
  /** The earliest business time at which the job has work, if any (in the past: overdue). */
  nextDue(): Promise<Date | undefined>;
  /** Handles up to `limit` items due now; returns how many it handled. */
  run(limit: number): Promise<number>;
}

/**
 * Runs a time job on a schedule of its own too, as {@link startPeriodicTask} does: every replica
 * runs it every `intervalMs`, `batch` items a run, whatever the test clock does.
 */
export function startTimeJob(
  job: TimeJob,
  options: { intervalMs: number; batch: number; logger: Logger },
): PeriodicTask {
  return startPeriodicTask({ name: job.name, ...options, work: (limit) => job.run(limit) });
}
