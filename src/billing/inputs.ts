import { createFieldChecks } from "../validation/field-checks.js";
import type {
  CancelSubscriptionInput,
  CreateCustomerInput,
  CreateSubscriptionInput,
  ProrationBehavior,
  UpdateSubscriptionInput,
} from "./billing.js";

const PRORATION_BEHAVIORS: readonly string[] = ["create_prorations", "none", "always_invoice"];
const ID_MAX = 255;
const EMAIL = /^[^\s@]+@[^\s@]+$/;

/**
 * Validation of billing inputs at the service boundary: every violation of a request is
 * reported together, and values come back normalized (tenant ids in lower case).
 */
export function validateCreateCustomer(input: CreateCustomerInput): CreateCustomerInput {
  const checks = createFieldChecks();
  checks.uuid("tenant_id", input.tenantId);
  if (checks.text("email", input.email, { max: 254, required: true })) {
    checks.check(EMAIL.test(input.email), "email", "must be an email address");
  }
  checks.text("name", input.name, { max: 256 });
  checks.stringMap("metadata", input.metadata, { maxEntries: 50, maxKey: 40, maxValue: 500 });
  checks.text("request_id", input.requestId, { max: ID_MAX });
  checks.throwIfAny();
  return { ...input, tenantId: input.tenantId.toLowerCase() };
}

/** Validates a subscription creation; see {@link validateCreateCustomer}. */
export function validateCreateSubscription(
  input: CreateSubscriptionInput,
): CreateSubscriptionInput {
  const checks = createFieldChecks();
  checks.text("customer_id", input.customerId, { max: ID_MAX, required: true });
  checks.text("price_id", input.priceId, { max: ID_MAX, required: true });
  checks.intRange("trial_days", input.trialDays, 0, 730);
  checks.text("request_id", input.requestId, { max: ID_MAX });
  checks.throwIfAny();
  return input;
}

/** Validates a plan change; an unset proration behavior means `create_prorations`. */
export function validateUpdateSubscription(
  input: Omit<UpdateSubscriptionInput, "prorationBehavior"> & { prorationBehavior: string },
): UpdateSubscriptionInput {
  const checks = createFieldChecks();
  checks.text("subscription_id", input.subscriptionId, { max: ID_MAX, required: true });
  checks.text("new_price_id", input.newPriceId, { max: ID_MAX, required: true });
  const prorationBehavior = input.prorationBehavior || "create_prorations";
  checks.check(
    PRORATION_BEHAVIORS.includes(prorationBehavior),
    "proration_behavior",
    "must be a ProrationBehavior value",
  );
  checks.text("request_id", input.requestId, { max: ID_MAX });
  checks.throwIfAny();
  return { ...input, prorationBehavior: prorationBehavior as ProrationBehavior };
}

/** Validates a cancellation; see {@link validateCreateCustomer}. */
export function validateCancelSubscription(
  input: CancelSubscriptionInput,
): CancelSubscriptionInput {
  const checks = createFieldChecks();
  checks.text("subscription_id", input.subscriptionId, { max: ID_MAX, required: true });
  checks.text("request_id", input.requestId, { max: ID_MAX });
  checks.throwIfAny();
  return input;
}

/** Validates a tenant id argument and returns it in canonical lower case. */
export function validateTenantId(tenantId: string): string {
  const checks = createFieldChecks();
  checks.uuid("tenant_id", tenantId);
  checks.throwIfAny();
  return tenantId.toLowerCase();
}

/** Validates a subscription id argument. */
export function validateSubscriptionId(subscriptionId: string): string {
  const checks = createFieldChecks();
  checks.text("subscription_id", subscriptionId, { max: ID_MAX, required: true });
  checks.throwIfAny();
  return subscriptionId;
}
