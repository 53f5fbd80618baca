import Stripe from "stripe";
import type { ProrationBehavior, SubscriptionState } from "./billing.js";
import {
  type BillingProvider,
  BillingProviderError,
  type ProviderSubscription,
} from "./provider.js";

/** Options of {@link createStripeClient}. */
export interface StripeProviderOptions {
  secretKey: string;
  /**
   * Where the Stripe API is, for a proxy or a test double; Stripe itself when undefined.
   * For example `http://127.0.0.1:12111`.
   */
  apiUrl?: string;
  /** The SDK's own retries of connection errors, 409s, 429s and 5xx; 2 by default. */
  maxNetworkRetries?: number;
  /** Per-request timeout, kept well under the billing lease (60 s); 20 s by default. */
  timeoutMs?: number;
}

const STATE_BY_STATUS: Record<string, SubscriptionState> = {
  trialing: "trialing",
  active: "active",
  past_due: "past_due",
  // Unpaid subscriptions keep retrying payment as past-due ones do; the plan still applies.
  unpaid: "past_due",
  canceled: "canceled",
  incomplete: "incomplete",
  // An incomplete subscription whose first payment window closed never becomes live.
  incomplete_expired: "canceled",
  // A paused subscription grants nothing until resumed.
  paused: "incomplete",
};

/** Creates the stripe-node client the provider and the webhook endpoint share. */
export function createStripeClient(options: StripeProviderOptions): Stripe {
  const api = options.apiUrl ? new URL(options.apiUrl) : undefined;
  return new Stripe(options.secretKey, {
    maxNetworkRetries: options.maxNetworkRetries ?? 2,
    timeout: options.timeoutMs ?? 20_000,
    telemetry: false,
    ...(api && {
      host: api.hostname,
      port: api.port || (api.protocol === "https:" ? 443 : 80),
      protocol: api.protocol === "https:" ? "https" : "http",
    }),
  });
}

/**
 * The production provider on stripe-node, pinned to the SDK's API version. Every mutation sends
 * the idempotency key it is given (derived from the caller's `request_id`), so a retry — ours
 * or the SDK's own network retries — never creates or changes twice. Stripe failures become
 * `BillingProviderError`: connection, rate-limit and Stripe-side errors are retryable, invalid
 * requests and declined cards are not.
 */
export function createStripeBillingProvider(stripe: Stripe): BillingProvider {
  const call = async <T>(what: string, work: () => Promise<T>): Promise<T> => {
    try {
      return await work();
    } catch (error) {
      throw fromStripeError(what, error);
    }
  };

  return {
    name: "stripe",
    createCustomer: (input) =>
      call("create customer", async () => {
        const customer = await stripe.customers.create(
          {
            email: input.email,
            name: input.name || undefined,
            metadata: { ...input.metadata, tenant_id: input.tenantId },
          },
          { idempotencyKey: input.idempotencyKey },
        );
        return { id: customer.id };
      }),

    createSubscription: (input) =>
      call("create subscription", async () =>
        fromStripeSubscription(
          await stripe.subscriptions.create(
            {
              customer: input.customerId,
              items: [{ price: input.priceId }],
              ...(input.trialDays > 0 && { trial_period_days: input.trialDays }),
            },
            { idempotencyKey: input.idempotencyKey },
          ),
        ),
      ),

    updateSubscription: (input) =>
      call("change subscription price", async () => {
        const current = await stripe.subscriptions.retrieve(input.subscriptionId);
        const item = current.items.data[0];
        if (item === undefined) {
          throw new BillingProviderError(
            `subscription ${input.subscriptionId} has no items`,
            false,
          );
        }
        const updated = await stripe.subscriptions.update(
          input.subscriptionId,
          {
            items: [{ id: item.id, price: input.priceId }],
            proration_behavior: input.prorationBehavior,
          },
          { idempotencyKey: input.idempotencyKey },
        );
        return { ...fromStripeSubscription(updated), prorationBehavior: input.prorationBehavior };
      }),

    cancelSubscription: (input) =>
      call("cancel subscription", async () =>
        fromStripeSubscription(
          input.immediate
            ? await stripe.subscriptions.cancel(
                input.subscriptionId,
                {},
                { idempotencyKey: input.idempotencyKey },
              )
            : await stripe.subscriptions.update(
                input.subscriptionId,
                { cancel_at_period_end: true },
                { idempotencyKey: input.idempotencyKey },
              ),
        ),
      ),

    retrieveSubscription: (id) =>
      call("retrieve subscription", async () =>
        fromStripeSubscription(await stripe.subscriptions.retrieve(id)),
      ),
  };
}

/**
 * Maps Stripe's subscription object. In the pinned API version the current period bounds live
 * on the subscription items, not the subscription; cancellation time is `canceled_at` (or
 * `ended_at`) once canceled and `cancel_at` while scheduled.
 */
export function fromStripeSubscription(subscription: Stripe.Subscription): ProviderSubscription {
  const item = subscription.items.data[0];
  const seconds = (value: number | null | undefined) =>
    value === null || value === undefined ? undefined : new Date(value * 1000);
  const state = STATE_BY_STATUS[subscription.status] ?? "incomplete";
  const periodStart = seconds(item?.current_period_start) ?? seconds(subscription.created);
  const periodEnd = seconds(item?.current_period_end) ?? periodStart;
  return {
    id: subscription.id,
    customerId:
      typeof subscription.customer === "string" ? subscription.customer : subscription.customer.id,
    priceId: item?.price.id ?? "",
    state,
    trialEndTime: seconds(subscription.trial_end),
    currentPeriodStartTime: periodStart as Date,
    currentPeriodEndTime: periodEnd as Date,
    billingCycleAnchorTime: seconds(subscription.billing_cycle_anchor) as Date,
    cancelAtPeriodEnd: subscription.cancel_at_period_end,
    cancelTime:
      state === "canceled"
        ? seconds(subscription.canceled_at ?? subscription.ended_at)
        : seconds(subscription.cancel_at),
    createTime: seconds(subscription.created) as Date,
    prorationBehavior: undefined as ProrationBehavior | undefined,
  };
}

function fromStripeError(what: string, error: unknown): Error {
  if (error instanceof BillingProviderError) return error;
  const { errors } = Stripe;
  const retryable =
    error instanceof errors.StripeConnectionError ||
    error instanceof errors.StripeRateLimitError ||
    error instanceof errors.StripeAPIError ||
    (error instanceof errors.StripeError && (error.statusCode ?? 0) >= 500);
  // Anything that is not Stripe's is a bug of ours, and must surface as one (Internal).
  if (!(error instanceof errors.StripeError)) return error as Error;
  // Stripe's messages are written for API users and carry no secrets; they help the caller.
  return new BillingProviderError(`Stripe could not ${what}: ${error.message}`, retryable, {
    cause: error,
  });
}
