import { MAX_PAGE_SIZE } from "../platform/pagination/page-token.js";
import { createFieldChecks } from "../platform/validation/field-checks.js";
import { checkObjectId, checkRequestId, FIELD_RULES } from "../platform/validation/field-rules.js";
import type {
  CancelSubscriptionInput,
  CreateCustomerInput,
  CreateSubscriptionInput,
  ProrationBehavior,
  UpdateSubscriptionInput,
} from "./billing.js";

export const PRORATION_BEHAVIORS: readonly string[] = [
  "create_prorations",
  "none",
  "always_invoice",
];
const EMAIL = /^[^\s@]+@[^\s@]+$/;

/**
 * Validation of billing inputs at the service boundary: every violation of a request is
 * reported together, and values come back normalized (tenant ids in lower case).
 */
export function validateCreateCustomer(input: CreateCustomerInput): CreateCustomerInput {
  const checks = createFieldChecks();
  checks.uuid("tenant_id", input.tenantId);
  if (checks.text("email", input.email, { max: FIELD_RULES.emailMax, required: true })) {
    checks.check(EMAIL.test(input.email), "email", "must be an email address");
  }
  checks.text("name", input.name, { max: FIELD_RULES.nameMax });
  checks.stringMap("metadata", input.metadata, FIELD_RULES.metadata);
  checkRequestId(checks, "request_id", input.requestId);
  checks.throwIfAny();
  return { ...input, tenantId: input.tenantId.toLowerCase() };
}

/** Validates a subscription creation; see {@link validateCreateCustomer}. */
export function validateCreateSubscription(
  input: CreateSubscriptionInput,
): CreateSubscriptionInput {
  const checks = createFieldChecks();
  checkObjectId(checks, "customer_id", input.customerId);
  checkObjectId(checks, "price_id", input.priceId);
  checks.intRange("trial_days", input.trialDays, 0, 730);
  checkRequestId(checks, "request_id", input.requestId);
  checks.throwIfAny();
  return input;
}

/** Validates a plan change; an unset proration behavior means `create_prorations`. */
export function validateUpdateSubscription(
  input: Omit<UpdateSubscriptionInput, "prorationBehavior"> & { prorationBehavior: string },
): UpdateSubscriptionInput {
  const checks = createFieldChecks();
  checkObjectId(checks, "subscription_id", input.subscriptionId);
  checkObjectId(checks, "new_price_id", input.newPriceId);
  const prorationBehavior = input.prorationBehavior || "create_prorations";
  checks.check(
    PRORATION_BEHAVIORS.includes(prorationBehavior),
    "proration_behavior",
    "must be a ProrationBehavior value",
  );
  checkRequestId(checks, "request_id", input.requestId);
  checks.throwIfAny();
  return { ...input, prorationBehavior: prorationBehavior as ProrationBehavior };
}

/** Validates a cancellation; see {@link validateCreateCustomer}. */
export function validateCancelSubscription(
  input: CancelSubscriptionInput,
): CancelSubscriptionInput {
  const checks = createFieldChecks();
  checkObjectId(checks, "subscription_id", input.subscriptionId);
  checkRequestId(checks, "request_id", input.requestId);
  checks.throwIfAny();
  return input;
}

/** Validates a subscription id argument. */
export function validateSubscriptionId(subscriptionId: string): string {
  const checks = createFieldChecks();
  checkObjectId(checks, "subscription_id", subscriptionId);
  checks.throwIfAny();
  return subscriptionId;
}

/** ListSubscriptions: the tenant and the page size; returns the tenant in lower case. */
export function validateSubscriptionPage(tenantId: string, pageSize: number): string {
  const checks = createFieldChecks();
  checks.uuid("tenant_id", tenantId);
  checks.intRange("page_size", pageSize, 0, MAX_PAGE_SIZE);
  checks.throwIfAny();
  return tenantId.toLowerCase();
}

// Long enough for any email address someone would paste; short enough to keep ILIKE cheap.
const MAX_QUERY_LENGTH = 200;

/** ListCustomers: the search text and the page size. */
export function validateCustomerSearch(raw: { query: string; pageSize: number }): void {
  const checks = createFieldChecks();
  checks.text("query", raw.query, { max: MAX_QUERY_LENGTH });
  checks.intRange("page_size", raw.pageSize, 0, MAX_PAGE_SIZE);
  checks.throwIfAny();
}
