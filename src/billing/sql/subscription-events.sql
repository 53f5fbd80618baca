-- tollgate_subscription_data(subscription): a subscription as its events carry it, the stored
-- row without internal columns.
create or replace function tollgate_subscription_data(p_subscription subscriptions)
returns jsonb language sql as $fn$
  select to_jsonb(p_subscription) - 'version' - 'proration_behavior'
$fn$;

-- Subscription lifecycle events, written in the transaction of every change whichever path
-- made it (RPCs, provider webhooks, the sweep). A change of plan or period re-arms the watch
-- levels of the tenant's counters, since their allowances may have changed.
create or replace function tollgate_subscription_events()
returns trigger language plpgsql as $fn$
declare
  v_data jsonb := tollgate_subscription_data(new);
  v_type text;
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
$fn$;

create or replace trigger subscriptions_events after insert or update on subscriptions
  for each row execute function tollgate_subscription_events();
