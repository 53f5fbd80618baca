import { ConfigError } from "../platform/config/config.js";
import type { Logger } from "../platform/observability/logger.js";
import type { ApiKeyService } from "./service.js";

/** How the server admits callers, decided once at start-up. */
export interface AccessMode {
  /** True when no keys exist outside production: calls without a key act as admin. */
  open: boolean;
  /** The interface to bind: loopback whenever the server runs open. */
  host: string;
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;

/** Whether a bind address is loopback, so only this machine can reach the server. */
export function isLoopbackHost(host: string): boolean {
  return LOOPBACK.test(host);
}

/**
 * Ensures the bootstrap admin key, then decides between locked and open mode. Production
 * never runs open: without any active key it refuses to start. Elsewhere an open server binds
 * to loopback only, whatever `HOST` says, and says so loudly, so a forgotten key cannot expose
 * an unauthenticated billing API to the network.
 */
export async function resolveAccessMode(options: {
  keys: ApiKeyService;
  bootstrapAdminKey: string | undefined;
  environment: string;
  host: string;
  logger: Logger;
}): Promise<AccessMode> {
  const { keys, logger } = options;
  if (options.bootstrapAdminKey !== undefined) {
    let outcome: Awaited<ReturnType<ApiKeyService["ensureBootstrapKey"]>>;
    try {
      outcome = await keys.ensureBootstrapKey(options.bootstrapAdminKey);
    } catch (error) {
      throw new ConfigError([`TOLLGATE_BOOTSTRAP_ADMIN_KEY: ${(error as Error).message}`]);
    }
    const prefix = options.bootstrapAdminKey.slice(0, 11);
    if (outcome === "revoked") {
      logger.warn({ prefix }, "the bootstrap admin key was revoked and stays revoked");
    } else {
      logger.info({ prefix, outcome }, "bootstrap admin key is in place");
    }
  }
  if (await keys.hasActiveKeys()) return { open: false, host: options.host };
  if (options.environment === "production") {
    throw new ConfigError([
      "no API keys exist: set TOLLGATE_BOOTSTRAP_ADMIN_KEY or run `npx tollgate keys create` (production never runs without authentication)",
    ]);
  }
  const host = isLoopbackHost(options.host) ? options.host : "127.0.0.1";
  logger.warn(
    { host, requestedHost: options.host },
    "NO API KEYS: serving WITHOUT AUTHENTICATION, on loopback only. Create a key with `npx tollgate keys create` and restart to lock the server down.",
  );
  return { open: true, host };
}
