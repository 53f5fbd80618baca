import type { AuditStore } from "../audit/store.js";
import { createTtlCache } from "../platform/cache/ttl-cache.js";
import type { Clock } from "../platform/clock/clock.js";
import {
  apiKeyMatches,
  generateApiKey,
  hashApiKey,
  parseApiKey,
} from "../platform/crypto/api-key.js";
import {
  FailedPreconditionError,
  NotFoundError,
  UnauthenticatedError,
} from "../platform/errors/domain-error.js";
import type { Principal } from "../platform/server/request-context.js";
import { type RawNewKey, validateNewKey } from "./inputs.js";
import type { ApiKey, ApiKeyStore } from "./store.js";

/** Issues, lists, revokes and checks API keys. */
export interface ApiKeyService {
  /** Makes a key; the returned `key` text is the only time the secret exists in the clear. */
  create(
    actor: string,
    input: RawNewKey,
  ): Promise<{
    key: string;
    apiKey: ApiKey;
  }>;
  list(): Promise<ApiKey[]>;
  revoke(actor: string, prefix: string): Promise<ApiKey>;
  /**
   * Makes sure the operator's bootstrap admin key exists (for container deployments). A key
   * that was revoked stays revoked; a different key under the same prefix is refused.
   */
  ensureBootstrapKey(key: string): Promise<"created" | "present" | "revoked">;
  /** Resolves a bearer key to its principal, or fails with Unauthenticated. */
  authenticate(key: string): Promise<Principal>;
  hasActiveKeys(): Promise<boolean>;
}

/** Creates the API key service; every key change is audited in its own transaction. */
export function createApiKeyService(deps: {
  store: ApiKeyStore;
  audit: AuditStore;
  clock: Clock;
}): ApiKeyService {
  const { store, audit, clock } = deps;
  // Keys verified lately, by the key itself: a busy key costs one lookup per TTL rather than
  // one per call, so a flood of calls cannot queue everyone's authentication behind its own.
  const verified = createTtlCache<Principal>({
    ttlMs: VERIFIED_KEY_TTL_MS,
    maxEntries: MAX_VERIFIED_KEYS,
  });

  const verify = async (key: string, prefix: string): Promise<Principal> => {
    const found = await store.find(prefix);
    if (found === undefined || !apiKeyMatches(key, found.secretHash)) {
      throw new UnauthenticatedError("the API key is not valid");
    }
    if (found.revokeTime !== undefined) {
      throw new UnauthenticatedError(`the API key ${found.prefix} has been revoked`);
    }
    return { role: found.role, actor: found.prefix, tenantId: found.tenantId };
  };

  const insertAudited = async (actor: string, apiKey: ApiKey, secretHash: string) => {
    await store.transaction(async (trx) => {
      await store.insert(trx, apiKey, secretHash);
      await audit.insert(trx, {
        actor,
        action: "api_key.create",
        tenantId: apiKey.tenantId,
        target: apiKey.prefix,
        requestId: "",
        createTime: apiKey.createTime,
        before: undefined,
        after: describeKey(apiKey),
      });
    });
  };

  return {
    async create(actor, input) {
      validateNewKey(input);
      const { prefix, key } = generateApiKey();
      const tenantId = input.tenantId?.toLowerCase();
      const apiKey: ApiKey = {
        prefix,
        role: tenantId === undefined ? "admin" : "tenant",
        tenantId,
        description: input.description ?? "",
        createTime: clock.now(),
        revokeTime: undefined,
      };
      await insertAudited(actor, apiKey, hashApiKey(key));
      return { key, apiKey };
    },

    list: () => store.list(),

    async revoke(actor, prefix) {
      const found = await store.find(prefix);
      if (found === undefined) throw new NotFoundError(`no API key has the prefix ${prefix}`);
      const { secretHash: _hash, ...before } = found;
      const after: ApiKey = { ...before, revokeTime: clock.now() };
      await store.transaction(async (trx) => {
        if (!(await store.revoke(trx, prefix, after.revokeTime as Date))) {
          throw new FailedPreconditionError(`API key ${prefix} is already revoked`);
        }
        await audit.insert(trx, {
          actor,
          action: "api_key.revoke",
          tenantId: after.tenantId,
          target: prefix,
          requestId: "",
          createTime: clock.now(),
          before: describeKey(before),
          after: describeKey(after),
        });
      });
      return after;
    },

    async ensureBootstrapKey(key) {
      const parsed = parseApiKey(key);
      if (parsed === undefined) throw new Error("the bootstrap key does not have the key format");
      const found = await store.find(parsed.prefix);
      if (found === undefined) {
        const apiKey: ApiKey = {
          prefix: parsed.prefix,
          role: "admin",
          tenantId: undefined,
          description: "bootstrap admin key (TOLLGATE_BOOTSTRAP_ADMIN_KEY)",
          createTime: clock.now(),
          revokeTime: undefined,
        };
        await insertAudited("bootstrap", apiKey, hashApiKey(key));
        return "created";
      }
      if (!apiKeyMatches(key, found.secretHash)) {
        throw new Error(`a different key with the prefix ${parsed.prefix} already exists`);
      }
      return found.revokeTime === undefined ? "present" : "revoked";
    },

    async authenticate(key) {
      const parsed = parseApiKey(key);
      if (parsed === undefined) throw new UnauthenticatedError("the API key is malformed");
      // Concurrent calls with one key share a single lookup; a refusal is not kept.
      return verified.get(key, () => verify(key, parsed.prefix));
    },

    hasActiveKeys: async () => (await store.countActive()) > 0,
  };
}

/**
 * How long a verified key is trusted without asking the database again: also how long a
 * revoked key may still work on a replica that verified it just before.
 */
const VERIFIED_KEY_TTL_MS = 5_000;
const MAX_VERIFIED_KEYS = 10_000;

function describeKey(key: ApiKey): Record<string, unknown> {
  return JSON.parse(JSON.stringify(key)) as Record<string, unknown>;
}
