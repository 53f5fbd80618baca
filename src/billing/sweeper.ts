import type { Logger } from "../observability/logger.js";
import type { BillingService } from "./service.js";

const BATCH = 100;

/** A background task that can be stopped before shutdown. */
export interface Sweeper {
  stop(): Promise<void>;
}

/**
 * Periodically applies trial ends, period rollovers and scheduled cancellations that came
 * due, so audit rows and provider-independent state keep up even for tenants nobody reads.
 * Reads apply the same transitions on demand; this only keeps the table current. Every
 * replica may run it: each transition is a versioned update, so concurrent sweeps of one
 * subscription write it once.
 */
export function startSubscriptionSweeper(
  service: BillingService,
  intervalMs: number,
  logger: Logger,
): Sweeper {
  let running: Promise<void> = Promise.resolve();
  const sweep = async () => {
    try {
      let advanced: number;
      do {
        advanced = await service.advanceDue(BATCH);
        if (advanced > 0) logger.info({ advanced }, "applied due subscription transitions");
      } while (advanced === BATCH);
    } catch (error) {
      logger.warn({ err: error }, "subscription sweep failed; it runs again next interval");
    }
  };
  const timer = setInterval(() => {
    running = running.then(sweep);
  }, intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
