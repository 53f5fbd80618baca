import { useState } from "preact/hooks";
import type {
  ListPlansResponse,
  ListSubscriptionsResponse,
} from "../../../gen/tollgate/v1/billing_service_pb.js";
import { type Api, failureOf, type Settled } from "../api.js";
import { formatMoney, formatTime, isLive, stateName } from "../format.js";
import { ConfirmAction } from "./confirm-action.js";
import { Section } from "./section.js";

/** The tenant's subscription, its history, and the plan and cancel actions. */
export function TenantSubscription(props: {
  api: Api;
  tenantId: string;
  customerId: string | undefined;
  subscriptions: Settled<ListSubscriptionsResponse>;
  plans: Settled<ListPlansResponse>;
  onChanged(): void;
}) {
  const list = props.subscriptions.ok ? props.subscriptions.value.subscriptions : [];
  const current = list[0];
  const live = current !== undefined && isLive(current.state);
  const priced = props.plans.ok
    ? props.plans.value.plans.filter((plan) => plan.priceId !== "")
    : [];
  const [priceId, setPriceId] = useState("");
  const [now, setNow] = useState(false);
  const chosen = priceId || priced[0]?.priceId || "";

  const changePlan = (requestId: string) => {
    if (live && current) {
      return props.api.billing.updateSubscription({
        subscriptionId: current.id,
        newPriceId: chosen,
        requestId,
      });
    }
    if (props.customerId === undefined) {
      return Promise.resolve("This tenant has no billing customer to subscribe.");
    }
    return props.api.billing.createSubscription({
      customerId: props.customerId,
      priceId: chosen,
      requestId,
    });
  };
  const cancel = (requestId: string) =>
    current
      ? props.api.billing.cancelSubscription({
          subscriptionId: current.id,
          immediate: now,
          requestId,
        })
      : Promise.resolve("There is no subscription to cancel.");

  return (
    <Section
      title="Subscription"
      id="subscription"
      error={failureOf(props.subscriptions)}
      actions={
        <>
          <ConfirmAction
            label={live ? "Change plan" : "Subscribe"}
            title={live ? "Change the plan" : "Subscribe to a plan"}
            disabled={!live && props.customerId === undefined}
            run={changePlan}
            onDone={props.onChanged}
          >
            <label for="plan-price">New plan</label>
            <select
              id="plan-price"
              value={chosen}
              onChange={(e) => setPriceId(e.currentTarget.value)}
            >
              {priced.map((plan) => (
                <option key={plan.priceId} value={plan.priceId}>
                  {plan.displayName} ({formatMoney(plan.unitAmount, plan.currency)})
                </option>
              ))}
            </select>
            <p class="hint">Limits change at once; the provider prorates the fee.</p>
          </ConfirmAction>
          <ConfirmAction
            label="Cancel subscription"
            title="Cancel the subscription"
            danger
            disabled={!live}
            run={cancel}
            onDone={props.onChanged}
          >
            <fieldset>
              <legend>When</legend>
              <label>
                <input
                  type="radio"
                  name="cancel-when"
                  checked={!now}
                  onChange={() => setNow(false)}
                />
                At the end of the current period (the plan is kept until then)
              </label>
              <label>
                <input
                  type="radio"
                  name="cancel-when"
                  checked={now}
                  onChange={() => setNow(true)}
                />
                Now (the tenant drops to FREE at once)
              </label>
            </fieldset>
          </ConfirmAction>
        </>
      }
    >
      {current === undefined && <p>Never subscribed: the tenant is on the FREE plan.</p>}
      {current && (
        <dl class="facts" data-subscription={current.id}>
          <dt>State</dt>
          <dd data-field="state">{stateName(current.state)}</dd>
          <dt>Plan</dt>
          <dd data-field="plan">
            {current.planId} <span class="muted">({current.priceId})</span>
          </dd>
          <dt>Current period</dt>
          <dd>
            {formatTime(current.currentPeriodStartTime)} to{" "}
            {formatTime(current.currentPeriodEndTime)}
          </dd>
          <dt>Trial ends</dt>
          <dd>{formatTime(current.trialEndTime)}</dd>
          <dt>Cancels at period end</dt>
          <dd data-field="cancel-at-period-end">{current.cancelAtPeriodEnd ? "yes" : "no"}</dd>
          <dt>Canceled</dt>
          <dd>{formatTime(current.cancelTime)}</dd>
          <dt>Subscription id</dt>
          <dd>
            <code>{current.id}</code>
          </dd>
        </dl>
      )}
      {list.length > 1 && (
        <details>
          <summary>Earlier subscriptions ({list.length - 1})</summary>
          <ul>
            {list.slice(1).map((s) => (
              <li key={s.id}>
                <code>{s.id}</code> {s.planId}, {stateName(s.state)}, from{" "}
                {formatTime(s.createTime)}
              </li>
            ))}
          </ul>
        </details>
      )}
    </Section>
  );
}
