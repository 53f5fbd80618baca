import type { Knex } from "knex";

/**
 * API keys, stored as SHA-256 hashes of the whole key (keys are 190 random bits, so a fast
 * hash is as strong as a slow one and costs nothing per call) with the visible prefix that
 * identifies a key in listings, logs and the audit trail. Rate-limit buckets live in the
 * database so one key's limit holds across every replica.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("api_keys", (t) => {
    t.text("prefix").primary();
    t.text("secret_hash").notNullable();
    t.text("role").notNullable();
    t.uuid("tenant_id");
    t.text("description").notNullable().defaultTo("");
    t.timestamp("create_time", { useTz: true }).notNullable();
    t.timestamp("revoke_time", { useTz: true });
  });
  await knex.raw(`
    alter table api_keys add constraint api_keys_role_check check (
      (role = 'admin' and tenant_id is null) or (role = 'tenant' and tenant_id is not null))`);

  await knex.schema.createTable("rate_limit_buckets", (t) => {
    t.text("key").primary();
    t.decimal("tokens", null).notNullable();
    t.timestamp("update_time", { useTz: true }).notNullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable("rate_limit_buckets");
  await knex.schema.dropTable("api_keys");
}
