-- tollgate_emit(tenant, type, data, dedupe key): appends an event to the log once per dedupe key,
-- with one pending webhook delivery per enabled endpoint that wants its type, and wakes the
-- streams of every replica (NOTIFY tollgate_events). Returns the event id, or null when the
-- dedupe key was used before.
--
-- Every writer takes one transaction advisory lock (7429001) before inserting, so events are
-- numbered (`seq`) in commit order: a reader that sees an event sees every earlier one, and a
-- stream resumed after any event misses nothing.
create or replace function tollgate_emit(p_tenant uuid, p_type text, p_data jsonb, p_dedupe text)
returns text language plpgsql as $fn$
declare
  v_id text;
begin
  perform pg_advisory_xact_lock(7429001);
  insert into events (id, tenant_id, type, data, dedupe_key, create_time)
  values ('evt_' || replace(gen_random_uuid()::text, '-', ''), p_tenant, p_type, p_data, p_dedupe,
    now())
  on conflict (dedupe_key) do nothing
  returning id into v_id;
  if v_id is null then
    return null;
  end if;
  insert into webhook_deliveries
    (id, endpoint_id, event_id, state, next_attempt_time, create_time, update_time)
  select 'whd_' || replace(gen_random_uuid()::text, '-', ''), e.id, v_id, 'pending', now(), now(),
    now()
  from webhook_endpoints e
  where e.enabled and (cardinality(e.types) = 0 or p_type = any(e.types));
  perform pg_notify('tollgate_events', v_id);
  return v_id;
end
$fn$;
