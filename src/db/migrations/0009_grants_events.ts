import type { Knex } from "knex";
import { ADMIT_FUNCTION } from "./0007_admission_batches.js";

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

  for (const statement of FUNCTIONS) await knex.raw(statement);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw("drop trigger subscriptions_events on subscriptions");
  for (const fn of [
    "tollgate_subscription_events()",
    "tollgate_subscription_data(subscriptions)",
    "tollgate_settle(jsonb, timestamptz)",
    "tollgate_settle_counter(uuid, text, timestamptz, jsonb, numeric, numeric, numeric, numeric, numeric, timestamptz)",
    "tollgate_draw_grants(uuid, text, numeric, timestamptz)",
    "tollgate_grant_room(uuid, text, boolean, timestamptz)",
    "tollgate_emit(uuid, text, jsonb, text)",
  ]) {
    await knex.raw(`drop function ${fn}`);
  }
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
  // This migration replaced tollgate_admit with a version that reads the columns dropped
  // above; the schema it leaves must work, so 0007's version comes back.
  await knex.raw(ADMIT_FUNCTION);
}

/** The advisory lock every event writer holds until commit; see the `events` table above. */
const EVENT_LOCK = 7_429_001;

const FUNCTIONS = [
  // Appends an event once per dedupe key, with one pending delivery per enabled endpoint that
  // wants its type, and wakes the streams of every replica. Returns the id, or null when the
  // dedupe key was used before.
  `create or replace function tollgate_emit(p_tenant uuid, p_type text, p_data jsonb,
     p_dedupe text)
   returns text language plpgsql as $fn$
   declare v_id text;
   begin
     perform pg_advisory_xact_lock(${EVENT_LOCK});
     insert into events (id, tenant_id, type, data, dedupe_key, create_time)
     values ('evt_' || replace(gen_random_uuid()::text, '-', ''), p_tenant, p_type, p_data,
       p_dedupe, now())
     on conflict (dedupe_key) do nothing
     returning id into v_id;
     if v_id is null then return null; end if;
     insert into webhook_deliveries
       (id, endpoint_id, event_id, state, next_attempt_time, create_time, update_time)
     select 'whd_' || replace(gen_random_uuid()::text, '-', ''), e.id, v_id, 'pending', now(),
       now(), now()
     from webhook_endpoints e
     where e.enabled and (cardinality(e.types) = 0 or p_type = any(e.types));
     perform pg_notify('tollgate_events', v_id);
     return v_id;
   end
   $fn$`,

  // What active grants add to a tenant's limit: their remaining balance for consumables,
  // their full quantity for allocations. Locks them (earliest expiry first) until commit, so
  // a void or another draw waits.
  `create or replace function tollgate_grant_room(p_tenant uuid, p_resource text,
     p_allocation boolean, p_now timestamptz)
   returns numeric language sql as $fn$
     select coalesce(sum(case when p_allocation then g.quantity else g.remaining end), 0)
     from (select quantity, remaining from credit_grants
           where tenant_id = p_tenant and resource_type = p_resource and void_time is null
             and (expire_time is null or expire_time > p_now)
             and (p_allocation or remaining > 0)
           order by expire_time nulls last, create_time, id
           for update) g
   $fn$`,

  // Takes p_amount from active grants, earliest expiry first. The caller has locked them
  // through tollgate_grant_room and never asks for more than they hold.
  `create or replace function tollgate_draw_grants(p_tenant uuid, p_resource text,
     p_amount numeric, p_now timestamptz)
   returns void language sql as $fn$
     with active as (
       select id, remaining, sum(remaining) over (
           order by expire_time nulls last, create_time, id) - remaining as before
       from credit_grants
       where tenant_id = p_tenant and resource_type = p_resource and void_time is null
         and (expire_time is null or expire_time > p_now) and remaining > 0)
     update credit_grants g set remaining = g.remaining - least(a.remaining, p_amount - a.before)
     from active a
     where g.id = a.id and a.before < p_amount
   $fn$`,

  // Settles one locked counter whose limits are known (p_info: allowance l, allocation al,
  // thresholds th, plan pl): draws grants for usage beyond the allowance that is new since
  // p_settled, announces each threshold fraction of the effective limit (allowance + grants)
  // that usage has reached and that was not announced before, and says from which usage the
  // next settle matters. p_avail is the grant room when already known, else null.
  `create or replace function tollgate_settle_counter(p_tenant uuid, p_resource text,
     p_period timestamptz, p_info jsonb, p_used numeric, p_settled numeric, p_granted numeric,
     p_alerted numeric, p_avail numeric, p_now timestamptz,
     out o_granted numeric, out o_alerted numeric, out o_watch numeric)
   language plpgsql as $fn$
   declare
     v_allowance numeric := (p_info ->> 'l')::numeric;
     v_alloc boolean := coalesce((p_info ->> 'al')::boolean, false);
     v_avail numeric := p_avail; v_draw numeric; v_limit numeric; v_f numeric;
     v_next numeric;
   begin
     o_granted := p_granted; o_alerted := p_alerted;
     if v_allowance is null then o_watch := null; return; end if;
     if v_avail is null then
       v_avail := tollgate_grant_room(p_tenant, p_resource, v_alloc, p_now);
     end if;
     if not v_alloc then
       v_draw := least(v_avail,
         greatest(0, p_used - v_allowance) - greatest(0, p_settled - v_allowance));
       if v_draw > 0 then
         perform tollgate_draw_grants(p_tenant, p_resource, v_draw, p_now);
         o_granted := o_granted + v_draw;
         v_avail := v_avail - v_draw;
       end if;
     end if;
     v_limit := v_allowance + o_granted + v_avail;
     for v_f in select t::numeric from jsonb_array_elements_text(p_info -> 'th') t order by 1 loop
       continue when v_f <= o_alerted;
       if p_used >= v_f * v_limit then
         perform tollgate_emit(p_tenant, 'entitlement.threshold_crossed', jsonb_build_object(
           'tenant_id', p_tenant, 'resource_type', p_resource, 'period_start_time', p_period,
           'threshold', v_f::text, 'used', p_used::text, 'limit', v_limit::text,
           'included', v_allowance::text, 'granted', (o_granted + v_avail)::text,
           'plan_id', p_info ->> 'pl'),
           'entitlement.threshold_crossed/' || p_tenant || '/' || p_resource || '/'
             || extract(epoch from p_period)::bigint || '/' || v_f);
         o_alerted := v_f;
       elsif v_next is null then
         v_next := v_f;
       end if;
     end loop;
     -- Thresholds are fractions of at least the allowance, and draws start beyond it.
     o_watch := case
       when v_next is not null and v_alloc then v_next * v_allowance
       when v_next is not null then least(v_next * v_allowance, v_allowance)
       when not v_alloc then v_allowance end;
   end
   $fn$`,

  // The settle sweep: settles the given counters (p_counters: t, r, p and their limits as in
  // tollgate_settle_counter), locking them in key order as admission batches do.
  `create or replace function tollgate_settle(p_counters jsonb, p_now timestamptz)
   returns int language plpgsql as $fn$
   declare v_c record; v_row record; v_s record; v_n int := 0;
   begin
     for v_c in select * from jsonb_to_recordset(p_counters)
         as x(t uuid, r text, p timestamptz, i jsonb) order by x.t, x.r, x.p loop
       select * into v_row from usage_counters
       where tenant_id = v_c.t and resource_type = v_c.r and period_start = v_c.p for update;
       continue when not found;
       select * into v_s from tollgate_settle_counter(v_c.t, v_c.r, v_c.p, v_c.i, v_row.used,
         v_row.settled_used, v_row.granted, v_row.alerted, null, p_now);
       update usage_counters set granted = v_s.o_granted, alerted = v_s.o_alerted,
         watch_from = v_s.o_watch, settled_used = used
       where tenant_id = v_c.t and resource_type = v_c.r and period_start = v_c.p;
       v_n := v_n + 1;
     end loop;
     return v_n;
   end
   $fn$`,

  // A subscription as its events carry it: the stored row without internal columns.
  `create or replace function tollgate_subscription_data(p_subscription subscriptions)
   returns jsonb language sql as $fn$
     select to_jsonb(p_subscription) - 'version' - 'proration_behavior'
   $fn$`,

  // Subscription lifecycle events, in the transaction of every change whichever path made it
  // (RPCs, provider webhooks, the sweep). A change of plan or period re-arms the watch levels
  // of the tenant's counters, since their allowances may have changed.
  `create or replace function tollgate_subscription_events()
   returns trigger language plpgsql as $fn$
   declare v_data jsonb := tollgate_subscription_data(new); v_type text;
   begin
     if tg_op = 'INSERT' then
       v_type := 'subscription.created';
     elsif new.state is distinct from old.state and new.state = 'canceled' then
       v_type := 'subscription.canceled';
     elsif new.state is distinct from old.state and new.state = 'past_due' then
       v_type := 'subscription.past_due';
     elsif (to_jsonb(new) - 'version') is distinct from (to_jsonb(old) - 'version') then
       v_type := 'subscription.updated';
     else
       return null;
     end if;
     perform tollgate_emit(new.tenant_id, v_type, v_data, null);
     update usage_counters set watch_from = 0
     where tenant_id = new.tenant_id and watch_from is distinct from 0;
     return null;
   end
   $fn$`,
  `create trigger subscriptions_events after insert or update on subscriptions
     for each row execute function tollgate_subscription_events()`,
  // The admission batch of migration 0007, now settling grants, thresholds and denials.
  `create or replace function tollgate_admit(p_ops jsonb, p_now timestamptz)
returns table (
  op_n int, op_outcome text, op_used numeric, op_reserved numeric, op_answer jsonb,
  op_reservation jsonb
)
language plpgsql as $fn$
declare
  o_kind text[]; o_tenant uuid[]; o_resource text[]; o_period timestamptz[]; o_qty numeric[];
  o_limit numeric[]; o_key text[]; o_operation text[]; o_fingerprint text[]; o_template jsonb[];
  o_res uuid[]; o_expire timestamptz[]; o_create timestamptz[]; o_scope uuid[]; o_budget int[];
  o_counter int[]; o_cap numeric[]; o_hard boolean[]; o_grants boolean[]; o_alloc boolean[];
  o_info jsonb[];
  o_answer jsonb[];
  r_id uuid[]; r_tenant uuid[]; r_resource text[]; r_period timestamptz[]; r_qty numeric[];
  r_state text[]; r_expire timestamptz[]; r_committed numeric[]; r_create timestamptz[];
  r_dirty boolean[];
  c_tenant uuid[]; c_resource text[]; c_period timestamptz[]; c_used numeric[];
  c_reserved numeric[]; c_dirty boolean[]; c_swept boolean[]; c_granted numeric[];
  c_settled numeric[]; c_alerted numeric[]; c_denied boolean[]; c_watch numeric[];
  c_avail numeric[]; c_info jsonb[]; c_meta boolean[];
  v_ceiling numeric; v_extra numeric; v_pending numeric; v_settle record;
  v_denials jsonb[] := '{}'; v_denial jsonb;
  v_count int; v_claimed jsonb; v_prior jsonb; v_owner jsonb := '{}'; v_dropped int[] := '{}';
  v_holds int[] := '{}'; v_elapsed numeric; v_name text; v_fits boolean; v_written boolean;
  v_freed numeric; v_amount numeric; v_answer jsonb;
  k int; j int; ri int; i int;
begin
  select array_agg(x.k order by x.n), array_agg(x.t order by x.n), array_agg(x.r order by x.n),
    array_agg(x.p order by x.n), array_agg(x.q order by x.n), array_agg(x.l order by x.n),
    array_agg(x.ik order by x.n), array_agg(x.op order by x.n), array_agg(x.fp order by x.n),
    array_agg(x.a order by x.n), array_agg(x.id order by x.n), array_agg(x.e order by x.n),
    array_agg(x.c order by x.n),
    array_agg(x.s order by x.n), array_agg(x.b order by x.n), array_agg(x.x order by x.n),
    array_agg(coalesce(x.h, true) order by x.n), array_agg(coalesce(x.g, false) order by x.n),
    array_agg(coalesce(x.al, false) order by x.n),
    array_agg(case when x.l is null then null else jsonb_build_object('l', x.l, 'al', x.al,
      'th', coalesce(x.th, '[]'), 'pl', x.pl) end order by x.n)
  into o_kind, o_tenant, o_resource, o_period, o_qty, o_limit, o_key, o_operation,
    o_fingerprint, o_template, o_res, o_expire, o_create, o_scope, o_budget, o_cap, o_hard,
    o_grants, o_alloc, o_info
  from jsonb_to_recordset(p_ops) as x(n int, k text, t uuid, r text, p timestamptz, q numeric,
    l numeric, ik text, op text, fp text, a jsonb, id uuid, e timestamptz, c timestamptz, s uuid,
    b int, x numeric, h boolean, g boolean, al boolean, th jsonb, pl text);
  v_count := coalesce(array_length(o_kind, 1), 0);
  o_answer := array_fill(null::jsonb, array[v_count]);

  -- 1. Idempotency keys, claimed in key order; the first call of a key in the batch owns it.
  with claimed as (
    insert into entitlement_requests as e
      (tenant_id, idempotency_key, operation, fingerprint, create_time)
    select w.t, w.ik, w.op, w.fp, p_now from (
      select distinct on (u.t, u.ik) u.t, u.ik, u.op, u.fp
      from unnest(o_tenant, o_key, o_operation, o_fingerprint) with ordinality
        as u(t, ik, op, fp, n)
      where u.ik is not null order by u.t, u.ik, u.n) w
    order by w.t, w.ik
    on conflict do nothing
    returning e.tenant_id, e.idempotency_key)
  select coalesce(jsonb_object_agg(c.tenant_id || '/' || c.idempotency_key, true), '{}')
  into v_claimed from claimed c;
  select coalesce(jsonb_object_agg(e.tenant_id || '/' || e.idempotency_key, jsonb_build_object(
      'operation', e.operation, 'fingerprint', e.fingerprint, 'response', e.response)), '{}')
  into v_prior
  from entitlement_requests e
  join (select distinct u.t, u.ik from unnest(o_tenant, o_key) as u(t, ik)
        where u.ik is not null) w on e.tenant_id = w.t and e.idempotency_key = w.ik
  where v_claimed -> (w.t || '/' || w.ik) is null;

  -- 2. Reservations named by commits and releases, then counters, each in key order.
  select array_agg(x.id order by x.id), array_agg(x.tenant_id order by x.id),
    array_agg(x.resource_type order by x.id), array_agg(x.period_start order by x.id),
    array_agg(x.quantity order by x.id), array_agg(x.state order by x.id),
    array_agg(x.expire_time order by x.id), array_agg(x.committed_quantity order by x.id),
    array_agg(x.create_time order by x.id)
  into r_id, r_tenant, r_resource, r_period, r_qty, r_state, r_expire, r_committed, r_create
  from (select * from reservations
        where id in (select u.id from unnest(o_kind, o_res) as u(k, id)
                     where u.k in ('commit', 'release'))
        order by id for update) x;
  r_id := coalesce(r_id, '{}');
  r_dirty := array_fill(false, array[coalesce(array_length(r_id, 1), 0)]);
  for k in 1..v_count loop
    if o_kind[k] in ('commit', 'release') then
      ri := array_position(r_id, o_res[k]);
      if ri is not null then
        o_tenant[k] := r_tenant[ri]; o_resource[k] := r_resource[ri]; o_period[k] := r_period[ri];
      end if;
    end if;
  end loop;

  select array_agg(d.t order by d.t, d.r, d.p), array_agg(d.r order by d.t, d.r, d.p),
    array_agg(d.p order by d.t, d.r, d.p)
  into c_tenant, c_resource, c_period
  from (select distinct u.t, u.r, u.p from unnest(o_tenant, o_resource, o_period) as u(t, r, p)
        where u.t is not null) d;
  insert into usage_counters (tenant_id, resource_type, period_start, used, reserved)
  select u.t, u.r, u.p, 0, 0 from unnest(c_tenant, c_resource, c_period) as u(t, r, p)
  order by u.t, u.r, u.p
  on conflict do nothing;
  select array_agg(x.used order by x.tenant_id, x.resource_type, x.period_start),
    array_agg(x.reserved order by x.tenant_id, x.resource_type, x.period_start),
    array_agg(x.granted order by x.tenant_id, x.resource_type, x.period_start),
    array_agg(x.settled_used order by x.tenant_id, x.resource_type, x.period_start),
    array_agg(x.alerted order by x.tenant_id, x.resource_type, x.period_start),
    array_agg(x.denied order by x.tenant_id, x.resource_type, x.period_start),
    array_agg(x.watch_from order by x.tenant_id, x.resource_type, x.period_start)
  into c_used, c_reserved, c_granted, c_settled, c_alerted, c_denied, c_watch
  from (select uc.* from usage_counters uc
        join unnest(c_tenant, c_resource, c_period) as u(t, r, p)
          on uc.tenant_id = u.t and uc.resource_type = u.r and uc.period_start = u.p
        order by uc.tenant_id, uc.resource_type, uc.period_start
        for update of uc) x;
  c_dirty := array_fill(false, array[coalesce(array_length(c_tenant, 1), 0)]);
  c_swept := c_dirty;
  c_meta := c_dirty;
  c_avail := array_fill(null::numeric, array[coalesce(array_length(c_tenant, 1), 0)]);
  c_info := array_fill(null::jsonb, array[coalesce(array_length(c_tenant, 1), 0)]);
  select array_agg(c.idx order by o.n) into o_counter
  from unnest(o_tenant, o_resource, o_period) with ordinality as o(t, r, p, n)
  left join unnest(c_tenant, c_resource, c_period) with ordinality as c(t, r, p, idx)
    on c.t = o.t and c.r = o.r and c.p = o.p;

  -- 3. and 4. Every call in arrival order.
  v_elapsed := extract(epoch from clock_timestamp() - statement_timestamp()) * 1000;
  for k in 1..v_count loop
    op_n := k; op_outcome := 'done'; op_used := null; op_reserved := null; op_answer := null;
    op_reservation := null;
    v_name := case when o_key[k] is null then null else o_tenant[k] || '/' || o_key[k] end;
    if v_name is not null and v_claimed -> v_name is null then
      op_answer := v_prior -> v_name;
      op_outcome := case when coalesce(op_answer -> 'response', 'null') = 'null' then 'busy'
        else 'replay' end;
      return next; continue;
    end if;
    if v_name is not null and v_owner -> v_name is not null then
      i := (v_owner ->> v_name)::int;
      if o_answer[i] is null then
        op_outcome := 'busy';
      else
        op_outcome := 'replay';
        op_answer := jsonb_build_object('operation', o_operation[i],
          'fingerprint', o_fingerprint[i], 'response', o_answer[i]);
      end if;
      return next; continue;
    end if;
    if v_name is not null then v_owner := v_owner || jsonb_build_object(v_name, k); end if;
    if o_budget[k] is not null and v_elapsed > o_budget[k] then
      if v_name is not null then v_dropped := v_dropped || k; end if;
      op_outcome := 'deadline';
      return next; continue;
    end if;
    j := o_counter[k];
    v_written := false;
    v_ceiling := null;
    if o_info[k] is not null then
      c_info[j] := o_info[k];
      -- Grants count only where the tenant has some: everyone else keeps the one statement.
      if o_grants[k] and c_avail[j] is null then
        c_avail[j] := tollgate_grant_room(o_tenant[k], o_resource[k], o_alloc[k], p_now);
      end if;
      v_extra := c_granted[j] + coalesce(c_avail[j], 0);
      v_ceiling := case when o_hard[k] then o_limit[k] + v_extra
        when o_cap[k] is not null then o_limit[k] + v_extra + o_cap[k] end;
    end if;
    if o_kind[k] in ('admit', 'hold') then
      v_fits := v_ceiling is null or c_used[j] + c_reserved[j] + o_qty[k] <= v_ceiling;
      if not v_fits and c_reserved[j] > 0 and not c_swept[j] then
        -- Expired holds never cause a denial: free them, skipping any another transaction
        -- holds (it is settling them) and those this batch locked (freed in memory below).
        with due as (
          select x.id, x.quantity from reservations x
          where x.tenant_id = c_tenant[j] and x.resource_type = c_resource[j]
            and x.period_start = c_period[j] and x.state = 'held' and x.expire_time <= p_now
            and x.id <> all(r_id)
          for update skip locked
        ), gone as (
          update reservations y set state = 'expired' from due where y.id = due.id
          returning due.quantity
        )
        select coalesce(sum(g.quantity), 0) into v_freed from gone g;
        for ri in 1..coalesce(array_length(r_id, 1), 0) loop
          if r_state[ri] = 'held' and r_expire[ri] <= p_now and r_tenant[ri] = c_tenant[j]
             and r_resource[ri] = c_resource[j] and r_period[ri] = c_period[j] then
            r_state[ri] := 'expired'; r_dirty[ri] := true; v_freed := v_freed + r_qty[ri];
          end if;
        end loop;
        c_reserved[j] := greatest(c_reserved[j] - v_freed, 0);
        c_swept[j] := true;
        v_fits := c_used[j] + c_reserved[j] + o_qty[k] <= v_ceiling;
      end if;
      if not v_fits and not c_denied[j] then
        -- The first denial of the period is an event (written after the thresholds this
        -- batch crosses, which come before it); later ones only answer.
        v_denials := v_denials || jsonb_build_object('t', o_tenant[k], 'd', jsonb_build_object(
          'tenant_id', o_tenant[k], 'resource_type', o_resource[k],
          'period_start_time', o_period[k], 'quantity', o_qty[k]::text,
          'used', c_used[j]::text, 'reserved', c_reserved[j]::text,
          'limit', v_ceiling::text, 'plan_id', o_info[k] ->> 'pl'),
          'k', 'entitlement.denied/' || o_tenant[k] || '/' || o_resource[k] || '/'
            || extract(epoch from o_period[k])::bigint);
        c_denied[j] := true;
        c_meta[j] := true;
      end if;
      if v_fits then
        if o_kind[k] = 'admit' then
          c_used[j] := c_used[j] + o_qty[k];
        else
          c_reserved[j] := c_reserved[j] + o_qty[k];
          v_holds := v_holds || k;
        end if;
        c_dirty[j] := true;
        v_written := true;
      end if;
    elsif o_kind[k] = 'add' then
      c_used[j] := greatest(c_used[j] + o_qty[k], 0);
      c_dirty[j] := true;
      v_written := true;
    elsif o_kind[k] in ('commit', 'release') then
      ri := array_position(r_id, o_res[k]);
      if ri is null then
        op_outcome := 'not_found';
        return next; continue;
      end if;
      if o_kind[k] = 'commit' then
        v_amount := coalesce(o_qty[k], r_qty[ri]);
        if r_state[ri] = 'committed' and r_committed[ri] = v_amount then
          op_outcome := 'unchanged';
        elsif r_state[ri] <> 'held' or r_expire[ri] <= p_now then
          op_outcome := 'refused';
        end if;
      elsif r_state[ri] = 'committed' then
        op_outcome := 'refused';
      elsif r_state[ri] <> 'held' then
        op_outcome := 'unchanged';
      end if;
      if o_scope[k] is not null and o_scope[k] <> r_tenant[ri] then
        op_outcome := 'forbidden';
      elsif op_outcome = 'done' then
        c_reserved[j] := greatest(c_reserved[j] - r_qty[ri], 0);
        if o_kind[k] = 'commit' then
          c_used[j] := c_used[j] + v_amount;
          r_state[ri] := 'committed';
          r_committed[ri] := v_amount;
        else
          r_state[ri] := case when r_expire[ri] <= p_now then 'expired' else 'released' end;
        end if;
        r_dirty[ri] := true;
        c_dirty[j] := true;
      end if;
      op_reservation := jsonb_build_object('id', r_id[ri], 'tenantId', r_tenant[ri],
        'resourceType', r_resource[ri], 'quantity', r_qty[ri]::text, 'state', r_state[ri],
        'expireTime', r_expire[ri], 'committedQuantity', r_committed[ri]::text,
        'createTime', r_create[ri], 'periodStart', r_period[ri]);
      if op_outcome = 'forbidden' then return next; continue; end if;
    end if;
    op_used := c_used[j]; op_reserved := c_reserved[j];
    if o_template[k] is not null then
      v_answer := jsonb_build_object('used', c_used[j]::text, 'reserved', c_reserved[j]::text);
      if o_info[k] is not null and c_granted[j] + coalesce(c_avail[j], 0) > 0 then
        -- What this call will draw from the grants when the batch settles the counter.
        v_pending := case when o_alloc[k] then 0 else greatest(0, least(coalesce(c_avail[j], 0),
          greatest(0, c_used[j] - o_limit[k]) - greatest(0, c_settled[j] - o_limit[k]))) end;
        v_answer := v_answer || jsonb_build_object(
          'granted', (c_granted[j] + coalesce(c_avail[j], 0))::text,
          'grantRemaining', (coalesce(c_avail[j], 0) - v_pending)::text);
        if v_ceiling is not null then
          v_answer := v_answer || jsonb_build_object('limit', v_ceiling::text);
        end if;
      end if;
      if o_template[k] -> 'entitlement' is not null then
        v_answer := jsonb_set(o_template[k], '{entitlement}',
          (o_template[k] -> 'entitlement') || v_answer);
        if o_kind[k] in ('admit', 'hold') and not v_written then
          v_answer := (v_answer - 'reservation')
            || '{"allowed": false, "denialReason": "limit_exceeded"}'::jsonb;
        end if;
      else
        v_answer := o_template[k] || v_answer;
      end if;
      o_answer[k] := v_answer;
      op_answer := v_answer;
    end if;
    return next;
  end loop;

  -- 5. Counters at or past their watch level settle: grants are drawn for usage beyond the
  -- allowance, and thresholds crossed become events. A counter changed only by commits,
  -- whose limits this batch does not know, is queued for the settle sweep instead.
  for j in 1..coalesce(array_length(c_tenant, 1), 0) loop
    continue when not c_dirty[j] or c_watch[j] is null or c_used[j] < c_watch[j];
    if c_info[j] is null then
      insert into counter_settle_queue (tenant_id, resource_type, period_start)
      values (c_tenant[j], c_resource[j], c_period[j]);
      continue;
    end if;
    select * into v_settle from tollgate_settle_counter(c_tenant[j], c_resource[j], c_period[j],
      c_info[j], c_used[j], c_settled[j], c_granted[j], c_alerted[j], coalesce(c_avail[j], 0),
      p_now);
    c_granted[j] := v_settle.o_granted; c_alerted[j] := v_settle.o_alerted;
    c_watch[j] := v_settle.o_watch; c_settled[j] := c_used[j];
  end loop;

  foreach v_denial in array v_denials loop
    perform tollgate_emit((v_denial ->> 't')::uuid, 'entitlement.denied', v_denial -> 'd',
      v_denial ->> 'k');
  end loop;

  -- 6. One write per touched counter, then holds, settled reservations and answers.
  update usage_counters uc set used = u.used, reserved = u.reserved, granted = u.granted,
    settled_used = u.settled, alerted = u.alerted, denied = u.denied, watch_from = u.watch
  from unnest(c_tenant, c_resource, c_period, c_used, c_reserved, c_dirty, c_meta, c_granted,
      c_settled, c_alerted, c_denied, c_watch)
    as u(t, r, p, used, reserved, dirty, meta, granted, settled, alerted, denied, watch)
  where (u.dirty or u.meta) and uc.tenant_id = u.t and uc.resource_type = u.r
    and uc.period_start = u.p;
  insert into reservations
    (id, tenant_id, resource_type, period_start, quantity, state, expire_time, create_time)
  select o_res[h.k], o_tenant[h.k], o_resource[h.k], o_period[h.k], o_qty[h.k], 'held',
    o_expire[h.k], o_create[h.k]
  from unnest(v_holds) as h(k);
  update reservations x set state = u.state, committed_quantity = u.committed
  from unnest(r_id, r_state, r_committed, r_dirty) as u(id, state, committed, dirty)
  where u.dirty and x.id = u.id;
  update entitlement_requests e set response = o_answer[w.k]
  from (select value::int as k from jsonb_each_text(v_owner)) w
  where o_answer[w.k] is not null
    and e.tenant_id = o_tenant[w.k] and e.idempotency_key = o_key[w.k];
  delete from entitlement_requests e using unnest(v_dropped) as d(k)
  where e.tenant_id = o_tenant[d.k] and e.idempotency_key = o_key[d.k];
end
$fn$`,
];
