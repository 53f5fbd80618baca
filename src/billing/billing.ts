import type { Plan } from "../catalog/catalog.js";
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
  /** The version of the plan it is on (`PlanCatalog.planVersion`). */
  planVersion: number;
  priceId: string;
  createTime: Date;
  prorationBehavior: ProrationBehavior | undefined;
  /** A migration waiting for the period end: the version it moves to, when, and how. */
  scheduledMigration?: ScheduledMigration | undefined;
  /**
   * A version applied here whose prices the provider's subscription does not carry yet (a
   * migration applied at a period boundary), and how the provider charges the move; the
   * provider migrations sweep moves them.
   */
  providerMove?: ProviderMove | undefined;
}

/** A plan version whose prices the provider's subscription is yet to take. */
export interface ProviderMove {
  version: number;
  prorationBehavior: ProrationBehavior;
}

/** A plan version migration that takes effect at `time`, the end of a period. */
export interface ScheduledMigration {
  version: number;
  time: Date;
  prorationBehavior: ProrationBehavior;
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

/** Input of a plan version migration of one subscription, already validated. */
export interface MigrateSubscriptionInput {
  subscriptionId: string;
  /** The version moved to, of the plan the subscription is on. */
  plan: Plan;
  fromVersion: number;
  effective: "immediately" | "period_end";
  prorationBehavior: ProrationBehavior;
  requestId: string;
}
