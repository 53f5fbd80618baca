import type { Decimal } from "decimal.js";
import type { Plan } from "../catalog/catalog.js";
import type { SubscriptionTerms } from "../catalog/lifecycle.js";
import type { Pricing } from "../catalog/pricing.js";
import { DomainError, type DomainErrorKind } from "../platform/errors/domain-error.js";
import { BILLING_PROVIDER_REASON } from "../platform/errors/error-reasons.js";
import type { ProrationBehavior, Subscription } from "./billing.js";
import type { Invoice, NegotiatedPrices } from "./invoice.js";

/** A subscription as the billing provider reports it; Tollgate adds tenant and plan. */
export interface ProviderSubscription extends SubscriptionTerms {
  id: string;
  customerId: string;
  priceId: string;
  createTime: Date;
  prorationBehavior: ProrationBehavior | undefined;
}

/**
 * The operations Tollgate needs from a payment platform. Every mutation carries an
 * idempotency key, so a retried request never creates or changes twice at the provider —
 * Stripe honours them natively and the mock mirrors that. Implementations throw
 * BillingProviderError for every provider failure.
 */
export interface BillingProvider {
  readonly name: "mock" | "stripe";
  createCustomer(input: {
    tenantId: string;
    email: string;
    name: string;
    metadata: Record<string, string>;
    idempotencyKey: string;
  }): Promise<{ id: string }>;
  createSubscription(input: {
    customerId: string;
    priceId: string;
    trialDays: number;
    idempotencyKey: string;
  }): Promise<ProviderSubscription>;
  updateSubscription(input: {
    subscriptionId: string;
    priceId: string;
    /** The plan version moved to, whose prices the subscription's items take. */
    plan: Plan;
    prorationBehavior: ProrationBehavior;
    idempotencyKey: string;
  }): Promise<ProviderSubscription>;
  cancelSubscription(input: {
    subscriptionId: string;
    immediate: boolean;
    idempotencyKey: string;
  }): Promise<ProviderSubscription>;
  retrieveSubscription(subscriptionId: string): Promise<ProviderSubscription>;
  /** What the subscription's current period will be charged, as the provider computes it. */
  previewInvoice(subscription: Subscription): Promise<Invoice>;
  /**
   * Records usage on the provider's meters. Each event's identifier is its idempotency key: an
   * identifier the provider already holds counts once, so re-sending after an unknown outcome is
   * safe. Resolves when every event is accepted (a duplicate counts as accepted).
   */
  reportMeterEvents(events: readonly MeterEvent[]): Promise<void>;
  /** The most events one {@link BillingProvider.reportMeterEvents} call may carry. */
  readonly meterBatchSize: number;
  /**
   * Prices kept at the provider (Stripe), which bills from its own prices: negotiated prices
   * are swapped onto the subscription and minimums added to its invoices. Undefined where
   * Tollgate prices invoices itself (the mock).
   */
  readonly pricing?: ProviderPricing;
}

/** Reads a period's usage of some resources of a tenant (zero when absent). */
export type UsageReader = (
  tenantId: string,
  periodStart: Date,
  resourceTypes: string[],
) => Promise<Map<string, Decimal>>;

/** Reads a tenant's negotiated prices in force at a moment, by counter (`NegotiatedPrices`). */
export type PriceReader = (tenantId: string, at: Date) => Promise<NegotiatedPrices>;

/** What a provider that prices invoices itself needs from Tollgate's prices. */
export interface ProviderPricing {
  /**
   * Puts a price on the subscription's metered item of `counter`: a negotiated one (created
   * once from `planPriceId`'s product and meter, or found again by its lookup key), or the
   * plan's own again when `price` is undefined. Resolves to the price id the item carries.
   */
  swapMeteredPrice(input: {
    subscriptionId: string;
    /** The plan's metered price of the counter. */
    planPriceId: string;
    counter: string;
    price: { pricing: Pricing; included: Decimal; currency: string } | undefined;
    idempotencyKey: string;
  }): Promise<string>;
  /** Adds a charge to a draft invoice, once per idempotency key. */
  addInvoiceItem(input: {
    customerId: string;
    invoiceId: string;
    /** Major units of `currency`, whole minor units. */
    amount: Decimal;
    currency: string;
    description: string;
    idempotencyKey: string;
  }): Promise<void>;
}

/** A whole number of units of a resource, for one customer, on one of the provider's meters. */
export interface MeterEvent {
  identifier: string;
  eventName: string;
  customerId: string;
  /** A whole number, never zero: Stripe's meters take no fractions; negative after a correction. */
  value: Decimal;
  /** When the usage happened, within the billing period it belongs to. */
  timestamp: Date;
}

/**
 * The provider failed. `retryable` failures (network, rate limit, provider outage) reach
 * the caller as `Unavailable` so they retry with the same `request_id`; permanent ones
 * (rejected card, invalid request) as `FailedPrecondition`. The provider's own error is kept
 * as `cause` for the log and never shown to the client.
 */
export class BillingProviderError extends DomainError {
  override name = "BillingProviderError";
  readonly kind: DomainErrorKind;
  override readonly reason = BILLING_PROVIDER_REASON;
  constructor(
    message: string,
    readonly retryable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.kind = retryable ? "unavailable" : "failed_precondition";
  }
}
