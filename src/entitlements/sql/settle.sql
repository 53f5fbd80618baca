-- Settling a counter: what happens once its usage reaches its watch level. Usage beyond the
-- allowance draws grants, earliest expiry first; each alert threshold (a fraction of the
-- allowance plus grants) that usage reached and that was not announced before becomes an
-- `entitlement.threshold_crossed` event, once per period; and the counter learns from which
-- usage the next settle matters (`watch_from`), so that below it nothing settles and the
-- common admission costs nothing extra.

-- tollgate_settle_counter: the rule, on values the caller holds. `p_settled` is the usage
-- settled before, `p_room` what active grants hold (null: read and lock it here). Returns
-- the counter's new `granted`, `alerted` and `watch_from` (null: nothing can matter again).
create or replace function tollgate_settle_counter(p_tenant uuid,
  p_limits tollgate_counter_limits, p_used numeric, p_settled numeric, p_granted numeric,
  p_alerted numeric, p_room numeric, p_now timestamptz,
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
          || extract(epoch from p_limits.period_start)::bigint || '/' || v_threshold);
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
    v_counter.settled_used, v_counter.granted, v_counter.alerted, p_room, p_now);
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
