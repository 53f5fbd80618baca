import type { Knex } from "knex";

/**
 * Rolling rate windows. `window_entries` holds what each admission batch counted on a windowed
 * counter: one row per tenant, resource and batch time (`admit_time`, the database's clock read
 * with the counter locked), with the quantity it added. The counter's `used` is the sum of the
 * rows still inside the window; the batch deletes the rows that have left it before deciding.
 * A counter holds at most one row per batch that admitted on it within one window's length.
 *
 * Keyed by tenant first, as every tenant table is, and without triggers.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("window_entries", (t) => {
    t.uuid("tenant_id").notNullable();
    t.text("resource_type").notNullable();
    t.timestamp("admit_time", { useTz: true }).notNullable();
    t.decimal("quantity", null).notNullable();
    t.primary(["tenant_id", "resource_type", "admit_time"]);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable("window_entries");
}
