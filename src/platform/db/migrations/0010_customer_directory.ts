import type { Knex } from "knex";

/**
 * Indexes for the operator console's customer directory: customers newest first (the
 * keyset order of `ListCustomers`) and each customer's subscriptions newest first (its latest
 * subscription, looked up per listed customer and per customer when counting).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw("create index customers_create_time_idx on customers (create_time desc, id desc)");
  await knex.raw(
    "create index subscriptions_customer_time_idx on subscriptions (customer_id, create_time desc, id desc)",
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw("drop index subscriptions_customer_time_idx");
  await knex.raw("drop index customers_create_time_idx");
}
