-- The admission decision. Every CheckAndRecord, RecordUsage, Reserve, CommitReservation and
-- ReleaseReservation is decided here, in batches: `src/entitlements/README.md` walks one call
-- from the wire to these rows and back. The types `tollgate_admission_op`,
-- `tollgate_admission_decision` and `tollgate_counter_limits` are declared once, in
-- `src/entitlements/admission-wire.ts`.

-- tollgate_fits: the fit rule, and the only place it is written. A call of `quantity` fits a
-- counter when what is used, what is held and the call stay within the ceiling together. A
-- null ceiling is no limit.
create or replace function tollgate_fits(p_used numeric, p_reserved numeric,
  p_quantity numeric, p_ceiling numeric)
returns boolean language sql immutable as $fn$
  select p_ceiling is null or p_used + p_reserved + p_quantity <= p_ceiling
$fn$;

-- tollgate_ceiling: what a call may bring a counter to. A hard limit stops at the allowance
-- plus grants (`p_granted` drawn this period, `p_room` still in active grants); a soft limit
-- goes on to its overage cap, or without a cap has no ceiling; an unlimited resource has none.
create or replace function tollgate_ceiling(p_allowance numeric, p_hard_limit boolean,
  p_overage_cap numeric, p_granted numeric, p_room numeric)
returns numeric language sql immutable as $fn$
  select case
    when p_allowance is null then null
    when p_hard_limit then p_allowance + p_granted + coalesce(p_room, 0)
    when p_overage_cap is not null
      then p_allowance + p_granted + coalesce(p_room, 0) + p_overage_cap
  end
$fn$;

-- `tollgate_counter_room` (what active grants hold per counter of a batch whose tenant has
-- grants) is declared with the wire types, in `admission-wire.ts`.

-- tollgate_admit_simple(tenants, first, last, ops, now): the common case of several tenants'
-- shares at once (`ops[first[i]:last[i]]` is `tenants[i]`'s share), set-based. A share is
-- simple when its calls are unkeyed admits and additions of quantities that are not negative
-- on resources without grants; it is taken here when, with its counters locked (in key
-- order), every admit fits in turn, no caller has stopped waiting and no counter reaches its
-- watch level. Each taken call is answered from its counter's running total, and each counter
-- is written once. Shares not taken are left untouched, for tollgate_admit. Every
-- statement on a table is filtered by the tenants given. A single node's path only: a
-- distributed database runs each tenant's share through tollgate_admit on its node.
create or replace function tollgate_admit_simple(p_tenants uuid[], p_first int[], p_last int[],
  p_ops tollgate_admission_op[], p_now timestamptz)
returns table (tenant_id uuid, decision tollgate_admission_decision)
language plpgsql set plan_cache_mode = force_generic_plan as $fn$
#variable_conflict use_column
begin
  return query
  with ops as (
    select g.tenant_id, o.*
    from unnest(p_ops) with ordinality as o
    join unnest(p_tenants, p_first, p_last) as g(tenant_id, first_op, last_op)
      on o.ordinality between g.first_op and g.last_op
  ),
  -- Every counter of the batch, in key order (the shares not taken here are decided after,
  -- so all locks are taken in one order), each found through its key.
  locked as (
    select c.*
    from (select distinct o.tenant_id, o.resource_type, o.period_start from ops o
          order by 1, 2, 3) w
    cross join lateral (
      select c.ctid as row_id, c.* from usage_counters c
      where c.tenant_id = any(p_tenants) and c.tenant_id = w.tenant_id
        and c.resource_type = w.resource_type and c.period_start = w.period_start
      for update) c
  ),
  -- Each call with its counter's running total; a share is taken when all its calls are
  -- simple, fit in turn and leave the counter below its watch level.
  decided as (
    select d.*, bool_and(d.simple
        and (d.kind = 'add'
          or tollgate_fits(d.used_after - d.quantity, d.reserved, d.quantity, d.ceiling))
        and (d.watch_from is null or d.used_after < d.watch_from))
        over (partition by d.tenant_id) as taken
    from (
      select o.tenant_id, o.position, o.kind, o.quantity, c.row_id, c.reserved, c.watch_from,
        tollgate_ceiling(o.allowance, o.hard_limit, o.overage_cap, c.granted, null) as ceiling,
        c.used + sum(o.quantity) over (partition by o.tenant_id, o.resource_type,
          o.period_start order by o.position) as used_after,
        c.row_id is not null and c.granted = 0 and o.kind in ('admit', 'add')
          and o.quantity >= 0 and o.idempotency_key is null and not o.has_grants
          and o.part = 0 and o.member is null and o.aggregation in ('sum', 'count')
          and o.window_ms is null
          and (o.budget_ms is null
            or extract(epoch from clock_timestamp() - statement_timestamp()) * 1000
              <= o.budget_ms) as simple
      from ops o
      left join locked c on c.tenant_id = o.tenant_id and c.resource_type = o.resource_type
        and c.period_start = o.period_start
    ) d
  ),
  -- Each row is updated where it was locked (its ctid cannot move while this transaction
  -- holds it), which is a direct fetch whatever the table's size.
  written as (
    update usage_counters c set used = c.used + t.quantity
    from (select d.row_id, sum(d.quantity) as quantity from decided d where d.taken
          group by 1) t
    where c.tenant_id = any(p_tenants)
      and c.ctid = any(array(select d.row_id from decided d where d.taken))
      and c.ctid = t.row_id and t.quantity <> 0
  )
  select d.tenant_id, row(d.position, 'done', case when d.kind = 'admit' then true end,
      d.used_after, d.reserved, null, null, null, null, null, null,
      false, null, null, null)::tollgate_admission_decision
  from decided d where d.taken;
end
$fn$;

-- tollgate_meter_fold(counters, steps, members): the fold of a share whose calls need more
-- than one counter's running total: a call on a resource with dimension limits counts on its
-- total and on each dimension limit its values select (`part` 0, 1, …), and is admitted only
-- when it fits on every one of them; a `unique_count` call counts its member once per counter
-- and period (`p_members`: the members stored before, as `tollgate_member_key`); a `max`
-- counter keeps the largest quantity and a `latest` one the last, each admitted when the
-- quantity itself is within the ceiling. Calls are taken in arrival order, each call's parts
-- together. Answers the same rows as tollgate_admit's fold, and for each counted member the
-- member (`member_added`); reads no table.
--
-- It takes the counters as `tollgate_fold_counter`, not as rows of usage_counters: a function
-- that names no table's type is created on every node of a distributed database with the
-- rest of the set, whether or not the tables are distributed yet.
create or replace function tollgate_meter_fold(p_counters tollgate_fold_counter[],
  p_steps tollgate_fold_step[], p_members text[])
returns setof tollgate_fold_row
language plpgsql immutable as $fn$
declare
  v_names text[] := array(select c.resource_type || '/' || c.period_start::text
    from unnest(p_counters) c);
  v_used numeric[] := array(select c.used from unnest(p_counters) c);
  v_reserved numeric[] := array(select c.reserved from unnest(p_counters) c);
  v_step bigint[] := array_fill(0::bigint, array[cardinality(p_counters)]);
  v_members text[] := coalesce(p_members, '{}');
  v_call tollgate_fold_step[] := '{}';
  v_fits boolean[];
  v_known boolean[];
  v_ks int[];
  v_admitted boolean;
  v_next tollgate_fold_step;
  v_s tollgate_fold_step;
  v_k int;
  v_q numeric;
  v_added text;
begin
  return query select c.resource_type, c.period_start, 0::bigint, c.used, c.reserved,
    null::boolean, null::int, null::int, false, null::text, false
  from unnest(p_counters) c;
  -- A call is decided once all its parts are gathered: the steps come ordered by call and
  -- part, and a last empty step closes the last call.
  for v_next in
    select (x.s).* from (
      select s, s.position, s.part from unnest(p_steps) s
      union all select null::tollgate_fold_step, null::int, null::int) x
    order by x.position nulls last, x.part
  loop
    if cardinality(v_call) > 0 and v_next.position is distinct from (v_call[1]).position then
      -- First whether every part fits (a member's quantity is 1), then what each records.
      v_fits := '{}';
      v_known := '{}';
      v_ks := '{}';
      v_admitted := true;
      foreach v_s in array v_call loop
        v_k := array_position(v_names, v_s.resource_type || '/' || v_s.period_start::text);
        v_ks := v_ks || v_k;
        v_known := v_known || (v_s.member is not null and tollgate_member_key(v_s.resource_type,
          v_s.period_start, v_s.member) = any(v_members));
        v_fits := v_fits || case
          when v_s.kind not in ('admit', 'hold') or v_known[cardinality(v_known)] then true
          when v_s.aggregation in ('max', 'latest')
            then tollgate_fits(0, 0, v_s.quantity, v_s.ceiling)
          else tollgate_fits(v_used[v_k], v_reserved[v_k], v_s.quantity, v_s.ceiling)
        end;
        v_admitted := v_admitted and v_fits[cardinality(v_fits)];
      end loop;
      for i in 1..cardinality(v_call) loop
        v_s := v_call[i];
        v_k := v_ks[i];
        v_q := case when v_known[i] then 0 else v_s.quantity end;
        v_added := null;
        if v_s.kind = 'add' or (v_s.kind = 'admit' and v_admitted) then
          v_used[v_k] := case v_s.aggregation
            when 'max' then greatest(v_used[v_k], v_q)
            when 'latest' then v_q
            else greatest(v_used[v_k] + v_q, 0) end;
          if v_s.member is not null and not v_known[i] then
            v_added := v_s.member;
            v_members := v_members
              || tollgate_member_key(v_s.resource_type, v_s.period_start, v_s.member);
          end if;
        elsif v_s.kind = 'hold' and v_admitted then
          v_reserved[v_k] := v_reserved[v_k] + v_q;
        elsif v_s.outcome = 'done' then
          if v_s.kind = 'commit' then v_used[v_k] := v_used[v_k] + v_s.amount; end if;
          v_reserved[v_k] := greatest(v_reserved[v_k] - v_s.held, 0);
        end if;
        v_step[v_k] := v_step[v_k] + 1;
        return query select v_s.resource_type, v_s.period_start, v_step[v_k], v_used[v_k],
          v_reserved[v_k], case when v_s.kind in ('admit', 'hold') then v_admitted end,
          v_s.position, v_s.part, not v_fits[i], v_added,
          v_s.aggregation = 'latest' and (v_s.kind = 'add' or (v_s.kind = 'admit' and v_admitted));
      end loop;
      v_call := '{}';
    end if;
    v_call := v_call || v_next;
  end loop;
end
$fn$;

-- tollgate_counter_fields(counter): how events name a counter: its resource, and the values
-- of its dimension limit (empty for the total), from its name (`counterName`: the resource,
-- then the values as JSON).
create or replace function tollgate_counter_fields(p_counter text)
returns jsonb language sql immutable as $fn$
  select jsonb_build_object('resource_type', split_part(p_counter, '{', 1), 'dimensions',
    case when strpos(p_counter, '{') > 0
      then substr(p_counter, strpos(p_counter, '{'))::jsonb else '{}'::jsonb end)
$fn$;

-- tollgate_member_key(counter, period, member): a counted member as tollgate_meter_fold
-- looks it up.
create or replace function tollgate_member_key(p_resource_type text, p_period_start timestamptz,
  p_member text)
returns text language sql immutable as $fn$
  select p_resource_type || '/' || extract(epoch from p_period_start)::text || '/' || p_member
$fn$;

-- tollgate_admit(tenant, ops, now): decides one tenant's calls of a batch, whatever they are,
-- and answers one decision per call. It is the distributed function a distributed database
-- runs on the tenant's node, each tenant's share of a batch a statement of its own; on a
-- single node the batch goes through tollgate_admit_batch, which sends it only the shares
-- that tollgate_admit_simple did not take.
--
-- 1. Claims the calls' idempotency keys, in key order. A key stored before replays its answer
--    (`replay`), or is `busy` while its first call has none; a key repeated in the batch is
--    owned by its first call, which the others replay.
-- 2. Locks the reservations that commits and releases name, then the counters, each in key
--    order: every batch on every replica locks in this one order, so none can deadlock.
-- 3. Drops calls whose caller stopped waiting while the locks were taken (`deadline`): they
--    record nothing and free their key.
-- 4. Frees expired holds of a counter whose calls might not fit otherwise: an expired hold
--    never causes a denial. Reads what active grants hold where the tenant has grants.
-- 5. Decides every call in arrival order per counter in one statement: a recursive fold over
--    each counter's calls (one step for a counter with one call). Then writes each touched
--    counter once, the new holds, the ended reservations and the keys' answers.
-- 6. Settles the counters that reached their watch level (grant draws, threshold events) and
--    announces the period's first denial of a counter; both are rare. The decisions say
--    whether events may have been written (`emitted`), for the caller to wake the streams.
--
-- Rows are gathered as `row(t.*)::table`, never as the bare alias: on a distributed database's
-- node the alias has the type of the shard the statement ran on, not of the table.
--
-- Expects each reservation to be named by at most one commit or release of the batch (the
-- queue keeps a second one for the next batch) and every op's counter to be its tenant's.
create or replace function tollgate_admit(p_tenant uuid, p_ops tollgate_admission_op[],
  p_now timestamptz)
returns setof tollgate_admission_decision
language plpgsql set plan_cache_mode = force_generic_plan as $fn$
declare
  v_keyed boolean;
  v_meter boolean;
  v_members text[];
  v_ends_reservations boolean;
  v_grants boolean;
  v_windowed boolean;
  v_clock timestamptz;
  v_claimed text[] := '{}';
  v_prior entitlement_requests[] := '{}';
  v_reservations reservations[] := '{}';
  v_counters usage_counters[];
  v_missing int;
  v_rooms tollgate_counter_room[] := '{}';
  v_elapsed_ms numeric;
  v_decisions tollgate_admission_decision[];
  v_due tollgate_counter_limits[];
  v_queued tollgate_counter_limits[];
  v_denials jsonb[];
  v_counters_out jsonb;
  v_holds jsonb;
  v_endings jsonb;
  v_answers jsonb;
  v_counted jsonb;
  v_freed text[];
  v_limits tollgate_counter_limits;
  v_denial jsonb;
begin
  select coalesce(bool_or(o.idempotency_key is not null), false),
    coalesce(bool_or(o.kind in ('commit', 'release')), false), coalesce(bool_or(o.has_grants), false),
    coalesce(bool_or(o.part > 0 or o.member is not null or o.aggregation in ('max', 'latest')),
      false),
    coalesce(bool_or(o.window_ms is not null), false)
  into v_keyed, v_ends_reservations, v_grants, v_meter, v_windowed
  from unnest(p_ops) o;

  -- 1. Idempotency keys.
  if v_keyed then
    with claimed as (
      insert into entitlement_requests as e
        (tenant_id, idempotency_key, operation, fingerprint, create_time)
      select p_tenant, o.idempotency_key, o.operation, o.fingerprint, p_now
      from (select distinct on (o.idempotency_key) o.* from unnest(p_ops) o
            where o.idempotency_key is not null
            order by o.idempotency_key, o.position) o
      order by o.idempotency_key
      on conflict do nothing
      returning e.idempotency_key)
    select coalesce(array_agg(c.idempotency_key), '{}') into v_claimed from claimed c;

    select coalesce(array_agg(row(e.*)::entitlement_requests), '{}') into v_prior
    from entitlement_requests e
    where e.tenant_id = p_tenant
      and e.idempotency_key in (select o.idempotency_key from unnest(p_ops) o)
      and e.idempotency_key <> all(v_claimed);
  end if;

  -- 2. Reservations, then counters, each locked in key order.
  if v_ends_reservations then
    if (select count(o.reservation_id) <> count(distinct o.reservation_id) from unnest(p_ops) o)
    then
      raise exception 'a batch names reservation % more than once', (
        select o.reservation_id from unnest(p_ops) o where o.reservation_id is not null
        group by 1 having count(*) > 1 limit 1);
    end if;
    select coalesce(array_agg(r.r order by (r.r).id), '{}') into v_reservations
    from (select row(r.*)::reservations as r from reservations r
          where r.tenant_id = p_tenant and r.id in (
            select o.reservation_id from unnest(p_ops) o where o.kind in ('commit', 'release'))
          order by r.id
          for update) r;
  end if;

  for attempt in 1..2 loop
    select coalesce(array_agg(c.c order by w.resource_type, w.period_start)
        filter (where (c.c).tenant_id is not null), '{}'),
      count(*) filter (where (c.c).tenant_id is null)
    into v_counters, v_missing
    from (select distinct o.resource_type, o.period_start from unnest(p_ops) o
          order by 1, 2) w
    left join lateral (
      select row(c.*)::usage_counters as c from usage_counters c
      where c.tenant_id = p_tenant and c.resource_type = w.resource_type
        and c.period_start = w.period_start
      for update) c on true;
    exit when v_missing = 0;
    insert into usage_counters
      (tenant_id, resource_type, period_start, used, reserved, aggregation)
    select distinct on (o.resource_type, o.period_start) p_tenant, o.resource_type,
      o.period_start, 0, 0, o.aggregation
    from unnest(p_ops) o
    order by o.resource_type, o.period_start
    on conflict do nothing;
  end loop;

  -- Rolling windows: a windowed counter's `used` is the sum of its window entries, one per
  -- batch that counted on it (admit time, quantity). With the counter locked, the database's
  -- clock is read once for the batch, and the entries that have left the window by then are
  -- deleted and taken off `used`, so every call is decided against exactly what its window
  -- holds. The clock is read after the lock, so admit times grow in lock order.
  if v_windowed then
    v_clock := clock_timestamp();
    with windows as (
      select o.resource_type, o.period_start, max(o.window_ms) as window_ms
      from unnest(p_ops) o where o.window_ms is not null group by 1, 2
    ), gone as (
      delete from window_entries e
      using windows w
      where e.tenant_id = p_tenant and e.resource_type = w.resource_type
        and e.admit_time <= v_clock - w.window_ms * interval '1 millisecond'
      returning e.resource_type, e.quantity
    ), freed as (
      select g.resource_type, sum(g.quantity) as quantity from gone g group by 1
    )
    update usage_counters c set used = greatest(c.used - f.quantity, 0)
    from freed f join windows w using (resource_type)
    where c.tenant_id = p_tenant and c.resource_type = f.resource_type
      and c.period_start = w.period_start;
    select array_agg(row(c.*)::usage_counters order by c.resource_type, c.period_start)
    into v_counters
    from usage_counters c
    join unnest(v_counters) k using (resource_type, period_start)
    where c.tenant_id = p_tenant;
  end if;

  -- The members counted before, of the counters whose calls name one (the counters are
  -- locked: no other transaction adds one meanwhile).
  if v_meter then
    select coalesce(array_agg(tollgate_member_key(m.resource_type, m.period_start, m.member)),
      '{}')
    into v_members
    from meter_members m
    join (select distinct o.resource_type, o.period_start, o.member from unnest(p_ops) o
          where o.member is not null) o using (resource_type, period_start, member)
    where m.tenant_id = p_tenant;
  end if;

  -- 3. How long the locks took, against each caller's remaining patience.
  v_elapsed_ms := extract(epoch from clock_timestamp() - statement_timestamp()) * 1000;

  -- 4. Grant balances, and expired holds where calls might not fit without freeing them.
  if v_grants then
    select array_agg(row(l.resource_type, l.period_start,
        tollgate_grant_room(p_tenant, l.resource_type, l.allocation, p_now))::tollgate_counter_room
        order by l.resource_type, l.period_start)
    into v_rooms
    from (select distinct on (o.resource_type, o.period_start) o.* from unnest(p_ops) o
          where o.has_grants order by o.resource_type, o.period_start) l;
  end if;
  if exists (
    select 1 from unnest(v_counters) c
    join (select o.resource_type, o.period_start, sum(o.quantity) as demand,
            min(tollgate_ceiling(o.allowance, o.hard_limit, o.overage_cap, c.granted, g.room))
              as ceiling
          from unnest(p_ops) o
          join unnest(v_counters) c using (resource_type, period_start)
          left join unnest(v_rooms) g using (resource_type, period_start)
          where o.kind in ('admit', 'hold')
          group by 1, 2) d using (resource_type, period_start)
    where c.reserved > 0 and not tollgate_fits(c.used, c.reserved, d.demand, d.ceiling))
  then
    -- A hold on several counters is freed here only when the batch holds them all (the
    -- expiry sweep, which locks in key order, frees the others).
    with due as (
      select x.id, x.resource_type, x.parts, x.period_start, x.quantity
      from reservations x
      join unnest(v_counters) c using (resource_type, period_start)
      where x.tenant_id = p_tenant and x.state = 'held' and x.expire_time <= p_now
        and x.parts <@ array(select k.resource_type from unnest(v_counters) k
                             where k.period_start = x.period_start)
      for update of x skip locked
    ), expired as (
      update reservations x set state = 'expired'
      from due where x.tenant_id = p_tenant and x.id = due.id
      returning due.resource_type, due.parts, due.period_start, due.quantity
    ), freed as (
      select n.name as resource_type, e.period_start, sum(e.quantity) as quantity
      from expired e cross join lateral unnest(array[e.resource_type] || e.parts) n(name)
      group by 1, 2
    )
    update usage_counters c set reserved = greatest(c.reserved - f.quantity, 0)
    from freed f
    where c.tenant_id = p_tenant and c.resource_type = f.resource_type
      and c.period_start = f.period_start;
    select array_agg(row(c.*)::usage_counters order by c.resource_type, c.period_start)
    into v_counters
    from usage_counters c
    join unnest(v_counters) k using (resource_type, period_start)
    where c.tenant_id = p_tenant;
    select coalesce(array_agg(row(r.*)::reservations order by r.id), '{}') into v_reservations
    from reservations r join unnest(v_reservations) k using (id)
    where r.tenant_id = p_tenant;
  end if;

  -- 5. Decide, in one statement over the values gathered (no table: a distributed database
  -- would refuse its recursive fold beside writes), then write what it decided.
  with recursive
  ops as (
    select o.*,
      row_number() over (partition by o.idempotency_key order by o.position) as key_rank
    from unnest(p_ops) o
  ),
  -- Which calls run: `live`, `prior` (key stored before), `repeat` (key owned by an earlier
  -- call of the batch) or `deadline`.
  -- A call's other parts (its dimension limits' counters) follow its first.
  calls as (
    select o.*, p.status
    from ops o
    join (select o.position, case
            when o.idempotency_key is not null and o.idempotency_key <> all(v_claimed)
              then 'prior'
            when o.idempotency_key is not null and o.key_rank > 1 then 'repeat'
            when o.budget_ms is not null and v_elapsed_ms > o.budget_ms then 'deadline'
            else 'live'
          end as status
          from ops o where o.part = 0) p using (position)
  ),
  -- Commits and releases against their reservation's state: `done` ends it.
  endings as (
    select o.position, r.id as reservation_id, r.quantity as held,
      coalesce(o.quantity, r.quantity) as amount,
      case
        when r.id is null then 'not_found'
        when o.kind = 'commit' and r.state = 'committed'
          and r.committed_quantity = coalesce(o.quantity, r.quantity) then 'unchanged'
        when o.kind = 'commit' and (r.state <> 'held' or r.expire_time <= p_now) then 'refused'
        when o.kind = 'release' and r.state = 'committed' then 'refused'
        when o.kind = 'release' and r.state <> 'held' then 'unchanged'
        else 'done'
      end as outcome,
      case
        when o.kind = 'commit' then 'committed'
        when r.expire_time <= p_now then 'expired'
        else 'released'
      end as ended_state,
      r.state as stored_state, r.committed_quantity as stored_committed
    from calls o left join unnest(v_reservations) r on r.id = o.reservation_id
    where o.status = 'live' and o.kind in ('commit', 'release') and o.part = 0
  ),
  -- The live calls as steps of their counter's fold, with their ceilings.
  steps as (
    select o.position, o.part, o.kind, o.resource_type, o.period_start, o.quantity,
      e.outcome, e.held, e.amount,
      tollgate_ceiling(o.allowance, o.hard_limit, o.overage_cap, c.granted, g.room) as ceiling,
      o.aggregation, o.member,
      row_number() over (partition by o.resource_type, o.period_start order by o.position)
        as step
    from calls o
    join unnest(v_counters) c using (resource_type, period_start)
    left join unnest(v_rooms) g using (resource_type, period_start)
    left join endings e on e.position = o.position
    where o.status = 'live'
  ),
  -- Each counter's calls in arrival order: an admit or hold that fits is recorded, one that
  -- does not records nothing; additions never take `used` below zero. A share with calls on
  -- several counters at once, members or maxima takes tollgate_meter_fold instead.
  fold as (
    select c.resource_type, c.period_start, 0::bigint as step, c.used, c.reserved,
      null::boolean as admitted, null::int as position, null::int as part, false as blocked,
      null::text as member_added, false as stamped
    from unnest(v_counters) c
    where not v_meter
    union all
    select m.*
    from (select where v_meter) meter
    cross join lateral tollgate_meter_fold(
      array(select row(c.resource_type, c.period_start, c.used, c.reserved)::tollgate_fold_counter
            from unnest(v_counters) c),
      array(select row(s.position, s.part, s.kind, s.resource_type, s.period_start,
              s.quantity, s.ceiling, s.outcome, s.held, s.amount, s.aggregation,
              s.member)::tollgate_fold_step from steps s), v_members) m
    union all
    select f.resource_type, f.period_start, s.step,
      case
        when s.kind = 'admit' and tollgate_fits(f.used, f.reserved, s.quantity, s.ceiling)
          then f.used + s.quantity
        when s.kind = 'add' then greatest(f.used + s.quantity, 0)
        when s.kind = 'commit' and s.outcome = 'done' then f.used + s.amount
        else f.used
      end,
      case
        when s.kind = 'hold' and tollgate_fits(f.used, f.reserved, s.quantity, s.ceiling)
          then f.reserved + s.quantity
        when s.outcome = 'done' then greatest(f.reserved - s.held, 0)
        else f.reserved
      end,
      case
        when s.kind in ('admit', 'hold')
          then tollgate_fits(f.used, f.reserved, s.quantity, s.ceiling)
      end,
      s.position, s.part,
      s.kind in ('admit', 'hold') and not tollgate_fits(f.used, f.reserved, s.quantity, s.ceiling),
      null::text, false
    from fold f
    join steps s on s.resource_type = f.resource_type and s.period_start = f.period_start
      and s.step = f.step + 1
    where not v_meter
  ),
  final as (
    select distinct on (f.resource_type, f.period_start) f.resource_type, f.period_start,
      f.used, f.reserved,
      bool_or(f.blocked) over (partition by f.resource_type, f.period_start) as denial,
      bool_or(f.stamped) over (partition by f.resource_type, f.period_start) as stamped
    from fold f
    order by f.resource_type, f.period_start, f.step desc
  ),
  -- What each live call learned, in the form its key stores.
  decided as (
    select o.position, o.idempotency_key, o.operation, o.fingerprint, o.answer_template,
      f.used, f.reserved, f.admitted,
      case when o.allowance is not null and c.granted + coalesce(g.room, 0) > 0
        then c.granted + coalesce(g.room, 0) end as granted,
      case when o.allowance is not null and c.granted + coalesce(g.room, 0) > 0
        then coalesce(g.room, 0) - case when o.allocation then 0 else greatest(0, least(
          coalesce(g.room, 0),
          greatest(0, f.used - o.allowance) - greatest(0, c.settled_used - o.allowance))) end
      end as grant_remaining,
      case when o.allowance is not null and c.granted + coalesce(g.room, 0) > 0
        then tollgate_ceiling(o.allowance, o.hard_limit, o.overage_cap, c.granted, g.room)
      end as ceiling,
      case when e.outcome = 'done' then e.ended_state else e.stored_state end
        as reservation_state,
      case when e.outcome = 'done' and o.kind = 'commit' then e.amount
        else e.stored_committed end as committed_quantity,
      coalesce(e.outcome, 'done') as outcome
    from calls o
    join fold f on f.position = o.position and f.part = 0
    join unnest(v_counters) c
      on c.resource_type = o.resource_type and c.period_start = o.period_start
    left join unnest(v_rooms) g
      on g.resource_type = o.resource_type and g.period_start = o.period_start
    left join endings e on e.position = o.position
    where o.status = 'live' and o.part = 0
  ),
  stored as (
    select d.*, jsonb_build_object('template', d.answer_template, 'decision', jsonb_strip_nulls(
        jsonb_build_object('admitted', d.admitted, 'used', d.used::text,
          'reserved', d.reserved::text, 'granted', d.granted::text,
          'grantRemaining', d.grant_remaining::text, 'ceiling', d.ceiling::text))) as response
    from decided d
    where d.idempotency_key is not null
  ),
  answered as (
    select o.position,
      case o.status
        when 'live' then d.outcome
        when 'deadline' then 'deadline'
        when 'prior' then case when p.response is null then 'busy' else 'replay' end
        when 'repeat' then case when s.response is null then 'busy' else 'replay' end
      end as outcome,
      d.admitted, d.used, d.reserved, d.granted, d.grant_remaining, d.ceiling,
      d.reservation_state, d.committed_quantity,
      case
        when o.status = 'prior' and p.response is not null then jsonb_build_object(
          'operation', p.operation, 'fingerprint', p.fingerprint, 'response', p.response)
        when o.status = 'repeat' and s.response is not null then jsonb_build_object(
          'operation', s.operation, 'fingerprint', s.fingerprint, 'response', s.response)
      end as replay
    from calls o
    left join decided d on d.position = o.position
    left join unnest(v_prior) p
      on o.status = 'prior' and p.idempotency_key = o.idempotency_key
    left join stored s on o.status = 'repeat' and s.idempotency_key = o.idempotency_key
    where o.part = 0
  )
  select
    array_agg(row(a.position, a.outcome, a.admitted, a.used, a.reserved, a.granted,
      a.grant_remaining, a.ceiling, a.reservation_state, a.committed_quantity,
      a.replay, false, null, null, null)::tollgate_admission_decision order by a.position),
    (select array_agg(row(c.resource_type, c.period_start, l.allowance, l.allocation,
        l.thresholds, l.plan_id)::tollgate_counter_limits order by c.resource_type,
        c.period_start)
     from final f
     join unnest(v_counters) c using (resource_type, period_start)
     left join lateral (
       select o.* from unnest(p_ops) o
       where o.resource_type = f.resource_type and o.period_start = f.period_start
         and o.allowance is not null
       limit 1) l on true
     where (f.used <> c.used or f.reserved <> c.reserved) and f.used >= c.watch_from),
    (select array_agg(jsonb_build_object('tenant_id', p_tenant,
        'resource_type', d.resource_type, 'period_start_time', d.period_start,
        'quantity', d.quantity::text, 'used', d.used::text, 'reserved', d.reserved::text,
        'limit', d.ceiling::text, 'plan_id', d.plan_id) || tollgate_counter_fields(d.resource_type)
        order by d.resource_type, d.period_start)
     from (select distinct on (s.resource_type, s.period_start) s.resource_type,
             s.period_start, s.quantity, f.used, f.reserved, s.ceiling, o.plan_id
           from steps s
           join fold f on f.position = s.position and f.part = s.part and f.blocked
           join unnest(v_counters) c
             on c.resource_type = s.resource_type and c.period_start = s.period_start
           join calls o on o.position = s.position and o.part = s.part
           where not c.denied
           order by s.resource_type, s.period_start, s.position) d),
    (select jsonb_agg(jsonb_build_object('resource_type', f.resource_type,
        'period_start', f.period_start, 'used', f.used, 'reserved', f.reserved,
        'denial', f.denial, 'stamped', f.stamped))
     from final f
     join unnest(v_counters) c using (resource_type, period_start)
     where c.used <> f.used or c.reserved <> f.reserved or (f.denial and not c.denied)
       or f.stamped),
    (select jsonb_agg(jsonb_build_object('id', o.reservation_id,
        'resource_type', o.resource_type, 'period_start', o.period_start,
        'quantity', o.quantity, 'expire_time', o.hold_expire_time,
        'create_time', o.hold_create_time, 'parts', coalesce((
          select jsonb_agg(p.resource_type order by p.part) from calls p
          where p.position = o.position and p.part > 0), '[]'::jsonb)))
     from calls o join decided d on d.position = o.position
     where o.kind = 'hold' and o.part = 0 and d.admitted),
    (select jsonb_agg(jsonb_build_object('id', e.reservation_id, 'state', e.ended_state,
        'amount', e.amount))
     from endings e where e.outcome = 'done'),
    (select jsonb_agg(jsonb_build_object('key', s.idempotency_key, 'response', s.response))
     from stored s),
    (select array_agg(o.idempotency_key) from calls o
     where o.status = 'deadline' and o.idempotency_key is not null),
    (select jsonb_agg(jsonb_build_object('resource_type', f.resource_type,
        'period_start', f.period_start, 'member', f.member_added))
     from fold f where f.member_added is not null)
  into v_decisions, v_due, v_denials, v_counters_out, v_holds, v_endings, v_answers, v_freed,
    v_counted
  from answered a;

  -- The writes the decisions make, each a statement on one of the tenant's tables.
  if v_counters_out is not null then
    update usage_counters c
    set used = f.used, reserved = f.reserved, denied = c.denied or f.denial,
      latest_time = case when f.stamped then p_now else c.latest_time end,
      latest_key = case when f.stamped then '' else c.latest_key end
    from jsonb_to_recordset(v_counters_out) as f(resource_type text, period_start timestamptz,
      used numeric, reserved numeric, denial boolean, stamped boolean)
    where c.tenant_id = p_tenant and c.resource_type = f.resource_type
      and c.period_start = f.period_start;
  end if;
  if v_counted is not null then
    insert into meter_members (tenant_id, resource_type, period_start, member)
    select p_tenant, m.resource_type, m.period_start, m.member
    from jsonb_to_recordset(v_counted) as m(resource_type text, period_start timestamptz,
      member text)
    order by 2, 3, 4;
  end if;
  if v_holds is not null then
    insert into reservations (id, tenant_id, resource_type, period_start, quantity, state,
      expire_time, create_time, parts)
    select h.id, p_tenant, h.resource_type, h.period_start, h.quantity, 'held', h.expire_time,
      h.create_time, array(select jsonb_array_elements_text(h.parts))
    from jsonb_to_recordset(v_holds) as h(id uuid, resource_type text,
      period_start timestamptz, quantity numeric, expire_time timestamptz,
      create_time timestamptz, parts jsonb);
  end if;
  if v_endings is not null then
    update reservations r
    set state = e.state,
      committed_quantity = case when e.state = 'committed' then e.amount
        else r.committed_quantity end
    from jsonb_to_recordset(v_endings) as e(id uuid, state text, amount numeric)
    where r.tenant_id = p_tenant and r.id = e.id;
  end if;
  if v_answers is not null then
    update entitlement_requests e set response = a.response
    from jsonb_to_recordset(v_answers) as a(key text, response jsonb)
    where e.tenant_id = p_tenant and e.idempotency_key = a.key;
  end if;
  if v_freed is not null then
    delete from entitlement_requests e
    where e.tenant_id = p_tenant and e.idempotency_key = any(v_freed);
  end if;

  -- What each windowed counter gained in this batch is one entry at the batch's time.
  if v_windowed and v_counters_out is not null then
    insert into window_entries as e (tenant_id, resource_type, admit_time, quantity)
    select p_tenant, f.resource_type, v_clock, f.used - c.used
    from jsonb_to_recordset(v_counters_out) as f(resource_type text, period_start timestamptz,
      used numeric)
    join unnest(v_counters) c using (resource_type, period_start)
    where f.used <> c.used and exists (
      select 1 from unnest(p_ops) o
      where o.window_ms is not null and o.resource_type = f.resource_type
        and o.period_start = f.period_start)
    on conflict (tenant_id, resource_type, admit_time)
      do update set quantity = e.quantity + excluded.quantity;
  end if;

  -- 6. Settles and first denials (thresholds crossed come before the denial they lead to).
  foreach v_limits in array coalesce(v_due, '{}') loop
    if v_limits.allowance is null then
      -- Changed only by calls that do not know the limits (commits): the sweep settles it.
      insert into counter_settle_queue (tenant_id, resource_type, period_start)
      values (p_tenant, v_limits.resource_type, v_limits.period_start);
    else
      perform tollgate_settle_locked(p_tenant, v_limits, (
        select g.room from unnest(v_rooms) g
        where g.resource_type = v_limits.resource_type
          and g.period_start = v_limits.period_start), p_now);
    end if;
  end loop;
  foreach v_denial in array coalesce(v_denials, '{}') loop
    perform tollgate_emit(p_tenant, 'entitlement.denied', v_denial,
      'entitlement.denied/' || p_tenant || '/' || (v_denial ->> 'resource_type') || '/'
        || extract(epoch from (v_denial ->> 'period_start_time')::timestamptz)::bigint);
  end loop;

  -- Whether events may have been written, so the caller wakes the streams after commit; on a
  -- window, when the batch decided, when the oldest counted unit leaves, and for a denial
  -- when enough will have left for the call to fit (entries leave oldest first).
  return query select d.position, d.outcome, d.admitted, d.used, d.reserved, d.granted,
    d.grant_remaining, d.ceiling, d.reservation_state, d.committed_quantity, d.replay,
    cardinality(coalesce(v_due, '{}')) + cardinality(coalesce(v_denials, '{}')) > 0,
    case when o.window_ms is not null then v_clock end,
    (select min(e.admit_time) + o.window_ms * interval '1 millisecond' from window_entries e
     where o.window_ms is not null and e.tenant_id = p_tenant
       and e.resource_type = o.resource_type),
    (select x.admit_time + o.window_ms * interval '1 millisecond'
     from (select e.admit_time, sum(e.quantity) over (order by e.admit_time) as freed
           from window_entries e
           where o.window_ms is not null and d.admitted = false and e.tenant_id = p_tenant
             and e.resource_type = o.resource_type) x
     where x.freed >= d.used + d.reserved + o.quantity - coalesce(d.ceiling, o.allowance)
     order by x.admit_time limit 1)
  from unnest(v_decisions) d
  left join unnest(p_ops) o on o.position = d.position and o.part = 0;
end
$fn$;

-- tollgate_admit_batch(tenants, first, last, ops, now): a whole batch on a single node, in one
-- statement and one commit (`ops[first[i]:last[i]]` is `tenants[i]`'s share, tenants in id
-- order). Takes the simple shares together, locking every counter of the batch in key order,
-- then decides each other share on its own, in tenant order (creating the counters it lacks).
create or replace function tollgate_admit_batch(p_tenants uuid[], p_first int[], p_last int[],
  p_ops tollgate_admission_op[], p_now timestamptz)
returns setof tollgate_admission_decision
language plpgsql set plan_cache_mode = force_generic_plan as $fn$
declare
  v_taken uuid[];
  v_decisions tollgate_admission_decision[];
  v_share record;
begin
  select array_agg(distinct s.tenant_id), array_agg(s.decision) into v_taken, v_decisions
  from tollgate_admit_simple(p_tenants, p_first, p_last, p_ops, p_now) s;
  return query select * from unnest(v_decisions);
  for v_share in
    select g.* from unnest(p_tenants, p_first, p_last) as g(tenant_id, first_op, last_op)
    where g.tenant_id <> all(coalesce(v_taken, '{}'))
    order by g.tenant_id
  loop
    return query select * from tollgate_admit(v_share.tenant_id,
      p_ops[v_share.first_op:v_share.last_op], p_now);
  end loop;
end
$fn$;
