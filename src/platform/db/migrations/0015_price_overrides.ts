import type { Knex } from "knex";

/**
 * Negotiated prices (`src/prices`): `price_overrides` holds a tenant's price for one counter
 * (a resource's total or a dimension limit, by `counterName`) from `start_time` until
 * `end_time` (null: until deleted; a deletion ends it at that moment and records when).
 * `pricing` is the catalog's `pricing` object, in `currency`. `provider_price_id` and
 * `provider_phase` track its life at the billing provider: `none` until the price is swapped
 * onto the subscription (`applied`) when it starts, `restored` once the plan's price is back.
 * Keyed by tenant first, as every tenant table is, and without triggers.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("price_overrides", (t) => {
    t.uuid("tenant_id").notNullable();
    t.text("id").notNullable();
    t.text("resource_type").notNullable();
    t.jsonb("pricing").notNullable();
    t.text("currency").notNullable();
    t.timestamp("start_time", { useTz: true }).notNullable();
    t.timestamp("end_time", { useTz: true });
    t.timestamp("create_time", { useTz: true }).notNullable();
    t.timestamp("delete_time", { useTz: true });
    t.text("provider_price_id");
    t.text("provider_phase").notNullable().defaultTo("none");
    t.primary(["tenant_id", "id"]);
    t.index(["tenant_id", "resource_type", "start_time"], "price_overrides_tenant_idx");
  });
  await knex.raw(`
    alter table price_overrides
      add constraint price_overrides_range check (end_time is null or end_time > start_time),
      add constraint price_overrides_phase check (provider_phase in ('none', 'applied', 'restored'))`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable("price_overrides");
}
