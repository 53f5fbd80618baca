/**
 * Counts over a sliding window of whole seconds, for "events per second lately" in
 * GetIngestStats: a counter since start cannot tell an operator whether ingestion is flowing
 * now, and a client polling two replicas behind a load balancer cannot difference totals that
 * belong to different processes.
 */
export interface RateWindow {
  add(count: number): void;
  /** The average per second over the window, or over the time since start if shorter. */
  perSecond(): number;
}

/** Creates a window of `seconds` one-second buckets; `now` gives milliseconds. */
export function createRateWindow(seconds: number, now: () => number = Date.now): RateWindow {
  const counts = new Float64Array(seconds);
  const stamps = new Float64Array(seconds).fill(-1);
  const started = now();
  return {
    add(count) {
      const second = Math.floor(now() / 1000);
      const slot = second % seconds;
      if (stamps[slot] !== second) {
        stamps[slot] = second;
        counts[slot] = 0;
      }
      counts[slot] = (counts[slot] ?? 0) + count;
    },
    perSecond() {
      const at = now();
      const second = Math.floor(at / 1000);
      let total = 0;
      for (let slot = 0; slot < seconds; slot++) {
        const stamp = stamps[slot] ?? -1;
        if (stamp > second - seconds && stamp <= second) total += counts[slot] ?? 0;
      }
      const span = Math.min(seconds, Math.max(1, (at - started) / 1000));
      return total / span;
    },
  };
}
