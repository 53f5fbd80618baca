import type { AuditStore } from "../audit/store.js";
import type { Clock } from "../platform/clock/clock.js";
import type { Config } from "../platform/config/config.js";
import type { Database } from "../platform/db/database.js";
import type { Logger } from "../platform/observability/logger.js";
import type { Module } from "../platform/server/module.js";
import { resolveAccessMode } from "./access-mode.js";
import { createAuthInterceptor } from "./auth-interceptor.js";
import { createCallLimitInterceptor } from "./call-limits.js";
import { createRateLimitInterceptor } from "./rate-limiter.js";
import { createApiKeyService } from "./service.js";
import { createApiKeyStore } from "./store.js";

/** API keys and the limits every caller is held to. */
export interface AuthModule extends Module {
  /** Development without keys: the server binds to loopback and refuses other machines. */
  open: boolean;
  /** The address to bind: loopback when open. */
  host: string;
}

/**
 * Creates the auth domain: resolves whether the server runs with keys (bootstrapping the
 * admin key when one is configured), and the interceptors that authenticate callers and hold
 * each key to its rate, stream and read limits.
 */
export async function createAuthModule(deps: {
  config: Config;
  database: Database;
  audit: AuditStore;
  clock: Clock;
  logger: Logger;
}): Promise<AuthModule> {
  const { config, database, audit, clock, logger } = deps;
  // Keys are checked on the lookup pool: authentication must not queue behind writes.
  const keys = createApiKeyService({ store: createApiKeyStore(database.lookups), audit, clock });
  const access = await resolveAccessMode({
    keys,
    bootstrapAdminKey: config.bootstrapAdminKey,
    environment: config.environment,
    host: config.host,
    logger,
  });
  return {
    name: "auth",
    open: access.open,
    host: access.host,
    interceptors: [
      createAuthInterceptor({ keys, open: access.open }),
      createCallLimitInterceptor({
        perSecond: config.rateLimitPerSecond,
        burst: config.rateLimitBurst,
        maxStreams: config.maxStreamsPerKey,
        maxReads: config.maxConcurrentReadsPerKey,
      }),
      createRateLimitInterceptor(database.knex, {
        perMinute: config.billingRateLimitPerMinute,
        burst: config.billingRateLimitBurst,
      }),
    ],
  };
}
