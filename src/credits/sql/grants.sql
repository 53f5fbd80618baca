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
