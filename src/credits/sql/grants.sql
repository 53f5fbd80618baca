-- tollgate_grant_room(tenant, resource, allocation, now): what a tenant's active grants add to
-- its limit on one resource: their remaining balance for a consumable, their whole quantity for
-- an allocation. Locks the grants (earliest expiry first) until commit, so a void or another
-- draw waits. PL/pgSQL rather than SQL: a distributed database plans each statement of it
-- with the tenant bound, and routes it to the tenant's shard.
create or replace function tollgate_grant_room(p_tenant uuid, p_resource text,
  p_allocation boolean, p_now timestamptz)
returns numeric language plpgsql as $fn$
begin
  return (
    select coalesce(sum(case when p_allocation then g.quantity else g.remaining end), 0)
    from (select quantity, remaining from credit_grants
          where tenant_id = p_tenant and resource_type = p_resource and void_time is null
            and (expire_time is null or expire_time > p_now)
            and (p_allocation or remaining > 0)
          order by expire_time nulls last, create_time, id
          for update) g);
end
$fn$;

-- tollgate_draw_grants(tenant, resource, amount, now): takes `amount` from the tenant's active
-- grants on the resource, earliest expiry first. The caller has locked them through
-- tollgate_grant_room and never asks for more than they hold.
create or replace function tollgate_draw_grants(p_tenant uuid, p_resource text, p_amount numeric,
  p_now timestamptz)
returns void language plpgsql as $fn$
begin
  with active as (
    select id, remaining,
      sum(remaining) over (order by expire_time nulls last, create_time, id) - remaining as before
    from credit_grants
    where tenant_id = p_tenant and resource_type = p_resource and void_time is null
      and (expire_time is null or expire_time > p_now) and remaining > 0)
  update credit_grants g set remaining = g.remaining - least(a.remaining, p_amount - a.before)
  from active a
  where g.tenant_id = p_tenant and g.id = a.id and a.before < p_amount;
end
$fn$;

-- tollgate_refill_grants(tenant, resource, amount, now): gives `amount` back to the tenant's
-- active grants on the resource after a correction voided usage they paid for, in the reverse
-- of the order draws take (the grant drawn last is refilled first), each up to its quantity.
-- Returns what could not be given back (grants that expired or were voided since the draw).
-- The caller has locked the grants through tollgate_grant_room.
create or replace function tollgate_refill_grants(p_tenant uuid, p_resource text,
  p_amount numeric, p_now timestamptz)
returns numeric language plpgsql as $fn$
declare
  v_given numeric;
begin
  with drawn as (
    select id, quantity - remaining as gap,
      sum(quantity - remaining) over (
        order by expire_time desc nulls first, create_time desc, id desc)
        - (quantity - remaining) as before
    from credit_grants
    where tenant_id = p_tenant and resource_type = p_resource and void_time is null
      and (expire_time is null or expire_time > p_now) and remaining < quantity),
  given as (
    update credit_grants g set remaining = g.remaining + least(d.gap, p_amount - d.before)
    from drawn d
    where g.tenant_id = p_tenant and g.id = d.id and d.before < p_amount
    returning least(d.gap, p_amount - d.before) as amount)
  select coalesce(sum(amount), 0) into v_given from given;
  return p_amount - v_given;
end
$fn$;
