import type { ConnectRouter, ServiceImpl } from "@connectrpc/connect";
import { Health } from "../../gen/health/v1/health_pb.js";
import { BillingService } from "../../gen/tollgate/v1/billing_service_pb.js";
import { EntitlementService } from "../../gen/tollgate/v1/entitlement_service_pb.js";
import { UsageService } from "../../gen/tollgate/v1/usage_service_pb.js";
import { type HealthState, registerHealth } from "./health.js";
import { registerReflection } from "./reflection.js";

/** The three Tollgate services of the API contract. */
export const TOLLGATE_SERVICES = [BillingService, EntitlementService, UsageService] as const;

/** What the routes need from the rest of the application. */
export interface RoutesOptions {
  health: HealthState;
  billing: ServiceImpl<typeof BillingService>;
  entitlements: ServiceImpl<typeof EntitlementService>;
  usage: ServiceImpl<typeof UsageService>;
}

/**
 * Every RPC the server answers: the Tollgate services, gRPC health, and reflection over all of
 * them.
 */
export function createRoutes(options: RoutesOptions): (router: ConnectRouter) => void {
  return (router) => {
    router.service(BillingService, options.billing);
    router.service(EntitlementService, options.entitlements);
    router.service(UsageService, options.usage);
    registerHealth(router, options.health);
    registerReflection(router, [...TOLLGATE_SERVICES, Health]);
  };
}
