import type { Knex } from "knex";

/**
 * Usage reported to the billing provider's meters, exactly once. `meter_positions` holds, per
 * counter (tenant, resource, period), the whole units already handed to the outbox; each new
 * delta is written to `meter_reports` with its identifier and value in the same transaction
 * that advances the position, before anything is sent. A delta's value never changes, so a
 * re-send after a crash carries the same identifier and value, which the provider dedupes.
 * At most one delta per counter is pending at a time, so one customer's meter never receives
 * two calls at once. `mock_meter_events` is the mock provider's side: what Stripe would hold.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("meter_positions", (t) => {
    t.uuid("tenant_id").notNullable();
    t.text("resource_type").notNullable();
    t.timestamp("period_start", { useTz: true }).notNullable();
    t.decimal("reported", null).notNullable().defaultTo(0);
    t.primary(["tenant_id", "resource_type", "period_start"]);
  });

  await knex.schema.createTable("meter_reports", (t) => {
    t.text("identifier").primary();
    t.uuid("tenant_id").notNullable();
    t.text("resource_type").notNullable();
    t.timestamp("period_start", { useTz: true }).notNullable();
    t.text("customer_id").notNullable();
    t.text("event_name").notNullable();
    t.decimal("value", null).notNullable();
    t.timestamp("event_time", { useTz: true }).notNullable();
    t.text("state").notNullable();
    t.integer("attempts").notNullable().defaultTo(0);
    t.timestamp("next_attempt_time", { useTz: true }).notNullable();
    t.timestamp("first_attempt_time", { useTz: true });
    t.timestamp("sent_time", { useTz: true });
    t.text("last_error");
    t.timestamp("create_time", { useTz: true }).notNullable();
  });
  await knex.raw(`
    alter table meter_reports add constraint meter_reports_state_check
      check (state in ('pending', 'sent', 'failed'))`);
  await knex.raw(`
    alter table meter_reports add constraint meter_reports_whole_positive
      check (value > 0 and value = trunc(value))`);
  await knex.raw(`
    create index meter_reports_due_idx on meter_reports (next_attempt_time)
      where state = 'pending'`);
  await knex.raw(`
    create unique index meter_reports_one_pending on meter_reports
      (tenant_id, resource_type, period_start) where state = 'pending'`);

  await knex.schema.createTable("mock_meter_events", (t) => {
    t.text("identifier").primary();
    t.text("customer_id").notNullable();
    t.text("event_name").notNullable();
    t.decimal("value", null).notNullable();
    t.timestamp("event_time", { useTz: true }).notNullable();
    t.timestamp("create_time", { useTz: true }).notNullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable("mock_meter_events");
  await knex.schema.dropTable("meter_reports");
  await knex.schema.dropTable("meter_positions");
}
