-- Corrections: what voiding usage recomputes that a subtraction cannot. The caller has locked
-- the counters named (in key order, as every writer of counters does), so no admission or
-- ingestion changes them meanwhile, and has marked the voided events and admissions.

-- tollgate_live_usage(tenant, counter, period): the live (not voided) usage that counts on a
-- counter: ingested events of its resource and period whose attributes carry the counter's
-- dimension values, and keyed admissions that recorded it (`recorded` in their stored answer;
-- admissions without a key are not kept and cannot be listed). Each row has the quantity, the
-- time and key that order latest values (an admission's are its time and ''), and the member.
create or replace function tollgate_live_usage(p_tenant uuid, p_counter text,
  p_period timestamptz, p_unique_key text)
returns table (quantity numeric, occur_time timestamptz, key text, member text)
language plpgsql stable as $fn$
declare
  v_fields jsonb := tollgate_counter_fields(p_counter);
begin
  return query
  select e.quantity, e.occur_time, e.event_id, e.attributes ->> p_unique_key
  from usage_events e
  where e.tenant_id = p_tenant and e.resource_type = v_fields ->> 'resource_type'
    and e.period_start = p_period and e.void_time is null
    and e.attributes @> (v_fields -> 'dimensions')
  union all
  select (r.response #>> '{template,recorded,quantity}')::numeric, r.create_time, ''::text,
    r.response #>> '{template,recorded,member}'
  from entitlement_requests r
  where r.tenant_id = p_tenant and r.void_time is null
    and r.response #> '{template,recorded,counters}' @> jsonb_build_array(p_counter)
    and (r.response #>> '{template,recorded,periodStart}')::timestamptz = p_period
    and coalesce(r.response #>> '{decision,admitted}', 'true') <> 'false';
end
$fn$;

-- tollgate_recount(tenant, counter, period, aggregation): sets a `max` or `latest` counter
-- from the live usage that counts on it, after the usage that held its value was voided.
create or replace function tollgate_recount(p_tenant uuid, p_counter text,
  p_period timestamptz, p_aggregation text)
returns void language plpgsql as $fn$
declare
  v_best record;
begin
  select u.quantity, u.occur_time, u.key into v_best
  from tollgate_live_usage(p_tenant, p_counter, p_period, '') u
  order by case when p_aggregation = 'max' then u.quantity end desc nulls last,
    u.occur_time desc, u.key desc
  limit 1;
  update usage_counters c set used = coalesce(v_best.quantity, 0),
    latest_time = case when p_aggregation = 'latest' then v_best.occur_time else c.latest_time end,
    latest_key = case when p_aggregation = 'latest' then v_best.key else c.latest_key end
  where c.tenant_id = p_tenant and c.resource_type = p_counter and c.period_start = p_period;
end
$fn$;

-- tollgate_forget_members(tenant, counters, periods, members, unique key): the members of
-- voided `unique_count` usage leave their counters' sets, each only where no live usage
-- names it any more, and each counter goes down by the members it lost. Which members go is
-- asked first, one statement per member: on a distributed database a function that reads
-- distributed tables cannot run inside a statement that writes one (Citus refuses the nested
-- query), so the delete that follows calls none.
create or replace function tollgate_forget_members(p_tenant uuid, p_counters text[],
  p_periods timestamptz[], p_members text[], p_unique_key text)
returns void language plpgsql as $fn$
declare
  v_one record;
  v_counters text[] := '{}';
  v_periods timestamptz[] := '{}';
  v_members text[] := '{}';
begin
  for v_one in
    select * from unnest(p_counters, p_periods, p_members) as u(counter, period, member)
  loop
    if not exists (
      select 1 from tollgate_live_usage(p_tenant, v_one.counter, v_one.period, p_unique_key) u
      where u.member = v_one.member)
    then
      v_counters := v_counters || v_one.counter;
      v_periods := v_periods || v_one.period;
      v_members := v_members || v_one.member;
    end if;
  end loop;
  with gone as (
    delete from meter_members m
    using unnest(v_counters, v_periods, v_members) as v(counter, period, member)
    where m.tenant_id = p_tenant and m.resource_type = v.counter
      and m.period_start = v.period and m.member = v.member
    returning m.resource_type, m.period_start),
  lost as (select resource_type, period_start, count(*) as n from gone group by 1, 2)
  update usage_counters c set used = greatest(c.used - l.n, 0)
  from lost l
  where c.tenant_id = p_tenant and c.resource_type = l.resource_type
    and c.period_start = l.period_start;
end
$fn$;
