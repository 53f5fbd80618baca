/**
 * The quick reference's "Billing Provider" section: create a customer, subscribe to PRO with a
 * 14-day trial, upgrade to TEAM, cancel at period end, then immediately — and catch
 * `BillingProviderError` the way the seed does.
 */
import { BillingProviderError, createTollgateClient } from "@tollgate/client";
import { type ExampleContext, runIfMain } from "./context.js";

export async function main({ baseUrl, apiKey, tenantId }: ExampleContext) {
  const { billing } = createTollgateClient({ baseUrl, apiKey });

  // provider.create_customer(tenant_id=…, email=…, name=…)
  const { customer } = await billing.createCustomer({
    tenantId,
    email: "user@example.com",
    name: "John Doe",
    requestId: `signup-${tenantId}`,
  });
  const customerId = customer?.id ?? "";

  // provider.create_subscription(customer_id=…, price_id="price_pro_monthly", trial_days=14),
  // catching BillingProviderError as the seed does: a retryable one (the provider is down) may
  // be sent again with the same request id, which never subscribes twice.
  let created: Awaited<ReturnType<typeof billing.createSubscription>>;
  try {
    created = await billing.createSubscription({
      customerId,
      priceId: "price_pro_monthly",
      trialDays: 14,
      requestId: `subscribe-${tenantId}`,
    });
  } catch (error) {
    if (error instanceof BillingProviderError) {
      console.error(`billing error (retryable: ${error.retryable}): ${error.message}`);
    }
    throw error;
  }
  const subscriptionId = created.subscription?.id ?? "";

  // provider.update_subscription(sub_id, new_price_id="price_team_monthly")
  const upgraded = await billing.updateSubscription({
    subscriptionId,
    newPriceId: "price_team_monthly",
  });

  // provider.cancel_subscription(sub_id, immediate=False), then immediate=True
  const atPeriodEnd = await billing.cancelSubscription({ subscriptionId, immediate: false });
  const canceled = await billing.cancelSubscription({ subscriptionId, immediate: true });

  return {
    customerId,
    subscriptionId,
    trialing: created.subscription?.state,
    upgradedPlan: upgraded.subscription?.planId,
    cancelAtPeriodEnd: atPeriodEnd.subscription?.cancelAtPeriodEnd,
    finalState: canceled.subscription?.state,
  };
}

runIfMain(import.meta.url, main);
