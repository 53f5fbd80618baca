import type { Knex } from "knex";

// The tenant of admin actions' audit rows; fixed here as the migration ran.
const NIL_TENANT = "00000000-0000-0000-0000-000000000000";

/**
 * Keys that a database distributed by tenant can enforce (docs/scaling.md). Every
 * tenant-scoped table gets `tenant_id` first in its primary key, in every unique key and in
 * every foreign key between tenant tables, so each key is checked on one shard:
 *
 * - `audit_events` rows of admin actions (no tenant) move to the operator's own tenant, the
 *   nil UUID, so every row names a tenant (reads show it as "no tenant" again);
 * - `customers`, `subscriptions`, `reservations`, `credit_grants`, `meter_reports` are keyed
 *   by (tenant, id), and a subscription references its customer by (tenant, customer);
 * - `counter_settle_queue` loses its global sequence for a random id;
 * - `events` are numbered per tenant (`seq` restarts at 1 for each tenant), with the next
 *   number in `event_heads`, so no sequence orders events across tenants; a dedupe key is
 *   unique within its tenant; the index on (create_time, tenant_id, seq) serves the
 *   cross-tenant stream, which merges tenants by time (`src/events/README.md`);
 * - `webhook_deliveries` and `webhook_attempts` gain the tenant of their event.
 *
 * Tables that are not tenant-scoped (API keys, rate-limit buckets, webhook endpoints, Stripe
 * event ids, the mock provider's objects, the installed function set) keep their keys: on a
 * distributed database they are reference tables, copied to every node.
 */
// Tables whose own id was their key: (tenant, id) now.
const REKEYED = [
  ["reservations", "id"],
  ["credit_grants", "id"],
  ["meter_reports", "identifier"],
] as const;

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`update audit_events set tenant_id = '${NIL_TENANT}' where tenant_id is null`);
  await knex.raw(`
    alter table audit_events alter column tenant_id set not null,
      drop constraint audit_events_pkey, add primary key (tenant_id, id)`);

  await knex.raw(`
    alter table subscriptions drop constraint subscriptions_customer_id_foreign,
      drop constraint subscriptions_pkey, add primary key (tenant_id, id)`);
  await knex.raw(`
    alter table customers drop constraint customers_pkey, add primary key (tenant_id, id)`);
  await knex.raw(`
    alter table subscriptions add constraint subscriptions_customer_fkey
      foreign key (tenant_id, customer_id) references customers (tenant_id, id)`);
  await knex.raw("drop index subscriptions_customer_time_idx");
  await knex.raw(`
    create index subscriptions_customer_time_idx
      on subscriptions (tenant_id, customer_id, create_time desc, id desc)`);

  for (const [table, id] of REKEYED) {
    await knex.raw(`
      alter table ${table} drop constraint ${table}_pkey, add primary key (tenant_id, ${id})`);
  }

  await knex.raw(`
    alter table counter_settle_queue drop constraint counter_settle_queue_pkey,
      drop column id`);
  await knex.raw(`
    alter table counter_settle_queue add column id uuid not null default gen_random_uuid(),
      add primary key (tenant_id, id)`);

  await eventsPerTenant(knex);
  await deliveriesPerTenant(knex);
}

/** Renumbers the event log per tenant, in the order it had, and keys it by (tenant, seq). */
async function eventsPerTenant(knex: Knex): Promise<void> {
  await knex.raw(`
    alter table webhook_deliveries drop constraint webhook_deliveries_event_id_foreign`);
  await knex.raw("delete from events where tenant_id is null");
  await knex.raw(`
    alter table events add column tenant_seq bigint, alter column tenant_id set not null`);
  await knex.raw(`
    update events e set tenant_seq = n.seq
    from (select id, row_number() over (partition by tenant_id order by seq) as seq
          from events) n
    where e.id = n.id`);
  await knex.raw(`
    alter table events drop constraint events_pkey, drop constraint events_dedupe_key_unique,
      drop column seq`);
  await knex.raw("alter table events rename column tenant_seq to seq");
  await knex.raw(`
    alter table events alter column seq set not null, add primary key (tenant_id, seq),
      add constraint events_tenant_id_key unique (tenant_id, id),
      add constraint events_tenant_dedupe_key unique (tenant_id, dedupe_key)`);
  await knex.raw("drop index if exists events_tenant_seq_idx");
  await knex.raw("create index events_time_idx on events (create_time, tenant_id, seq)");

  await knex.schema.createTable("event_heads", (t) => {
    t.uuid("tenant_id").primary();
    t.bigInteger("seq").notNullable();
  });
  await knex.raw(`
    insert into event_heads (tenant_id, seq)
    select tenant_id, max(seq) from events group by tenant_id`);
}

/** Gives deliveries and attempts the tenant of their event, first in their keys. */
async function deliveriesPerTenant(knex: Knex): Promise<void> {
  await knex.raw(`
    alter table webhook_attempts drop constraint webhook_attempts_delivery_id_foreign,
      drop constraint webhook_attempts_pkey, add column tenant_id uuid`);
  await knex.raw(`
    alter table webhook_deliveries drop constraint webhook_deliveries_pkey,
      drop constraint webhook_deliveries_endpoint_id_event_id_unique, add column tenant_id uuid`);
  await knex.raw(`
    update webhook_deliveries d set tenant_id = e.tenant_id from events e where e.id = d.event_id`);
  await knex.raw("delete from webhook_deliveries where tenant_id is null");
  await knex.raw(`
    update webhook_attempts a set tenant_id = d.tenant_id
    from webhook_deliveries d where d.id = a.delivery_id`);
  await knex.raw("delete from webhook_attempts where tenant_id is null");
  await knex.raw(`
    alter table webhook_deliveries alter column tenant_id set not null,
      add primary key (tenant_id, id),
      add constraint webhook_deliveries_event_fkey foreign key (tenant_id, event_id)
        references events (tenant_id, id),
      add constraint webhook_deliveries_once unique (tenant_id, endpoint_id, event_id)`);
  await knex.raw(`
    alter table webhook_attempts alter column tenant_id set not null,
      add primary key (tenant_id, delivery_id, attempt),
      add constraint webhook_attempts_delivery_fkey foreign key (tenant_id, delivery_id)
        references webhook_deliveries (tenant_id, id) on delete cascade`);
}

/**
 * Back to global keys. Per-tenant event numbers cannot become one commit order again: they
 * are renumbered by time, then tenant, then number.
 */
export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    alter table webhook_attempts drop constraint webhook_attempts_delivery_fkey,
      drop constraint webhook_attempts_pkey, drop column tenant_id,
      add primary key (delivery_id, attempt)`);
  await knex.raw(`
    alter table webhook_deliveries drop constraint webhook_deliveries_event_fkey,
      drop constraint webhook_deliveries_once, drop constraint webhook_deliveries_pkey,
      drop column tenant_id, add primary key (id),
      add constraint webhook_deliveries_endpoint_id_event_id_unique unique (endpoint_id, event_id)`);
  await knex.raw(`
    alter table webhook_attempts add constraint webhook_attempts_delivery_id_foreign
      foreign key (delivery_id) references webhook_deliveries (id) on delete cascade`);

  await knex.schema.dropTable("event_heads");
  await knex.raw("drop index events_time_idx");
  await knex.raw(`
    alter table events drop constraint events_tenant_dedupe_key,
      drop constraint events_tenant_id_key, drop constraint events_pkey,
      alter column tenant_id drop not null, add column global_seq bigint`);
  await knex.raw(`
    update events e set global_seq = n.seq
    from (select id, row_number() over (order by create_time, tenant_id, seq) as seq
          from events) n
    where e.id = n.id`);
  await knex.raw("alter table events drop column seq");
  await knex.raw("alter table events rename column global_seq to seq");
  await knex.raw("alter table events alter column seq set not null");
  await knex.raw(`
    alter table events alter column seq add generated always as identity,
      add primary key (id), add constraint events_seq_unique unique (seq),
      add constraint events_dedupe_key_unique unique (dedupe_key)`);
  await knex.raw(`
    select setval(pg_get_serial_sequence('events', 'seq'), coalesce(max(seq), 0) + 1, false)
    from events`);
  await knex.raw("create index events_tenant_seq_idx on events (tenant_id, seq)");
  await knex.raw(`
    alter table webhook_deliveries add constraint webhook_deliveries_event_id_foreign
      foreign key (event_id) references events (id)`);

  await knex.raw(`
    alter table counter_settle_queue drop constraint counter_settle_queue_pkey, drop column id`);
  await knex.raw("alter table counter_settle_queue add column id bigserial primary key");

  for (const [table, id] of REKEYED) {
    await knex.raw(`alter table ${table} drop constraint ${table}_pkey, add primary key (${id})`);
  }

  await knex.raw("drop index subscriptions_customer_time_idx");
  await knex.raw(`
    create index subscriptions_customer_time_idx
      on subscriptions (customer_id, create_time desc, id desc)`);
  await knex.raw(`
    alter table subscriptions drop constraint subscriptions_customer_fkey,
      drop constraint subscriptions_pkey, add primary key (id)`);
  await knex.raw(`
    alter table customers drop constraint customers_pkey, add primary key (id)`);
  await knex.raw(`
    alter table subscriptions add constraint subscriptions_customer_id_foreign
      foreign key (customer_id) references customers (id)`);

  await knex.raw(`
    alter table audit_events drop constraint audit_events_pkey, add primary key (id),
      alter column tenant_id drop not null`);
  await knex.raw(`update audit_events set tenant_id = null where tenant_id = '${NIL_TENANT}'`);
}
