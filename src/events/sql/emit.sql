-- tollgate_emit(tenant, type, data, dedupe key): appends an event to the tenant's log once per
-- dedupe key, with one pending webhook delivery per enabled endpoint that wants its type.
-- Returns the event id, or null when the tenant used the dedupe key before. Whoever called it
-- wakes the streams after commit (NOTIFY tollgate_events from the application): SQL that may run
-- on a worker of a distributed database never notifies.
--
-- Events are numbered per tenant (`seq`): the tenant's head row is locked until commit, so its
-- events commit in `seq` order, and a stream of one tenant resumed after any event misses
-- nothing. Tenants never wait on each other. `create_time` is the transaction's start
-- (`now()`), which the cross-tenant stream's watermark relies on (`src/events/README.md`).
create or replace function tollgate_emit(p_tenant uuid, p_type text, p_data jsonb, p_dedupe text)
returns text language plpgsql as $fn$
declare
  v_id text;
  v_seq bigint;
begin
  if p_dedupe is not null and exists (
    select 1 from events where tenant_id = p_tenant and dedupe_key = p_dedupe)
  then
    return null;
  end if;
  insert into event_heads as h (tenant_id, seq) values (p_tenant, 1)
  on conflict (tenant_id) do update set seq = h.seq + 1
  returning h.seq into v_seq;
  insert into events (tenant_id, seq, id, type, data, dedupe_key, create_time)
  values (p_tenant, v_seq, 'evt_' || replace(gen_random_uuid()::text, '-', ''), p_type, p_data,
    p_dedupe, now())
  on conflict (tenant_id, dedupe_key) do nothing
  returning id into v_id;
  if v_id is null then
    -- A concurrent transaction used the key first: give the number back.
    update event_heads set seq = seq - 1 where tenant_id = p_tenant;
    return null;
  end if;
  insert into webhook_deliveries
    (tenant_id, id, endpoint_id, event_id, state, next_attempt_time, create_time, update_time)
  select p_tenant, 'whd_' || replace(gen_random_uuid()::text, '-', ''), e.id, v_id, 'pending',
    now(), now(), now()
  from webhook_endpoints e
  where e.enabled and (cardinality(e.types) = 0 or p_type = any(e.types));
  return v_id;
end
$fn$;
