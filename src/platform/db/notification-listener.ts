import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";
import type { Logger } from "../observability/logger.js";

/** A running LISTEN connection; `stop` closes it (a module's background task). */
export interface NotificationListener {
  stop(): Promise<void>;
}

/** Options of {@link startNotificationListener}. */
export interface NotificationListenerOptions {
  url: string;
  channel: string;
  /** Called with each notification's payload. */
  onNotify(payload: string): void;
  /**
   * Called whenever notifications may have been missed (the connection dropped and came back),
   * so whoever caches on their strength can start afresh.
   */
  onGap(): void;
  logger: Logger;
}

/**
 * Holds one dedicated PostgreSQL connection LISTENing on a channel, reconnecting with backoff
 * when it drops. Notifications are how replicas tell each other to drop cached state; a
 * dropped connection is reported through `onGap` because notifications sent meanwhile are lost.
 */
export function startNotificationListener(
  options: NotificationListenerOptions,
): NotificationListener {
  let closed = false;
  let client: pg.Client | undefined;
  const stop = new AbortController();
  const run = async () => {
    for (let attempt = 0; !closed; attempt++) {
      const current = new pg.Client({ connectionString: options.url });
      client = current;
      try {
        const ended = new Promise<void>((resolve) => {
          current.once("error", () => resolve());
          current.once("end", () => resolve());
        });
        current.on("notification", (message) => options.onNotify(message.payload ?? ""));
        await current.connect();
        await current.query(`listen ${pg.escapeIdentifier(options.channel)}`);
        attempt = 0;
        options.onGap();
        await ended;
      } catch (error) {
        if (!closed) options.logger.warn({ err: error }, "notification listener failed");
      }
      await current.end().catch(() => undefined);
      if (!closed) {
        options.onGap();
        await sleep(Math.min(5_000, 100 * 2 ** attempt), undefined, { signal: stop.signal }).catch(
          () => undefined,
        );
      }
    }
  };
  const running = run();
  return {
    async stop() {
      closed = true;
      stop.abort();
      await client?.end().catch(() => undefined);
      await running;
    },
  };
}
