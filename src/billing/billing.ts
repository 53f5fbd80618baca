import type { SubscriptionTerms } from "../catalog/lifecycle.js";

/** How a mid-period plan change is charged, with Stripe's names. */
export type ProrationBehavior = "create_prorations" | "none" | "always_invoice";

/** The billing identity of one tenant. */
export interface Customer {
  id: string;
  tenantId: string;
  email: string;
  name: string;
  metadata: Record<string, string>;
  createTime: Date;
}

/** A subscription as Tollgate stores it: the provider's object plus the tenant and plan. */
export interface Subscription extends SubscriptionTerms {
  id: string;
  customerId: string;
  tenantId: string;
  planId: string;
  priceId: string;
  createTime: Date;
  prorationBehavior: ProrationBehavior | undefined;
}

/** Input of a customer creation, already validated. */
export interface CreateCustomerInput {
  tenantId: string;
  email: string;
  name: string;
  metadata: Record<string, string>;
  requestId: string;
}

/** Input of a subscription creation, already validated. */
export interface CreateSubscriptionInput {
  customerId: string;
  priceId: string;
  trialDays: number;
  requestId: string;
}

/** Input of a plan change, already validated. */
export interface UpdateSubscriptionInput {
  subscriptionId: string;
  newPriceId: string;
  prorationBehavior: ProrationBehavior;
  requestId: string;
}

/** Input of a cancellation, already validated. */
export interface CancelSubscriptionInput {
  subscriptionId: string;
  immediate: boolean;
  requestId: string;
}
