import type { AuditStore } from "../audit/store.js";
import type { Actor } from "../platform/calls/actor.js";
import type { Clock } from "../platform/clock/clock.js";
import type { Config } from "../platform/config/config.js";
import type { Database } from "../platform/db/database.js";
import type { Logger } from "../platform/observability/logger.js";
import type { Module } from "../platform/server/module.js";
import { resolveAccessMode } from "./access-mode.js";
import { authenticate, createAuthInterceptor } from "./auth-interceptor.js";
import { createCallLimits } from "./call-limits.js";
import { createRateLimitInterceptor } from "./rate-limiter.js";
import { createApiKeyService } from "./service.js";
import { createApiKeyStore } from "./store.js";

/** API keys and the limits every caller is held to. */
export interface AuthModule extends Module {
  /** Development without keys: the server binds to loopback and refuses other machines. */
  open: boolean;
  /** The address to bind: loopback when open. */
  host: string;
  /**
   * Authenticates a plain-HTTP request by its `authorization` header (undefined: none) and
   * counts it against its key's rate, as the interceptors do for RPCs; the actor it acts as.
   */
  gate(authorization: string | undefined): Promise<Actor>;
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
  const limits = createCallLimits({
    perSecond: config.rateLimitPerSecond,
    burst: config.rateLimitBurst,
    maxStreams: config.maxStreamsPerKey,
    maxReads: config.maxConcurrentReadsPerKey,
  });
  const checked = { keys, open: access.open };
  return {
    name: "auth",
    open: access.open,
    host: access.host,
    async gate(authorization) {
      const principal = await authenticate(checked, authorization ?? null);
      limits.takeCall(principal);
      return { id: principal.actor, tenantId: principal.tenantId };
    },
    interceptors: [
      createAuthInterceptor(checked),
      limits.interceptor,
      createRateLimitInterceptor(database.knex, {
        perMinute: config.billingRateLimitPerMinute,
        burst: config.billingRateLimitBurst,
      }),
    ],
  };
}
