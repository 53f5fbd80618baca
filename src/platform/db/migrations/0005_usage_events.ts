import type { Knex } from "knex";

/**
 * Usage events as ingested, one row per (tenant, client-chosen event id): the primary key is
 * what makes delivery effectively-once, since a redelivered event conflicts and is skipped.
 * `period_start` records which counter period the event was added to.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("usage_events", (t) => {
    t.uuid("tenant_id").notNullable();
    t.text("event_id").notNullable();
    t.text("resource_type").notNullable();
    t.decimal("quantity", null).notNullable();
    t.timestamp("occur_time", { useTz: true }).notNullable();
    t.jsonb("attributes").notNullable().defaultTo("{}");
    t.timestamp("period_start", { useTz: true }).notNullable();
    t.timestamp("ingest_time", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(["tenant_id", "event_id"]);
    t.index(["tenant_id", "occur_time"], "usage_events_tenant_time_idx");
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable("usage_events");
}
