-- Settling a counter: what happens once its usage reaches its watch level. Usage beyond the
-- allowance draws grants, earliest expiry first; each alert threshold (a fraction of the
-- allowance plus grants) that usage reached and that was not announced before becomes an
-- `entitlement.threshold_crossed` event, once per period; and the counter learns from which
-- usage the next settle matters (`watch_from`), so that below it nothing settles and the
-- common admission costs nothing extra.

-- tollgate_settle_counter: the rule, on values the caller holds. `p_settled` is the usage
-- settled before, `p_round` the counter's alert round (a correction that resolved a threshold
-- started a new one, so it can be crossed again), `p_room` what active grants hold (null: read
-- and lock it here). Returns the counter's new `granted`, `alerted` and `watch_from` (null:
-- nothing can matter again).
create or replace function tollgate_settle_counter(p_tenant uuid,
  p_limits tollgate_counter_limits, p_used numeric, p_settled numeric, p_granted numeric,
  p_alerted numeric, p_round int, p_room numeric, p_now timestamptz,
  out o_granted numeric, out o_alerted numeric, out o_watch numeric)
language plpgsql as $fn$
declare
  v_allowance numeric := p_limits.allowance;
  v_allocation boolean := coalesce(p_limits.allocation, false);
  v_room numeric := p_room;
  v_draw numeric;
  v_limit numeric;
  v_threshold numeric;
  v_next numeric;
begin
  o_granted := p_granted;
  o_alerted := p_alerted;
  if v_allowance is null then
    o_watch := null;
    return;
  end if;
  if v_room is null then
    v_room := tollgate_grant_room(p_tenant, p_limits.resource_type, v_allocation, p_now);
  end if;
  if not v_allocation then
    v_draw := least(v_room,
      greatest(0, p_used - v_allowance) - greatest(0, p_settled - v_allowance));
    if v_draw > 0 then
      perform tollgate_draw_grants(p_tenant, p_limits.resource_type, v_draw, p_now);
      o_granted := o_granted + v_draw;
      v_room := v_room - v_draw;
    end if;
  end if;
  v_limit := v_allowance + o_granted + v_room;
  for v_threshold in select t from unnest(p_limits.thresholds) t order by t loop
    continue when v_threshold <= o_alerted;
    if p_used >= v_threshold * v_limit then
      perform tollgate_emit(p_tenant, 'entitlement.threshold_crossed', jsonb_build_object(
        'tenant_id', p_tenant, 'resource_type', p_limits.resource_type,
        'period_start_time', p_limits.period_start, 'threshold', v_threshold::text,
        'used', p_used::text, 'limit', v_limit::text, 'included', v_allowance::text,
        'granted', (o_granted + v_room)::text, 'plan_id', p_limits.plan_id)
        || tollgate_counter_fields(p_limits.resource_type),
        'entitlement.threshold_crossed/' || p_tenant || '/' || p_limits.resource_type || '/'
          || extract(epoch from p_limits.period_start)::bigint || '/' || v_threshold
          || case when p_round > 0 then '/' || p_round else '' end);
      o_alerted := v_threshold;
    elsif v_next is null then
      v_next := v_threshold;
    end if;
  end loop;
  -- Thresholds are fractions of at least the allowance, and draws start beyond it.
  o_watch := case
    when v_next is not null and v_allocation then v_next * v_allowance
    when v_next is not null then least(v_next * v_allowance, v_allowance)
    when not v_allocation then v_allowance end;
end
$fn$;

-- tollgate_settle_locked: settles one counter the caller has locked, and writes the result.
create or replace function tollgate_settle_locked(p_tenant uuid,
  p_limits tollgate_counter_limits, p_room numeric, p_now timestamptz)
returns void language plpgsql as $fn$
declare
  v_counter usage_counters;
  v_settled record;
begin
  select * into v_counter from usage_counters
  where tenant_id = p_tenant and resource_type = p_limits.resource_type
    and period_start = p_limits.period_start;
  select * into v_settled from tollgate_settle_counter(p_tenant, p_limits, v_counter.used,
    v_counter.settled_used, v_counter.granted, v_counter.alerted, v_counter.alert_round, p_room,
    p_now);
  update usage_counters set granted = v_settled.o_granted, alerted = v_settled.o_alerted,
    watch_from = v_settled.o_watch, settled_used = used
  where tenant_id = p_tenant and resource_type = p_limits.resource_type
    and period_start = p_limits.period_start;
end
$fn$;

-- tollgate_settle(tenant, counters, now): the settle sweep's share of one tenant. Settles the
-- counters that ingestion or reservation commits queued (their batches did not know their
-- limits), locking them in key order as admission batches do. Returns how many it settled.
create or replace function tollgate_settle(p_tenant uuid, p_counters tollgate_counter_limits[],
  p_now timestamptz)
returns int language plpgsql as $fn$
declare
  v_limits tollgate_counter_limits;
  v_count int := 0;
begin
  for v_limits in
    select l.* from unnest(p_counters) l
    join usage_counters c on c.tenant_id = p_tenant and c.resource_type = l.resource_type
      and c.period_start = l.period_start
    order by l.resource_type, l.period_start
    for update of c
  loop
    perform tollgate_settle_locked(p_tenant, v_limits, null, p_now);
    v_count := v_count + 1;
  end loop;
  return v_count;
end
$fn$;

-- tollgate_unsettle_locked(tenant, limits, now): what a correction undoes on a counter it
-- lowered and holds locked. Usage beyond the allowance that grants paid for and that is gone
-- now is given back to them (the draw taken last first); each threshold that usage fell back
-- below becomes one `entitlement.threshold_resolved` event and the counter starts a new alert
-- round, so crossing it again is announced again; the watch level is recomputed. Returns how
-- many events it wrote.
create or replace function tollgate_unsettle_locked(p_tenant uuid,
  p_limits tollgate_counter_limits, p_now timestamptz)
returns int language plpgsql as $fn$
declare
  v_counter usage_counters;
  v_allowance numeric := p_limits.allowance;
  v_allocation boolean := coalesce(p_limits.allocation, false);
  v_room numeric;
  v_back numeric := 0;
  v_granted numeric;
  v_limit numeric;
  v_alerted numeric := 0;
  v_threshold numeric;
  v_events int := 0;
  v_round int;
  v_settled record;
begin
  select * into v_counter from usage_counters
  where tenant_id = p_tenant and resource_type = p_limits.resource_type
    and period_start = p_limits.period_start;
  if v_counter.tenant_id is null then
    return 0;
  end if;
  if v_allowance is null then
    update usage_counters set settled_used = least(settled_used, used)
    where tenant_id = p_tenant and resource_type = p_limits.resource_type
      and period_start = p_limits.period_start;
    return 0;
  end if;
  v_room := tollgate_grant_room(p_tenant, p_limits.resource_type, v_allocation, p_now);
  v_granted := v_counter.granted;
  if not v_allocation and v_counter.used < v_counter.settled_used then
    v_back := least(v_granted, greatest(0, v_counter.settled_used - v_allowance)
      - greatest(0, v_counter.used - v_allowance));
    if v_back > 0 then
      v_room := v_room + v_back
        - tollgate_refill_grants(p_tenant, p_limits.resource_type, v_back, p_now);
      v_granted := v_granted - v_back;
    end if;
  end if;
  v_limit := v_allowance + v_granted + v_room;
  for v_threshold in select t from unnest(p_limits.thresholds) t order by t loop
    if v_threshold <= v_counter.alerted and v_counter.used >= v_threshold * v_limit then
      v_alerted := v_threshold;
    end if;
  end loop;
  v_round := v_counter.alert_round;
  for v_threshold in select t from unnest(p_limits.thresholds) t order by t desc loop
    continue when v_threshold <= v_alerted or v_threshold > v_counter.alerted;
    perform tollgate_emit(p_tenant, 'entitlement.threshold_resolved', jsonb_build_object(
      'tenant_id', p_tenant, 'resource_type', p_limits.resource_type,
      'period_start_time', p_limits.period_start, 'threshold', v_threshold::text,
      'used', v_counter.used::text, 'limit', v_limit::text, 'included', v_allowance::text,
      'granted', (v_granted + v_room)::text, 'plan_id', p_limits.plan_id)
      || tollgate_counter_fields(p_limits.resource_type),
      'entitlement.threshold_resolved/' || p_tenant || '/' || p_limits.resource_type || '/'
        || extract(epoch from p_limits.period_start)::bigint || '/' || v_threshold || '/'
        || v_counter.alert_round);
    v_events := v_events + 1;
    v_round := v_counter.alert_round + 1;
  end loop;
  -- Nothing is drawn here (usage not settled yet is left to the queued settle) and nothing
  -- reached before is crossed again (alerted is the highest threshold still reached): this
  -- finds the next watch level.
  select * into v_settled from tollgate_settle_counter(p_tenant, p_limits, v_counter.used,
    v_counter.used, v_granted, v_alerted, v_round, v_room, p_now);
  update usage_counters set granted = v_granted, alerted = v_alerted, alert_round = v_round,
    watch_from = v_settled.o_watch, settled_used = least(settled_used, used)
  where tenant_id = p_tenant and resource_type = p_limits.resource_type
    and period_start = p_limits.period_start;
  return v_events;
end
$fn$;
