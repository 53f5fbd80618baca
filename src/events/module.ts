import type { Clock } from "../platform/clock/clock.js";
import type { Config } from "../platform/config/config.js";
import type { Database } from "../platform/db/database.js";
import { startNotificationListener } from "../platform/db/notification-listener.js";
import type { Logger } from "../platform/observability/logger.js";
import type { BackgroundTask, Module } from "../platform/server/module.js";
import { startPeriodicTask } from "../platform/tasks/periodic.js";
import { EVENTS_CHANNEL } from "./events.js";
import { createEventRpc } from "./rpc.js";
import { createEventService } from "./service.js";
import { createEventStore } from "./store.js";
import { createEventWakeup, type EventWakeup } from "./wakeup.js";

/** Stripe's notice before a trial ends, which `subscription.trial_will_end` mirrors. */
const TRIAL_NOTICE_MS = 3 * 86_400_000;

/** The event log and what wakes its readers. */
export interface EventsModule extends Module {
  /** Rung when events are written here or announced by another replica. */
  wakeup: EventWakeup;
  /** How often readers poll as a safety net behind the wakeup. */
  pollMs: number;
}

/**
 * Creates the events domain: the log that streams and webhooks read, the notices of trials
 * about to end, and the listener that wakes readers when another replica writes.
 */
export function createEventsModule(deps: {
  config: Config;
  database: Database;
  clock: Clock;
  logger: Logger;
}): EventsModule {
  const { config, database, clock, logger } = deps;
  const store = createEventStore(database.knex);
  const wakeup = createEventWakeup();
  // With notifications a poll is only a safety net; PGlite has none, so it polls more often.
  const pollMs = config.databaseUrl === undefined ? 250 : 2_000;
  const tasks: BackgroundTask[] = [
    startPeriodicTask({
      name: "trial-will-end",
      intervalMs: config.billingSweepIntervalSeconds * 1000,
      batch: 100,
      work: (limit) => store.announceTrialEnds(clock.now(), TRIAL_NOTICE_MS, limit),
      logger,
    }),
    // Other replicas' events ring the wakeup too; PGlite has no other replicas.
    ...(config.databaseUrl === undefined
      ? []
      : [
          startNotificationListener({
            url: config.databaseUrl,
            channel: EVENTS_CHANNEL,
            onNotify: () => wakeup.notify(),
            onGap: () => wakeup.notify(),
            logger,
          }),
        ]),
  ];
  return {
    name: "events",
    wakeup,
    pollMs,
    rpc: [createEventRpc(createEventService({ store, wakeup, pollMs }))],
    tasks,
  };
}
