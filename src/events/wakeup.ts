/**
 * Wakes whoever waits for new events: streams and the webhook dispatcher. Fed by the
 * `tollgate_events` notifications of every replica; waiters also wake on their own after a
 * poll interval, so a missed notification (or PGlite, which has no other connections to
 * notify) costs latency, never an event.
 */
export interface EventWakeup {
  notify(): void;
  /** Resolves on the next notification, after `timeoutMs`, or when `signal` aborts. */
  wait(timeoutMs: number, signal?: AbortSignal): Promise<void>;
}

/** Creates the wake-up point. */
export function createEventWakeup(): EventWakeup {
  let waiters: (() => void)[] = [];
  return {
    notify() {
      const woken = waiters;
      waiters = [];
      for (const wake of woken) wake();
    },
    wait(timeoutMs, signal) {
      return new Promise((resolve) => {
        const done = () => {
          clearTimeout(timer);
          signal?.removeEventListener("abort", done);
          waiters = waiters.filter((w) => w !== done);
          resolve();
        };
        const timer = setTimeout(done, timeoutMs);
        signal?.addEventListener("abort", done, { once: true });
        waiters.push(done);
      });
    },
  };
}
