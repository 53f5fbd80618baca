import { PermissionDeniedError, UnauthenticatedError } from "../platform/errors/domain-error.js";
import type { Principal } from "../platform/server/request-context.js";

/**
 * RPCs only admin keys may call: billing mutations, the audit trail, global statistics, grants,
 * overrides and negotiated prices, webhook endpoints.
 */
const ADMIN_ONLY = new Set([
  "tollgate.v1.BillingService/CreateCustomer",
  "tollgate.v1.BillingService/CreateSubscription",
  "tollgate.v1.BillingService/UpdateSubscription",
  "tollgate.v1.BillingService/CancelSubscription",
  "tollgate.v1.BillingService/ListAuditEvents",
  "tollgate.v1.BillingService/ListCustomers",
  "tollgate.v1.BillingService/CountCustomers",
  "tollgate.v1.BillingService/SetPriceOverride",
  "tollgate.v1.BillingService/DeletePriceOverride",
  "tollgate.v1.BillingService/ListPriceOverrides",
  "tollgate.v1.BillingService/MigrateSubscriptions",
  "tollgate.v1.BillingService/GetTestClock",
  "tollgate.v1.BillingService/AdvanceTestClock",
  "tollgate.v1.UsageService/GetIngestStats",
  "tollgate.v1.UsageService/ReplaceUsage",
  "tollgate.v1.EntitlementService/SetEntitlementOverride",
  "tollgate.v1.EntitlementService/DeleteEntitlementOverride",
  "tollgate.v1.EntitlementService/GrantCredits",
  "tollgate.v1.EntitlementService/ListGrants",
  "tollgate.v1.EntitlementService/ListEntitlementOverrides",
  "tollgate.v1.EntitlementService/VoidGrant",
  "tollgate.v1.EntitlementService/SetFeatureOverride",
  "tollgate.v1.EntitlementService/DeleteFeatureOverride",
  "tollgate.v1.EntitlementService/ListFeatureOverrides",
  "tollgate.v1.EventService/CreateWebhookEndpoint",
  "tollgate.v1.EventService/ListWebhookEndpoints",
  "tollgate.v1.EventService/UpdateWebhookEndpoint",
  "tollgate.v1.EventService/DeleteWebhookEndpoint",
  "tollgate.v1.EventService/RotateWebhookSecret",
  "tollgate.v1.EventService/ListDeliveries",
  "tollgate.v1.EventService/RetryDelivery",
]);

/** Billing mutations, which are also rate-limited per key. */
export const BILLING_MUTATIONS = new Set([
  "tollgate.v1.BillingService/CreateCustomer",
  "tollgate.v1.BillingService/CreateSubscription",
  "tollgate.v1.BillingService/UpdateSubscription",
  "tollgate.v1.BillingService/CancelSubscription",
  "tollgate.v1.BillingService/SetPriceOverride",
  "tollgate.v1.BillingService/DeletePriceOverride",
  "tollgate.v1.BillingService/MigrateSubscriptions",
  "tollgate.v1.BillingService/AdvanceTestClock",
  "tollgate.v1.EntitlementService/SetEntitlementOverride",
  "tollgate.v1.EntitlementService/DeleteEntitlementOverride",
  "tollgate.v1.EntitlementService/GrantCredits",
  "tollgate.v1.EntitlementService/VoidGrant",
  "tollgate.v1.EntitlementService/SetFeatureOverride",
  "tollgate.v1.EntitlementService/DeleteFeatureOverride",
]);

/**
 * RPCs whose `tenant_id` is optional: left empty, the tenant is the object's (a reservation's),
 * which the service checks once it is known, so a tenant key may leave it out.
 */
const OPTIONAL_TENANT = new Set([
  "tollgate.v1.EntitlementService/CommitReservation",
  "tollgate.v1.EntitlementService/ReleaseReservation",
]);

/**
 * Decides whether a principal may make a call, before any handler runs. A tenant key may only
 * name its own tenant in a request's `tenant_id`; RPCs that name objects by id (subscriptions,
 * reservations) and streams of events are checked by their services with
 * {@link assertTenantAccess} once the object's tenant is known.
 */
export function authorizeCall(principal: Principal, procedure: string, message: unknown): void {
  if (principal.role === "admin" || principal.role === "open") return;
  if (principal.role === "none") throw new UnauthenticatedError("the caller is not authenticated");
  if (ADMIN_ONLY.has(procedure)) {
    throw new PermissionDeniedError(`${procedure} needs an admin key`);
  }
  const tenantId = (message as { tenantId?: unknown } | undefined)?.tenantId;
  if (typeof tenantId !== "string") return;
  if (tenantId === "" && OPTIONAL_TENANT.has(procedure)) return;
  assertTenantAccess(principal, tenantId);
}

/** Whether the principal may read and record for `tenantId` (admins: any tenant). */
export function mayAccessTenant(principal: Pick<Principal, "tenantId">, tenantId: string): boolean {
  return principal.tenantId === undefined || principal.tenantId === tenantId.toLowerCase();
}

/** Fails unless the principal may read and record for `tenantId`. */
export function assertTenantAccess(principal: Pick<Principal, "tenantId">, tenantId: string): void {
  if (!mayAccessTenant(principal, tenantId)) {
    throw new PermissionDeniedError(`this API key may not act for tenant ${tenantId || "(none)"}`);
  }
}
