import type { IncomingHttpHeaders } from "node:http";
import type Stripe from "stripe";
import type { Logger } from "../platform/observability/logger.js";
import type { HttpEndpoint, HttpOutcome } from "../platform/server/http-handler.js";
import type { DraftInvoice } from "./minimums.js";
import type { BillingService } from "./service.js";
import type { BillingStore } from "./store.js";

/** Where Stripe delivers its events. */
export const STRIPE_WEBHOOK_PATH = "/webhooks/stripe";

// Stripe's events are a few kilobytes; anything far larger is not from Stripe.
const MAX_WEBHOOK_BYTES = 1024 * 1024;

/** Options of {@link createStripeWebhookEndpoint}. */
export interface StripeWebhookOptions {
  stripe: Stripe;
  /** `STRIPE_WEBHOOK_SECRET`, the endpoint's signing secret. */
  secret: string;
  billing: BillingService;
  store: Pick<BillingStore, "claimStripeEvent" | "releaseStripeEvent">;
  logger: Logger;
  /** Adds a plan's minimum to a period's draft invoice, once per invoice. */
  addMinimum(invoice: DraftInvoice): Promise<string>;
}

const SUBSCRIPTION_EVENTS = new Set([
  "customer.subscription.created",
  "customer.subscription.updated",
  "customer.subscription.deleted",
  "customer.subscription.trial_will_end",
]);
const INVOICE_EVENTS = new Set(["invoice.paid", "invoice.payment_failed"]);
const MAX_LOGGED_REASON = 300;
const STRIPE: { id: string; tenantId: undefined } = { id: "stripe", tenantId: undefined };

/**
 * Serves `POST /webhooks/stripe`, or answers 501 when the provider is not Stripe (`options`
 * undefined). The signature is checked on the raw body with the SDK
 * (and its timestamp tolerance); each event id is processed once; and rather than trusting the
 * event's copy of the subscription, which may be older than one already applied when Stripe
 * delivers out of order, the subscription is fetched fresh and stored as it is now. Invoice
 * events do the same for their subscription, so `invoice.payment_failed` yields `past_due` and
 * `invoice.paid` clears it, exactly as Stripe says. Unhandled types are acknowledged and logged.
 */
export function createStripeWebhookEndpoint(
  options: StripeWebhookOptions | undefined,
): HttpEndpoint {
  return {
    path: STRIPE_WEBHOOK_PATH,
    maxBodyBytes: MAX_WEBHOOK_BYTES,
    handle: options && processDeliveries(options),
    disabled: "stripe webhooks are served when BILLING_PROVIDER=stripe",
  };
}

function processDeliveries(
  options: StripeWebhookOptions,
): (rawBody: Buffer, headers: IncomingHttpHeaders) => Promise<HttpOutcome> {
  const { stripe, billing, store, logger } = options;
  return async (rawBody, headers) => {
    const header = headers["stripe-signature"];
    const signature = Array.isArray(header) ? header[0] : header;
    let event: Stripe.Event;
    try {
      event = stripe.webhooks.constructEvent(rawBody, signature ?? "", options.secret);
    } catch (error) {
      // The SDK's error carries the raw body and the header: logging it would turn a junk
      // POST into a log line of any size, and a misconfigured secret would log customers'
      // data. The message alone says why.
      const reason = error instanceof Error ? error.message.slice(0, MAX_LOGGED_REASON) : "";
      logger.warn({ reason, bytes: rawBody.length }, "stripe webhook refused: bad signature");
      return { status: 400, body: { error: "invalid signature" } };
    }
    // A draft invoice gets the plan's minimum before the event is claimed: adding it is
    // idempotent on its own, and a failure must leave the event for Stripe to deliver again.
    if (event.type === "invoice.created") {
      try {
        const draft = draftOf(event.data.object as Stripe.Invoice);
        const outcome = draft ? await options.addMinimum(draft) : "not a subscription's";
        logger.info({ id: event.id, outcome }, "stripe draft invoice checked for a minimum");
      } catch (error) {
        logger.error({ err: error, id: event.id }, "stripe draft invoice: minimum not added");
        return { status: 500, body: { error: "processing failed; Stripe will retry" } };
      }
    }
    const created = new Date(event.created * 1000);
    if (!(await store.claimStripeEvent(event.id, event.type, created))) {
      return { status: 200, body: { received: true, duplicate: true } };
    }
    try {
      const target = subscriptionOf(event);
      if (target === undefined) {
        logger.info({ id: event.id, type: event.type }, "stripe webhook not handled");
        return { status: 200, body: { received: true, handled: false } };
      }
      const outcome = await billing.syncSubscription(STRIPE, target.subscription, target.customer);
      logger.info({ id: event.id, type: event.type, outcome }, "stripe webhook processed");
      return { status: 200, body: { received: true, handled: true } };
    } catch (error) {
      // Stripe delivers again later; the event must be processable then.
      await store.releaseStripeEvent(event.id).catch(() => undefined);
      logger.error({ err: error, id: event.id, type: event.type }, "stripe webhook failed");
      return { status: 500, body: { error: "processing failed; Stripe will retry" } };
    }
  };
}

function draftOf(invoice: Stripe.Invoice): DraftInvoice | undefined {
  const idOf = (value: string | { id: string } | null | undefined) =>
    typeof value === "string" ? value : (value?.id ?? "");
  const subscriptionId = idOf(invoice.parent?.subscription_details?.subscription);
  if (subscriptionId === "" || invoice.id === undefined) return undefined;
  return {
    id: invoice.id,
    customerId: idOf(invoice.customer),
    subscriptionId,
    billingReason: invoice.billing_reason ?? "",
    periodStart: new Date(invoice.period_start * 1000),
    periodEnd: new Date(invoice.period_end * 1000),
  };
}

function subscriptionOf(
  event: Stripe.Event,
): { subscription: string; customer: string } | undefined {
  const idOf = (value: string | { id: string } | null | undefined) =>
    typeof value === "string" ? value : (value?.id ?? "");
  if (SUBSCRIPTION_EVENTS.has(event.type)) {
    const subscription = event.data.object as Stripe.Subscription;
    return { subscription: subscription.id, customer: idOf(subscription.customer) };
  }
  if (INVOICE_EVENTS.has(event.type)) {
    const invoice = event.data.object as Stripe.Invoice;
    const subscription = idOf(invoice.parent?.subscription_details?.subscription);
    if (subscription === "") return undefined;
    return { subscription, customer: idOf(invoice.customer) };
  }
  return undefined;
}
