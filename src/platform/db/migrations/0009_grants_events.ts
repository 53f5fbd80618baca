import type { Knex } from "knex";

/**
 * Credit grants, per-tenant overrides, threshold alerts, the event log and webhook deliveries.
 *
 * - `entitlement_overrides`: a tenant's limit for one resource in place of its plan's, until
 *   `expire_time`; a null `limit_quantity` is unlimited.
 * - `credit_grants`: extra quantity for one tenant and resource. Consumption beyond the period's
 *   allowance draws on `remaining`, earliest expiry first; for allocations an active grant
 *   raises the ceiling by its `quantity`.
 * - `usage_counters` gains what settling needs: `granted` (drawn from grants this period),
 *   `settled_used` (usage already settled: drawn or counted as overage), `alerted` (the
 *   highest threshold fraction announced), `denied` (the period's first denial announced) and
 *   `watch_from` (the usage from which a change may draw grants or cross a threshold; null
 *   when nothing can). Below `watch_from` nothing settles, so the common call costs what it did.
 * - `counter_settle_queue`: counters changed where their limits are unknown (ingestion,
 *   reservation commits), settled by the sweep. Plain inserts without a unique key, so a
 *   writer never waits on the sweep's locks.
 * - `events`: the event log. `seq` orders it by commit: every writer takes one transaction
 *   advisory lock before inserting, so a reader that sees an event sees every earlier one,
 *   and a stream resumed after any event misses nothing. `dedupe_key` makes an event that
 *   must happen once (a threshold of a period, the first denial) a no-op the second time.
 * - `webhook_endpoints`, `webhook_deliveries` (the outbox: one row per event and endpoint,
 *   written with the event) and `webhook_attempts` (each try's outcome).
 *
 * This migration once also wrote the functions that use these tables (event emission, grant
 * draws, settling, the admission batch) and the subscription event trigger. They now live in
 * `.sql` files beside their domains (`src/events/sql/emit.sql`, `src/credits/sql/grants.sql`,
 * `src/entitlements/sql/settle.sql` and `admit.sql`, `src/billing/sql/subscription-events.sql`),
 * installed after the migrations on every start (`src/platform/db/functions.ts`).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("entitlement_overrides", (t) => {
    t.uuid("tenant_id").notNullable();
    t.text("resource_type").notNullable();
    t.decimal("limit_quantity", null);
    t.timestamp("expire_time", { useTz: true });
    t.timestamp("create_time", { useTz: true }).notNullable();
    t.timestamp("update_time", { useTz: true }).notNullable();
    t.primary(["tenant_id", "resource_type"]);
  });

  await knex.schema.createTable("credit_grants", (t) => {
    t.text("id").primary();
    t.uuid("tenant_id").notNullable();
    t.text("resource_type").notNullable();
    t.decimal("quantity", null).notNullable();
    t.decimal("remaining", null).notNullable();
    t.timestamp("expire_time", { useTz: true });
    t.text("reason").notNullable();
    t.timestamp("create_time", { useTz: true }).notNullable();
    t.timestamp("void_time", { useTz: true });
    t.index(["tenant_id", "resource_type", "expire_time"], "credit_grants_tenant_idx");
  });
  await knex.raw(`
    alter table credit_grants add constraint credit_grants_amounts
      check (quantity > 0 and remaining >= 0 and remaining <= quantity)`);

  await knex.schema.alterTable("usage_counters", (t) => {
    t.decimal("granted", null).notNullable().defaultTo(0);
    t.decimal("settled_used", null).notNullable().defaultTo(0);
    t.decimal("alerted", null).notNullable().defaultTo(0);
    t.boolean("denied").notNullable().defaultTo(false);
    t.decimal("watch_from", null).defaultTo(0);
  });
  // Usage before this change is settled as it stood: no grant existed to draw on.
  await knex.raw("update usage_counters set settled_used = used");

  await knex.schema.createTable("counter_settle_queue", (t) => {
    t.bigIncrements("id");
    t.uuid("tenant_id").notNullable();
    t.text("resource_type").notNullable();
    t.timestamp("period_start", { useTz: true }).notNullable();
    t.index(["tenant_id", "resource_type", "period_start"], "counter_settle_queue_key_idx");
  });

  await knex.schema.createTable("events", (t) => {
    t.text("id").primary();
    t.specificType("seq", "bigint generated always as identity").unique();
    t.uuid("tenant_id");
    t.text("type").notNullable();
    t.jsonb("data").notNullable();
    t.text("dedupe_key").unique();
    t.timestamp("create_time", { useTz: true }).notNullable();
    t.index(["tenant_id", "seq"], "events_tenant_seq_idx");
  });

  await knex.schema.createTable("webhook_endpoints", (t) => {
    t.text("id").primary();
    t.text("url").notNullable();
    t.specificType("types", "text[]").notNullable();
    t.text("description").notNullable();
    t.boolean("enabled").notNullable();
    t.text("disabled_reason").notNullable().defaultTo("");
    t.text("secret").notNullable();
    t.text("previous_secret");
    t.timestamp("previous_secret_expire_time", { useTz: true });
    t.timestamp("create_time", { useTz: true }).notNullable();
    t.timestamp("update_time", { useTz: true }).notNullable();
  });

  await knex.schema.createTable("webhook_deliveries", (t) => {
    t.text("id").primary();
    t.text("endpoint_id").notNullable().references("webhook_endpoints.id").onDelete("cascade");
    t.text("event_id").notNullable().references("events.id");
    t.text("state").notNullable();
    t.integer("attempts").notNullable().defaultTo(0);
    t.timestamp("next_attempt_time", { useTz: true }).notNullable();
    t.timestamp("lease_until", { useTz: true });
    t.integer("last_status_code");
    t.text("last_error").notNullable().defaultTo("");
    t.timestamp("create_time", { useTz: true }).notNullable();
    t.timestamp("update_time", { useTz: true }).notNullable();
    t.unique(["endpoint_id", "event_id"]);
    t.index(["endpoint_id", "create_time"], "webhook_deliveries_endpoint_idx");
  });
  await knex.raw(`
    alter table webhook_deliveries add constraint webhook_deliveries_state_check
      check (state in ('pending', 'succeeded', 'failed'))`);
  await knex.raw(`
    create index webhook_deliveries_due_idx on webhook_deliveries (next_attempt_time)
      where state = 'pending'`);

  await knex.schema.createTable("webhook_attempts", (t) => {
    t.text("delivery_id").notNullable().references("webhook_deliveries.id").onDelete("cascade");
    t.integer("attempt").notNullable();
    t.integer("status_code");
    t.text("error").notNullable();
    t.integer("duration_ms").notNullable();
    t.timestamp("create_time", { useTz: true }).notNullable();
    t.primary(["delivery_id", "attempt"]);
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const table of [
    "webhook_attempts",
    "webhook_deliveries",
    "webhook_endpoints",
    "events",
    "counter_settle_queue",
    "credit_grants",
    "entitlement_overrides",
  ]) {
    await knex.schema.dropTable(table);
  }
  await knex.schema.alterTable("usage_counters", (t) => {
    t.dropColumns("granted", "settled_used", "alerted", "denied", "watch_from");
  });
}
