import type { Logger } from "../observability/logger.js";
import type { Clock } from "./clock.js";

/** Options of {@link startDatabaseClock}. */
export interface DatabaseClockOptions {
  /** Reads the database's current time (`clock_timestamp()`). */
  readNow: () => Promise<Date>;
  /** This machine's wall clock in epoch milliseconds; replaced in tests to simulate skew. */
  localNow?: () => number;
  /** How often the offset is measured again. */
  resyncMs: number;
  /** An offset beyond this is logged as skew, once per measurement. */
  warnSkewMs: number;
  logger: Logger;
}

/** A clock that follows the database's, measuring again until stopped. */
export interface DatabaseClock extends Clock {
  stop(): void;
}

/**
 * Business time (trial ends, period rollovers, reservation expiry) read from one source for
 * every replica: the database, whose clock leases and event times already use. Asking it on
 * every call would cost a round trip, so the offset between the database's clock and this
 * machine's is measured at start and every `resyncMs` (the midpoint of the round trip, so the
 * error is at most half of it), and `now()` is this machine's time plus that offset. Replicas
 * whose own clocks disagree by minutes then still agree to within a few milliseconds; a skew
 * past `warnSkewMs` is logged so operators fix NTP.
 */
export async function startDatabaseClock(options: DatabaseClockOptions): Promise<DatabaseClock> {
  const localNow = options.localNow ?? Date.now;
  let offset = 0;
  const measure = async () => {
    const before = localNow();
    const database = (await options.readNow()).getTime();
    const after = localNow();
    offset = database - (before + after) / 2;
    if (Math.abs(offset) > options.warnSkewMs) {
      options.logger.warn(
        { offsetMs: Math.round(offset) },
        "this machine's clock disagrees with the database's; business time follows the database",
      );
    }
  };
  await measure();
  const timer = setInterval(() => {
    measure().catch((error: unknown) =>
      options.logger.warn(
        { err: error },
        "could not read the database's clock; keeping the last offset",
      ),
    );
  }, options.resyncMs).unref();
  return {
    now: () => new Date(localNow() + offset),
    stop: () => clearInterval(timer),
  };
}
