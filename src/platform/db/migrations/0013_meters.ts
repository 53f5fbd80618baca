import type { Knex } from "knex";

/**
 * Meters (`src/catalog/catalog.ts` `Meter`): each counter keeps its aggregation, a `latest`
 * counter the time and key of the usage it holds (a late event older than that changes
 * nothing), and a `unique_count` counter its members in `meter_members`, one row per distinct
 * member per counter and period, so a member is counted once however often it comes back. A
 * dimension limit's counter is a row of `usage_counters` like any other, named by the resource
 * and its dimension values (`counterName`); a reservation of usage with dimension limits
 * holds on each of them (`parts`: the counters besides its own).
 *
 * `usage_rollups` holds usage events aggregated per resource, quarter hour and dimension
 * values (sum, count, maximum, and the latest value with its time and event id), so usage
 * reports over a month read thousands of rows instead of millions: every zone's hours, days
 * and months are whole quarter hours. Ingestion adds to it in the flush's transaction, keeping
 * of each event's attributes only its meter's dimensions (`kept`, so a user id does not make
 * a row per event); the events stored before this migration are rolled up here once with all
 * their attributes (`kept` null: every attribute).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    alter table usage_counters
      add column aggregation text not null default 'sum',
      add column latest_time timestamptz,
      add column latest_key text`);
  await knex.raw("alter table reservations add column parts text[] not null default '{}'");
  await knex.raw(`
    create table meter_members (
      tenant_id uuid not null,
      resource_type text not null,
      period_start timestamptz not null,
      member text not null,
      primary key (tenant_id, resource_type, period_start, member)
    )`);
  await knex.raw(`
    create table usage_rollups (
      tenant_id uuid not null,
      resource_type text not null,
      bucket_start timestamptz not null,
      attributes jsonb not null,
      quantity numeric not null,
      events bigint not null,
      max numeric not null,
      latest numeric not null,
      latest_time timestamptz not null,
      latest_key text not null,
      kept text[],
      primary key (tenant_id, resource_type, bucket_start, attributes)
    )`);
  await knex.raw(`
    insert into usage_rollups (tenant_id, resource_type, bucket_start, attributes, quantity,
      events, max, latest, latest_time, latest_key)
    select tenant_id, resource_type, date_bin('15 minutes', occur_time, '2000-01-01'),
      attributes, sum(quantity), count(*), max(quantity),
      (array_agg(quantity order by occur_time desc, event_id desc))[1], max(occur_time),
      (array_agg(event_id order by occur_time desc, event_id desc))[1]
    from usage_events
    group by 1, 2, 3, 4`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable("usage_rollups");
  await knex.raw("alter table reservations drop column parts");
  await knex.schema.dropTable("meter_members");
  await knex.raw(`
    alter table usage_counters
      drop column aggregation, drop column latest_time, drop column latest_key`);
}
