/*
 * The API key table as the drivers return it, registered with knex so the store casts no
 * column.
 */

/** A row of `api_keys`: only the hash of the secret is kept. */
export interface ApiKeyRow {
  prefix: string;
  secret_hash: string;
  role: "admin" | "tenant";
  tenant_id: string | null;
  description: string;
  create_time: Date;
  revoke_time: Date | null;
}

declare module "knex/types/tables.js" {
  interface Tables {
    api_keys: ApiKeyRow;
  }
}
