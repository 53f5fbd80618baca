import type { Knex } from "knex";

/**
 * Usage counters, reservations and the first answers of idempotency keys. A counter row per
 * (tenant, resource, period) holds `used` and `reserved`; every admission is one conditional
 * upsert on it, which is what keeps the admitted total within the limit under any concurrency.
 * Allocations, which never reset, use the fixed period 1970-01-01.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("usage_counters", (t) => {
    t.uuid("tenant_id").notNullable();
    t.text("resource_type").notNullable();
    t.timestamp("period_start", { useTz: true }).notNullable();
    t.decimal("used", null).notNullable().defaultTo(0);
    t.decimal("reserved", null).notNullable().defaultTo(0);
    t.primary(["tenant_id", "resource_type", "period_start"]);
  });
  await knex.raw(`
    alter table usage_counters add constraint usage_counters_non_negative
      check (used >= 0 and reserved >= 0)`);

  await knex.schema.createTable("reservations", (t) => {
    t.uuid("id").primary();
    t.uuid("tenant_id").notNullable();
    t.text("resource_type").notNullable();
    t.timestamp("period_start", { useTz: true }).notNullable();
    t.decimal("quantity", null).notNullable();
    t.text("state").notNullable();
    t.timestamp("expire_time", { useTz: true }).notNullable();
    t.decimal("committed_quantity", null);
    t.timestamp("create_time", { useTz: true }).notNullable();
  });
  await knex.raw(`
    alter table reservations add constraint reservations_state_check
      check (state in ('held', 'committed', 'released', 'expired'))`);
  await knex.raw(`
    create index reservations_held_expiry_idx on reservations (expire_time)
      where state = 'held'`);

  await knex.schema.createTable("entitlement_requests", (t) => {
    t.uuid("tenant_id").notNullable();
    t.text("idempotency_key").notNullable();
    t.text("operation").notNullable();
    t.text("fingerprint").notNullable();
    t.jsonb("response");
    t.timestamp("create_time", { useTz: true }).notNullable();
    t.primary(["tenant_id", "idempotency_key"]);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable("entitlement_requests");
  await knex.schema.dropTable("reservations");
  await knex.schema.dropTable("usage_counters");
}
