import type { Knex } from "knex";
import type { ApiKeyRow } from "./rows.js";

/** A stored API key: never its secret, only the hash and the visible prefix. */
export interface ApiKey {
  prefix: string;
  role: "admin" | "tenant";
  /** Set for tenant keys: the one tenant they may read and record for. */
  tenantId: string | undefined;
  description: string;
  createTime: Date;
  revokeTime: Date | undefined;
}

/** Queries over `api_keys`. */
export interface ApiKeyStore {
  transaction<T>(work: (trx: Knex.Transaction) => Promise<T>): Promise<T>;
  insert(trx: Knex.Transaction, key: ApiKey, secretHash: string): Promise<void>;
  find(prefix: string): Promise<(ApiKey & { secretHash: string }) | undefined>;
  list(): Promise<ApiKey[]>;
  /** Marks a key revoked unless it already is; says whether it changed. */
  revoke(trx: Knex.Transaction, prefix: string, at: Date): Promise<boolean>;
  countActive(): Promise<number>;
}

/** Creates the API key store over the given connection. */
export function createApiKeyStore(knex: Knex): ApiKeyStore {
  return {
    transaction: (work) => knex.transaction(work),
    async insert(trx, key, secretHash) {
      await trx("api_keys").insert({
        prefix: key.prefix,
        secret_hash: secretHash,
        role: key.role,
        tenant_id: key.tenantId ?? null,
        description: key.description,
        create_time: key.createTime,
      });
    },
    async find(prefix) {
      const row = await knex("api_keys").where({ prefix }).first();
      return row && { ...fromDbApiKey(row), secretHash: row.secret_hash };
    },
    async list() {
      return (await knex("api_keys").orderBy("create_time")).map(fromDbApiKey);
    },
    async revoke(trx, prefix, at) {
      const changed = await trx("api_keys")
        .where({ prefix })
        .whereNull("revoke_time")
        .update({ revoke_time: at });
      return changed === 1;
    },
    async countActive() {
      const [row] = await knex("api_keys").whereNull("revoke_time").count({ n: "*" });
      return Number(row?.n ?? 0);
    },
  };
}

function fromDbApiKey(row: ApiKeyRow): ApiKey {
  return {
    prefix: row.prefix,
    role: row.role,
    tenantId: row.tenant_id ?? undefined,
    description: row.description,
    createTime: row.create_time,
    revokeTime: row.revoke_time ?? undefined,
  };
}
