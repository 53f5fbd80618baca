/**
 * The source of business time. Everything that depends on "now" (trial ends, period
 * rollovers, scheduled cancellations, usage periods) asks a Clock instead of `new Date()`, so
 * tests can move time forward and watch those transitions happen.
 */
export interface Clock {
  now(): Date;
}

/** A clock that tests drive by hand. */
export interface ManualClock extends Clock {
  /** Moves time forward (or back, with a negative amount) by `ms` milliseconds. */
  advance(ms: number): void;
  set(time: Date): void;
}

/** The wall clock, used by every real deployment. */
export function createSystemClock(): Clock {
  return { now: () => new Date() };
}

/** A clock that only moves when told to; it starts at `start`. */
export function createManualClock(start: Date = new Date()): ManualClock {
  let current = start.getTime();
  return {
    now: () => new Date(current),
    advance(ms) {
      current += ms;
    },
    set(time) {
      current = time.getTime();
    },
  };
}
