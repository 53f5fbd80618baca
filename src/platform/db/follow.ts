import type { Logger } from "../observability/logger.js";
import { startPeriodicTask } from "../tasks/periodic.js";
import { startNotificationListener } from "./notification-listener.js";

/**
 * Keeps this replica's copy of something every replica shares (the catalog in force, the test
 * clock) current: `read` runs on every NOTIFY on `channel` from whoever changed it, and every
 * `pollMs` besides, so a notification lost while the listening connection was down delays the
 * change by one poll at most. PGlite (`url` undefined) has no other replica to hear from.
 */
export function followStored(options: {
  name: string;
  url: string | undefined;
  channel: string;
  pollMs: number;
  read(): Promise<void>;
  logger: Logger;
}): { stop(): Promise<void> }[] {
  const { logger } = options;
  const poll = startPeriodicTask({
    name: options.name,
    intervalMs: options.pollMs,
    batch: 1,
    // Reported as nothing handled, so a run is never repeated at once.
    work: async () => {
      await options.read();
      return 0;
    },
    logger,
  });
  if (options.url === undefined) return [poll];
  const listener = startNotificationListener({
    url: options.url,
    channel: options.channel,
    onNotify: () => {
      options
        .read()
        .catch((error: unknown) =>
          logger.warn(
            { err: error, task: options.name },
            "could not read what changed; the poll retries",
          ),
        );
    },
    onGap: () => undefined,
    logger,
  });
  return [poll, listener];
}
