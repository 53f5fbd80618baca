import type { Knex } from "knex";

/**
 * Stripe webhook deliveries already processed, by event id, so a redelivery changes nothing.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("stripe_events", (t) => {
    t.text("id").primary();
    t.text("type").notNullable();
    t.timestamp("create_time", { useTz: true }).notNullable();
    t.timestamp("process_time", { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable("stripe_events");
}
