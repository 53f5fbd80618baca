import type { Knex } from "knex";

/**
 * `tollgate_admit(ops, now)`: a whole batch of admissions (CheckAndRecord, RecordUsage,
 * Reserve, CommitReservation, ReleaseReservation) decided and written in one call, which is
 * one round trip and one transaction. Its steps:
 *
 * 1. Claims the batch's idempotency keys, sorted. A key stored earlier replays its answer; a
 *    key claimed by a transaction still running waits for it, then replays its answer.
 * 2. Locks the reservations that commits and releases name, sorted by id, then every counter
 *    the batch touches, sorted by key. Every batch on every replica locks in this one order
 *    (keys, reservations, counters) and the expiry sweep skips locked reservations, so
 *    batches cannot deadlock.
 * 3. Drops calls whose deadline (`b`, milliseconds from the statement's start) has passed
 *    now that the locks are held: they record nothing and free their key.
 * 4. Decides the calls in array order, which is their arrival order, against the counters in
 *    memory: a call that does not fit records nothing, and when a counter holds expired
 *    reservations they are freed before a call is denied.
 * 5. Writes each touched counter once, however many calls it admitted, then the new holds,
 *    the settled reservations and the answers of the claimed keys.
 *
 * Each op is a JSON object: `n` (1-based position), `k` (admit, add, read, hold, commit or
 * release), `t`/`r`/`p` (the counter: tenant, resource type, period start), `q` (quantity),
 * `l` (limit; absent when unlimited), `ik`/`op`/`fp` (idempotency key, operation and request
 * fingerprint), `a` (the answer to complete with the counter: the stored response format),
 * `id` (the reservation), `e` and `c` (a new hold's expiry and creation times), `s` (the only tenant the caller may
 * touch) and `b` (the deadline budget).
 *
 * Exported so that 0009's `down` can put this version back when it undoes its own.
 */
export const ADMIT_FUNCTION = `
create or replace function tollgate_admit(p_ops jsonb, p_now timestamptz)
returns table (
  op_n int, op_outcome text, op_used numeric, op_reserved numeric, op_answer jsonb,
  op_reservation jsonb
)
language plpgsql as $fn$
declare
  o_kind text[]; o_tenant uuid[]; o_resource text[]; o_period timestamptz[]; o_qty numeric[];
  o_limit numeric[]; o_key text[]; o_operation text[]; o_fingerprint text[]; o_template jsonb[];
  o_res uuid[]; o_expire timestamptz[]; o_create timestamptz[]; o_scope uuid[]; o_budget int[];
  o_counter int[];
  o_answer jsonb[];
  r_id uuid[]; r_tenant uuid[]; r_resource text[]; r_period timestamptz[]; r_qty numeric[];
  r_state text[]; r_expire timestamptz[]; r_committed numeric[]; r_create timestamptz[];
  r_dirty boolean[];
  c_tenant uuid[]; c_resource text[]; c_period timestamptz[]; c_used numeric[];
  c_reserved numeric[]; c_dirty boolean[]; c_swept boolean[];
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
    array_agg(x.s order by x.n), array_agg(x.b order by x.n)
  into o_kind, o_tenant, o_resource, o_period, o_qty, o_limit, o_key, o_operation,
    o_fingerprint, o_template, o_res, o_expire, o_create, o_scope, o_budget
  from jsonb_to_recordset(p_ops) as x(n int, k text, t uuid, r text, p timestamptz, q numeric,
    l numeric, ik text, op text, fp text, a jsonb, id uuid, e timestamptz, c timestamptz, s uuid,
    b int);
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
    array_agg(x.reserved order by x.tenant_id, x.resource_type, x.period_start)
  into c_used, c_reserved
  from (select uc.* from usage_counters uc
        join unnest(c_tenant, c_resource, c_period) as u(t, r, p)
          on uc.tenant_id = u.t and uc.resource_type = u.r and uc.period_start = u.p
        order by uc.tenant_id, uc.resource_type, uc.period_start
        for update of uc) x;
  c_dirty := array_fill(false, array[coalesce(array_length(c_tenant, 1), 0)]);
  c_swept := c_dirty;
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
    if o_kind[k] in ('admit', 'hold') then
      v_fits := o_limit[k] is null or c_used[j] + c_reserved[j] + o_qty[k] <= o_limit[k];
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
        v_fits := c_used[j] + c_reserved[j] + o_qty[k] <= o_limit[k];
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

  -- 5. One write per touched counter, then holds, settled reservations and answers.
  update usage_counters uc set used = u.used, reserved = u.reserved
  from unnest(c_tenant, c_resource, c_period, c_used, c_reserved, c_dirty)
    as u(t, r, p, used, reserved, dirty)
  where u.dirty and uc.tenant_id = u.t and uc.resource_type = u.r and uc.period_start = u.p;
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
$fn$`;

export async function up(knex: Knex): Promise<void> {
  await knex.raw(ADMIT_FUNCTION);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw("drop function tollgate_admit(jsonb, timestamptz)");
}
