import type { Knex } from "knex";

/**
 * Customers and subscriptions, the source of truth that entitlements read, plus what makes
 * billing mutations safe to retry and to race: the first result of every `request_id`, and a
 * per-tenant lease held across the provider call. The partial unique index is the last word
 * on "at most one live subscription per tenant", whatever the application does.
 *
 * The `mock_billing_*` tables belong to the built-in mock provider, which keeps its objects in
 * the database so that every replica sees the same "remote" provider, as with Stripe.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("customers", (t) => {
    t.text("id").primary();
    t.uuid("tenant_id").notNullable().unique({ indexName: "customers_tenant_id_key" });
    t.text("email").notNullable();
    t.text("name").notNullable().defaultTo("");
    t.jsonb("metadata").notNullable().defaultTo("{}");
    t.timestamp("create_time", { useTz: true }).notNullable();
  });

  await knex.schema.createTable("subscriptions", (t) => {
    t.text("id").primary();
    t.uuid("tenant_id").notNullable();
    t.text("customer_id").notNullable().references("customers.id");
    t.text("plan_id").notNullable();
    t.text("price_id").notNullable();
    t.text("state").notNullable();
    t.timestamp("trial_end_time", { useTz: true });
    t.timestamp("current_period_start_time", { useTz: true }).notNullable();
    t.timestamp("current_period_end_time", { useTz: true }).notNullable();
    t.timestamp("billing_cycle_anchor_time", { useTz: true }).notNullable();
    t.boolean("cancel_at_period_end").notNullable().defaultTo(false);
    t.timestamp("cancel_time", { useTz: true });
    t.text("proration_behavior");
    t.timestamp("create_time", { useTz: true }).notNullable();
    t.integer("version").notNullable().defaultTo(1);
    t.index(["tenant_id", "create_time", "id"], "subscriptions_tenant_time_idx");
  });
  await knex.raw(`
    alter table subscriptions add constraint subscriptions_state_check
      check (state in ('trialing', 'active', 'past_due', 'canceled', 'incomplete'))`);
  await knex.raw(`
    create unique index subscriptions_one_live_per_tenant on subscriptions (tenant_id)
      where state in ('trialing', 'active', 'past_due')`);
  await knex.raw(`
    create index subscriptions_live_period_end_idx on subscriptions (current_period_end_time)
      where state in ('trialing', 'active', 'past_due')`);

  await knex.schema.createTable("billing_requests", (t) => {
    t.uuid("tenant_id").notNullable();
    t.text("request_id").notNullable();
    t.text("operation").notNullable();
    t.text("fingerprint").notNullable();
    t.jsonb("response").notNullable();
    t.timestamp("create_time", { useTz: true }).notNullable();
    t.primary(["tenant_id", "request_id"]);
  });

  await knex.schema.createTable("billing_leases", (t) => {
    t.uuid("tenant_id").primary();
    t.text("holder").notNullable();
    t.timestamp("expire_time", { useTz: true }).notNullable();
  });

  await knex.schema.createTable("mock_billing_objects", (t) => {
    t.text("id").primary();
    t.text("kind").notNullable();
    t.jsonb("data").notNullable();
  });
  await knex.schema.createTable("mock_billing_requests", (t) => {
    t.text("idempotency_key").primary();
    t.jsonb("response").notNullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const table of [
    "mock_billing_requests",
    "mock_billing_objects",
    "billing_leases",
    "billing_requests",
    "subscriptions",
    "customers",
  ]) {
    await knex.schema.dropTable(table);
  }
}
