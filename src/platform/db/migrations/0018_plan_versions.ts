import type { Knex } from "knex";

/**
 * Versioned plans and the test clock.
 *
 * - `catalog_versions`: every catalog pushed (`npx tollgate catalog push`, or the file that
 *   seeded an empty database), numbered from 1, with the version each plan has in it. Nothing
 *   is ever updated or deleted: a subscription on an earlier version reads its plan from here.
 * - `subscriptions.plan_version`: the version a subscription is on (rows from before this
 *   migration were on the seeded version 1); `scheduled_plan_version` and
 *   `scheduled_migration_time` a migration waiting for the period end; `provider_plan_version`
 *   a version applied here whose prices the provider does not carry yet (the provider
 *   migrations sweep moves them); `migration_proration_behavior` how the provider charges
 *   either move.
 * - `test_clock`: one row, how far business time runs ahead of the database's clock, in
 *   milliseconds; only ever increased, and never read in production.
 *
 * The two global tables are reference tables on a distributed database; none has a sequence
 * or a trigger.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("catalog_versions", (t) => {
    t.integer("version").primary();
    // json, not jsonb: the file's key order is the catalog's order (limits, features, meters).
    t.json("document").notNullable();
    t.jsonb("plan_versions").notNullable();
    t.text("pushed_by").notNullable();
    t.timestamp("push_time", { useTz: true }).notNullable();
  });
  await knex.schema.alterTable("subscriptions", (t) => {
    t.integer("plan_version").notNullable().defaultTo(1);
    t.integer("scheduled_plan_version");
    t.timestamp("scheduled_migration_time", { useTz: true });
    t.text("migration_proration_behavior");
    t.integer("provider_plan_version");
  });
  await knex.schema.createTable("test_clock", (t) => {
    t.integer("id").primary();
    t.bigInteger("offset_ms").notNullable();
    t.timestamp("update_time", { useTz: true }).notNullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable("test_clock");
  await knex.schema.alterTable("subscriptions", (t) => {
    t.dropColumn("provider_plan_version");
    t.dropColumn("migration_proration_behavior");
    t.dropColumn("scheduled_migration_time");
    t.dropColumn("scheduled_plan_version");
    t.dropColumn("plan_version");
  });
  await knex.schema.dropTable("catalog_versions");
}
