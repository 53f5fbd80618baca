import type { Knex } from "knex";

/**
 * Meters (`src/catalog/catalog.ts` `Meter`): each counter keeps its aggregation, a `latest`
 * counter the time and key of the usage it holds (a late event older than that changes
 * nothing), and a `unique_count` counter its members in `meter_members`, one row per distinct
 * member per counter and period, so a member is counted once however often it comes back. A
 * dimension limit's counter is a row of `usage_counters` like any other, named by the resource
 * and its dimension values (`counterName`).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    alter table usage_counters
      add column aggregation text not null default 'sum',
      add column latest_time timestamptz,
      add column latest_key text`);
  await knex.raw(`
    create table meter_members (
      tenant_id uuid not null,
      resource_type text not null,
      period_start timestamptz not null,
      member text not null,
      primary key (tenant_id, resource_type, period_start, member)
    )`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable("meter_members");
  await knex.raw(`
    alter table usage_counters
      drop column aggregation, drop column latest_time, drop column latest_key`);
}
