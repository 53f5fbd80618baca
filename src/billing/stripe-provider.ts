import Stripe from "stripe";
import type { Plan, PlanCatalog } from "../catalog/catalog.js";
import type { SubscriptionState } from "../catalog/lifecycle.js";
import { counterName } from "../catalog/meters.js";
import { pricingMoment } from "../catalog/pricing.js";
import type { ProrationBehavior } from "./billing.js";
import {
  type BillingProvider,
  BillingProviderError,
  type MeterEvent,
  type PriceReader,
  type ProviderSubscription,
} from "./provider.js";
import { fromStripeInvoice } from "./stripe-invoice.js";
import { COUNTER_METADATA, createStripePricing } from "./stripe-negotiated.js";

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

/** How the Stripe provider reports meter events, and what its previews need of Tollgate. */
export interface StripeBillingOptions {
  /** True: the v2 meter event stream (sessions, 100 events a call); false: v1, one per call. */
  stream: boolean;
  /** A tenant's negotiated prices, to name the lines their Stripe prices bill. */
  readPrices: PriceReader;
}

// A session token is renewed this long before Stripe says it expires.
const SESSION_MARGIN_MS = 60_000;

/**
 * The metered prices a plan's subscription carries, one per metered counter (a resource's
 * total, or a dimension limit with a price of its own), by counter name.
 */
function meteredPrices(plan: Plan | undefined): Map<string, string> {
  const prices = new Map<string, string>();
  for (const [counter, limit] of plan?.limitsByCounter ?? []) {
    if (limit.overage?.meter) prices.set(counter, limit.overage.meter.meteredPriceId);
  }
  return prices;
}

/**
 * The production provider on stripe-node, pinned to the SDK's API version. Every mutation sends
 * the idempotency key it is given (derived from the caller's `request_id`), so a retry — ours
 * or the SDK's own network retries — never creates or changes twice. Stripe failures become
 * `BillingProviderError`: connection, rate-limit and Stripe-side errors are retryable, invalid
 * requests and declined cards are not.
 */
export function createStripeBillingProvider(
  stripe: Stripe,
  catalog: PlanCatalog,
  options: StripeBillingOptions,
): BillingProvider {
  const call = async <T>(what: string, work: () => Promise<T>): Promise<T> => {
    try {
      return await work();
    } catch (error) {
      throw fromStripeError(what, error);
    }
  };

  // The v2 stream's session, renewed shortly before it expires.
  let session: { token: string; renewAt: number } | undefined;

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
              items: [
                { price: input.priceId },
                ...[...meteredPrices(catalog.planByPriceId(input.priceId)).values()].map(
                  (price) => ({ price }),
                ),
              ],
              ...(input.trialDays > 0 && { trial_period_days: input.trialDays }),
            },
            { idempotencyKey: input.idempotencyKey },
          ),
        ),
      ),

    updateSubscription: (input) =>
      call("change subscription price", async () => {
        const current = await stripe.subscriptions.retrieve(input.subscriptionId);
        const item = baseItem(current);
        if (item === undefined) {
          throw new BillingProviderError(
            `subscription ${input.subscriptionId} has no items`,
            false,
          );
        }
        // The fee's item takes the new price; each metered item takes the new plan's price for
        // its resource, or goes when the new plan meters that resource no more.
        const wanted = meteredPrices(input.plan);
        const items: Stripe.SubscriptionUpdateParams.Item[] = [
          { id: item.id, price: input.priceId },
        ];
        // A negotiated price stays on its item while the new plan meters the resource too.
        for (const other of current.items.data) {
          if (other === item) continue;
          const metered = catalog.meteredPrice(other.price.id)?.limit;
          const negotiated = other.price.metadata?.[COUNTER_METADATA];
          const resource = metered
            ? counterName(metered.resourceType, metered.dimensions)
            : negotiated;
          const planPrice = resource === undefined ? undefined : wanted.get(resource);
          const price = planPrice && negotiated ? other.price.id : planPrice;
          if (resource !== undefined) wanted.delete(resource);
          items.push(price ? { id: other.id, price } : { id: other.id, deleted: true });
        }
        for (const price of wanted.values()) items.push({ price });
        const updated = await stripe.subscriptions.update(
          input.subscriptionId,
          {
            items,
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

    previewInvoice: (subscription) =>
      call("preview the upcoming invoice", async () =>
        fromStripeInvoice(
          await stripe.invoices.createPreview({
            customer: subscription.customerId,
            subscription: subscription.id,
          }),
          subscription,
          catalog,
          await options.readPrices(
            subscription.tenantId,
            pricingMoment(subscription.currentPeriodEndTime),
          ),
        ),
      ),

    pricing: createStripePricing(stripe, call),

    meterBatchSize: options.stream ? 100 : 1,
    reportMeterEvents: (events) =>
      call("record meter events", () =>
        options.stream ? streamMeterEvents(events) : createMeterEvents(events),
      ),
  };

  // v1: one call per event. The identifier doubles as the idempotency key, so Stripe replays
  // its first answer to a retry; an identifier it already holds from another request is
  // reported as a duplicate, which means the usage is there.
  async function createMeterEvents(events: readonly MeterEvent[]): Promise<void> {
    for (const event of events) {
      try {
        await stripe.billing.meterEvents.create(
          {
            event_name: event.eventName,
            identifier: event.identifier,
            timestamp: Math.floor(event.timestamp.getTime() / 1000),
            payload: { stripe_customer_id: event.customerId, value: event.value.toFixed(0) },
          },
          { idempotencyKey: event.identifier, maxNetworkRetries: 0 },
        );
      } catch (error) {
        if (!isDuplicateMeterEvent(error)) throw error;
      }
    }
  }

  // v2: a session token (valid 15 minutes) authenticates up to 100 events per call on the
  // high-throughput stream, which dedupes identifiers as v1 does.
  async function streamMeterEvents(events: readonly MeterEvent[]): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      if (session === undefined || Date.now() >= session.renewAt) {
        const created = await stripe.v2.billing.meterEventSession.create(
          {},
          { maxNetworkRetries: 0 },
        );
        session = {
          token: created.authentication_token,
          renewAt: new Date(created.expires_at).getTime() - SESSION_MARGIN_MS,
        };
      }
      try {
        await stripe.v2.billing.meterEventStream.create(
          {
            events: events.map((event) => ({
              event_name: event.eventName,
              identifier: event.identifier,
              timestamp: event.timestamp.toISOString(),
              payload: { stripe_customer_id: event.customerId, value: event.value.toFixed(0) },
            })),
          },
          { apiKey: session.token, maxNetworkRetries: 0 },
        );
        return;
      } catch (error) {
        const expired = error instanceof Stripe.errors.TemporarySessionExpiredError;
        if (!expired || attempt > 0) throw error;
        session = undefined;
      }
    }
  }
}

function isDuplicateMeterEvent(error: unknown): boolean {
  if (!(error instanceof Stripe.errors.StripeError)) return false;
  return (
    error.code === "duplicate_meter_event" ||
    (error.statusCode === 400 && /already exists with identifier/i.test(error.message))
  );
}

/** The item that charges the plan's fee: the one that is not metered. */
function baseItem(subscription: Stripe.Subscription): Stripe.SubscriptionItem | undefined {
  const items = subscription.items.data;
  return items.find((item) => item.price.recurring?.usage_type !== "metered") ?? items[0];
}

/**
 * Maps Stripe's subscription object. In the pinned API version the current period bounds live
 * on the subscription items, not the subscription; cancellation time is `canceled_at` (or
 * `ended_at`) once canceled and `cancel_at` while scheduled.
 */
export function fromStripeSubscription(subscription: Stripe.Subscription): ProviderSubscription {
  const item = baseItem(subscription);
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
