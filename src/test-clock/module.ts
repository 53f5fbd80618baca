import type { AuditStore } from "../audit/store.js";
import type { Config } from "../platform/config/config.js";
import type { Database } from "../platform/db/database.js";
import { followStored } from "../platform/db/follow.js";
import type { Logger } from "../platform/observability/logger.js";
import type { Module } from "../platform/server/module.js";
import type { TimeJob } from "../platform/tasks/periodic.js";
import type { TestClock } from "./clock.js";
import { createTestClockRpc } from "./rpc.js";
import { createTestClockService } from "./service.js";
import { createTestClockStore, TEST_CLOCK_CHANNEL } from "./store.js";

/** How often each replica reads the stored offset when no notification came. */
const OFFSET_POLL_MS = 1_000;

/**
 * Creates the test clock: its RPCs, and outside production the tasks that keep this replica on
 * the offset stored (a NOTIFY when another replica moves it, and a read each second). In
 * production `clock` is undefined: business time is the database's and the RPCs refuse.
 */
export function createTestClockModule(deps: {
  config: Config;
  database: Database;
  clock: TestClock | undefined;
  audit: AuditStore;
  logger: Logger;
  /** Every module's time-driven jobs, in module order; read when the clock moves. */
  jobs: () => readonly TimeJob[];
}): Module {
  const { config, database, logger } = deps;
  const store = createTestClockStore(database.knex);
  const clock = deps.clock;
  const service = createTestClockService({
    clock,
    store,
    knex: database.knex,
    audit: deps.audit,
    jobs: deps.jobs,
    logger,
  });
  const tasks =
    clock === undefined
      ? []
      : followStored({
          name: "test-clock-follow",
          url: config.databaseUrl,
          channel: TEST_CLOCK_CHANNEL,
          pollMs: OFFSET_POLL_MS,
          read: async () => clock.follow(await store.offset()),
          logger,
        });
  return { name: "test-clock", rpc: [createTestClockRpc(service)], tasks };
}
