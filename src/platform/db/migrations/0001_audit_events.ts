import type { Knex } from "knex";

/**
 * The audit trail of billing mutations and key changes. Rows are only ever inserted, in the
 * same transaction as the change they describe; the index serves newest-first keyset pages.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("audit_events", (t) => {
    t.uuid("id").primary().defaultTo(knex.raw("gen_random_uuid()"));
    t.text("actor").notNullable();
    t.text("action").notNullable();
    t.uuid("tenant_id");
    t.text("target").notNullable().defaultTo("");
    t.text("request_id").notNullable().defaultTo("");
    t.jsonb("before");
    t.jsonb("after");
    t.timestamp("create_time", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(["tenant_id", "create_time", "id"], "audit_events_tenant_time_idx");
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable("audit_events");
}
