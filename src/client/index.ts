/**
 * Tollgate's TypeScript SDK (`tollgate/client`): typed clients of the three services, the
 * seed's UsageTracker and EntitlementEnforcer, `requireEntitlement` as a wrapper and as a method
 * decorator, and entitlement enforcement for your own Connect services and Node servers.
 */
export {
  checkEntitlementOrRaise,
  createEntitlementEnforcer,
  type EntitlementCheck,
  type EntitlementEnforcer,
} from "./enforcer.js";
export {
  BillingProviderError,
  type EntitlementDenial,
  EntitlementEnforcementError,
  fromConnectError,
} from "./errors.js";
export {
  createEntitlementInterceptor,
  createEntitlementMiddleware,
  type EntitlementInterceptorOptions,
  type EntitlementMiddlewareOptions,
  type EntitlementRule,
  type MiddlewareRequest,
} from "./framework.js";
export { type Quantity, toQuantityString } from "./quantity.js";
export { type RequireEntitlementOptions, requireEntitlement } from "./require-entitlement.js";
export {
  createTollgateClient,
  type TollgateClient,
  type TollgateClientOptions,
} from "./tollgate-client.js";
export {
  UsageBufferFullError,
  UsageRejectedError,
  UsageTracker,
  type UsageTrackerOptions,
  type UsageTrackerStats,
} from "./usage-tracker.js";
