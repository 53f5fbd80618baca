import type { Knex } from "knex";
import type { SubscriptionState } from "../catalog/lifecycle.js";
import type { ProrationBehavior } from "./billing.js";

/*
 * The billing tables as the drivers return them (timestamps as Dates, jsonb parsed, absent
 * values as null), registered with knex so the stores cast no column. jsonb goes in as text.
 */

/** A row of `customers`. */
export interface CustomerRow {
  id: string;
  tenant_id: string;
  email: string;
  name: string;
  metadata: Record<string, string>;
  create_time: Date;
}

/** A row of `subscriptions`; `version` guards time-based updates racing on replicas. */
export interface SubscriptionRow {
  id: string;
  tenant_id: string;
  customer_id: string;
  plan_id: string;
  price_id: string;
  state: SubscriptionState;
  trial_end_time: Date | null;
  current_period_start_time: Date;
  current_period_end_time: Date;
  billing_cycle_anchor_time: Date;
  cancel_at_period_end: boolean;
  cancel_time: Date | null;
  proration_behavior: ProrationBehavior | null;
  create_time: Date;
  version: number;
  plan_version: number;
  scheduled_plan_version: number | null;
  scheduled_migration_time: Date | null;
  migration_proration_behavior: ProrationBehavior | null;
  provider_plan_version: number | null;
}

/** A row of `billing_requests`: the first answer of a request id. */
export interface BillingRequestRow {
  tenant_id: string;
  request_id: string;
  operation: string;
  fingerprint: string;
  response: unknown;
  create_time: Date;
}

/** A row of `stripe_events`: an event id processed once. */
export interface StripeEventRow {
  id: string;
  type: string;
  create_time: Date;
  process_time: Date;
}

/** A row of `billing_leases`: who holds a tenant's mutation lease, until when. */
export interface LeaseRow {
  tenant_id: string;
  holder: string;
  expire_time: Date;
}

/** A row of `mock_billing_objects`: the mock provider's remote objects. */
export interface MockObjectRow {
  id: string;
  kind: string;
  data: unknown;
}

/** A row of `mock_billing_requests`: the mock provider's idempotency keys. */
export interface MockRequestRow {
  idempotency_key: string;
  response: unknown;
}

/** A row of `mock_meter_events`: meter events as the mock provider keeps them. */
export interface MockMeterEventRow {
  identifier: string;
  customer_id: string;
  event_name: string;
  value: string;
  event_time: Date;
  create_time: Date;
}

/** What an insert may give for jsonb columns: the value, or its JSON text. */
type WithJson<R, K extends keyof R> = Omit<R, K> & { [P in K]: string | R[P] };

declare module "knex/types/tables.js" {
  interface Tables {
    customers: Knex.CompositeTableType<CustomerRow, WithJson<CustomerRow, "metadata">>;
    subscriptions: Knex.CompositeTableType<
      SubscriptionRow,
      Omit<SubscriptionRow, "version">,
      Partial<Omit<SubscriptionRow, "version">> & { version?: Knex.Raw }
    >;
    billing_requests: Knex.CompositeTableType<
      BillingRequestRow,
      WithJson<BillingRequestRow, "response">
    >;
    stripe_events: Knex.CompositeTableType<StripeEventRow, Omit<StripeEventRow, "process_time">>;
    minimum_true_ups: MinimumTrueUpRow;
    billing_leases: LeaseRow;
    mock_billing_objects: Knex.CompositeTableType<MockObjectRow, WithJson<MockObjectRow, "data">>;
    mock_billing_requests: Knex.CompositeTableType<
      MockRequestRow,
      WithJson<MockRequestRow, "response">
    >;
    mock_meter_events: MockMeterEventRow;
  }
}

/** A row of `minimum_true_ups`: a minimum's charge added to one provider invoice. */
export interface MinimumTrueUpRow {
  tenant_id: string;
  invoice_id: string;
  amount: string;
  currency: string;
  state: "pending" | "added";
  create_time: Date;
}
