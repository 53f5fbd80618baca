/**
 * Tollgate's TypeScript SDK (`tollgate/client`): typed clients of the three services, the
 * seed's UsageTracker and EntitlementEnforcer, `requireEntitlement` as a wrapper and as a method
 * decorator, and entitlement enforcement for your own Connect services and Node servers.
 */

export {
  checkEntitlementOrRaise,
  createEntitlementEnforcer,
  type Dimensions,
  type EntitlementCheck,
  type EntitlementEnforcer,
} from "./enforcer.js";
export {
  BillingProviderError,
  type EntitlementDenial,
  EntitlementEnforcementError,
  fromConnectError,
} from "./errors.js";
export type {
  CachedFeature,
  FeatureAnswerSource,
  FeatureCacheOptions,
} from "./feature-cache.js";
export {
  createEntitlementGuard,
  createEntitlementHook,
  createEntitlementInterceptor,
  createEntitlementMiddleware,
  type EntitlementHttpError,
  type EntitlementHttpOptions,
  type EntitlementInterceptorOptions,
  type EntitlementRule,
  entitlementErrorBody,
  type HeaderCarrier,
  httpStatusOf,
  type ReplyLike,
  toEntitlementHttpError,
} from "./framework.js";
// The API contract itself: service descriptors, message types and schemas, and enums
// (`DenialReason`, `SubscriptionState`, `Granularity`, …), so results can be read by name.
export * from "./gen/tollgate/v1/billing_service_pb.js";
export * from "./gen/tollgate/v1/entitlement_service_pb.js";
export * from "./gen/tollgate/v1/event_service_pb.js";
export * from "./gen/tollgate/v1/resource_pb.js";
export * from "./gen/tollgate/v1/usage_service_pb.js";
export { type Quantity, toQuantityString } from "./quantity.js";
export {
  type EntitlementDecorator,
  type RequireEntitlementOptions,
  requireEntitlement,
} from "./require-entitlement.js";
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
