import type { Config } from "../platform/config/config.js";
import type { Database } from "../platform/db/database.js";
import { startNotificationListener } from "../platform/db/notification-listener.js";
import type { Logger } from "../platform/observability/logger.js";
import type { BackgroundTask, Module } from "../platform/server/module.js";
import { EVENTS_CHANNEL } from "./events.js";
import { createEventLog, type EventLog } from "./log.js";
import { createEventRpc } from "./rpc.js";
import { createEventService } from "./service.js";
import { createEventStore } from "./store.js";
import { createEventWakeup, type EventWakeup } from "./wakeup.js";

/** The event log and what wakes its readers. */
export interface EventsModule extends Module {
  /** Rung when events are written here or announced by another replica. */
  wakeup: EventWakeup;
  /** How often readers poll as a safety net behind the wakeup. */
  pollMs: number;
  /** The write side, for the domains whose changes are events. */
  log: EventLog;
}

/**
 * Creates the events domain: the log that domains write and streams and webhooks read, and the
 * listener that wakes readers when another replica writes.
 */
export function createEventsModule(deps: {
  config: Config;
  database: Database;
  logger: Logger;
  /** On a distributed database the cross-tenant stream's watermark is read from every node. */
  distributed: boolean;
}): EventsModule {
  const { config, database, logger } = deps;
  const store = createEventStore(database.knex, { distributed: deps.distributed });
  const wakeup = createEventWakeup();
  // With notifications a poll is only a safety net; PGlite has none, so it polls more often.
  const pollMs = config.databaseUrl === undefined ? 250 : 2_000;
  const tasks: BackgroundTask[] = [
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
    log: createEventLog(database.knex, wakeup),
    rpc: [createEventRpc(createEventService({ store, wakeup, pollMs }))],
    tasks,
  };
}
