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
