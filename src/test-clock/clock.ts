import type { Clock } from "../platform/clock/clock.js";

/**
 * Business time of a deployment outside production: the database's time plus an offset that
 * only grows. Every replica follows the offset stored in the database (`test_clock`).
 */
export interface TestClock extends Clock {
  /** How far business time runs ahead of the base clock, in milliseconds. */
  offsetMs(): number;
  /** Takes a stored offset; one smaller than the offset held is ignored (time never goes back). */
  follow(offsetMs: number): void;
}

/** A clock `offsetMs` ahead of `base`. */
export function createTestClock(base: Clock, offsetMs: number): TestClock {
  let offset = offsetMs;
  return {
    now: () => new Date(base.now().getTime() + offset),
    offsetMs: () => offset,
    follow(next) {
      offset = Math.max(offset, next);
    },
  };
}
