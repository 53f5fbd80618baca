import type { Knex } from "knex";

/**
 * Pricing. Negotiated prices (`src/prices`): `price_overrides` holds a tenant's price for one counter
 * (a resource's total or a dimension limit, by `counterName`) from `start_time` until
 * `end_time` (null: until deleted; a deletion ends it at that moment and records when).
 * `pricing` is the catalog's `pricing` object, in `currency`. `provider_price_id` and
 * `provider_phase` track its life at the billing provider: `none` until the price is swapped
 * onto the subscription (`applied`) when it starts, `restored` once the plan's price is back.
 *
 * `minimum_true_ups` records the charge added to a provider's invoice when a period's usage
 * came to less than the plan's minimum, one per invoice: `pending` while it is being added,
 * `added` once the provider has it, so a redelivered webhook or a second replica adds nothing.
 *
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
  await knex.schema.createTable("minimum_true_ups", (t) => {
    t.uuid("tenant_id").notNullable();
    t.text("invoice_id").notNullable();
    t.decimal("amount", null).notNullable();
    t.text("currency").notNullable();
    t.text("state").notNullable();
    t.timestamp("create_time", { useTz: true }).notNullable();
    t.primary(["tenant_id", "invoice_id"]);
  });
  await knex.raw(`
    alter table minimum_true_ups
      add constraint minimum_true_ups_state check (state in ('pending', 'added')),
      add constraint minimum_true_ups_amount check (amount > 0)`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable("minimum_true_ups");
  await knex.schema.dropTable("price_overrides");
}
