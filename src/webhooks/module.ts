import { isLoopbackHost } from "../auth/access-mode.js";
import type { EventsModule } from "../events/module.js";
import type { Config } from "../platform/config/config.js";
import type { Database } from "../platform/db/database.js";
import type { Logger } from "../platform/observability/logger.js";
import type { Module } from "../platform/server/module.js";
import type { DestinationPolicy } from "./address-guard.js";
import { startWebhookDispatcher } from "./dispatcher.js";
import { createWebhookRpc } from "./rpc.js";
import { createWebhookService } from "./service.js";
import { createWebhookStore } from "./store.js";

/** Creates the webhooks domain: endpoints operators register, and signed deliveries to them. */
export function createWebhooksModule(deps: {
  config: Config;
  database: Database;
  events: EventsModule;
  logger: Logger;
}): Module {
  const { config, database } = deps;
  // Development relaxes the destination policy only on a server bound to loopback: one that
  // others can reach must not be made to call into its own network.
  const policy: DestinationPolicy = {
    development: config.environment === "development" && isLoopbackHost(config.host),
    allowPrivate: config.webhookAllowPrivateNetworks,
  };
  const store = createWebhookStore(database.knex);
  const dispatcher = startWebhookDispatcher({
    store,
    wakeup: deps.events.wakeup,
    logger: deps.logger,
    scheduleMs: config.webhookRetryScheduleSeconds.map((s) => s * 1000),
    timeoutMs: config.webhookTimeoutSeconds * 1000,
    concurrency: database.kind === "pglite" ? 4 : 16,
    pollMs: deps.events.pollMs,
    policy,
  });
  return {
    name: "webhooks",
    rpc: [createWebhookRpc(createWebhookService({ store, policy }))],
    stats: [
      {
        name: "tollgate_webhooks",
        help: "Webhook deliveries (totals since start): attempts that succeeded, that failed and will be retried, deliveries given up; in_flight: attempts running now.",
        read: () => dispatcher.stats(),
      },
    ],
    tasks: [dispatcher],
  };
}
