import {
  type ConnectRouter,
  createServiceImplSpec,
  type MethodImpl,
  type ServiceImpl,
  type ServiceImplSpec,
} from "@connectrpc/connect";
import { ServerReflection } from "../../../gen/grpc/reflection/v1/reflection_pb.js";
import { Health } from "../../../gen/health/v1/health_pb.js";
import { BillingService } from "../../../gen/tollgate/v1/billing_service_pb.js";
import { EntitlementService } from "../../../gen/tollgate/v1/entitlement_service_pb.js";
import { EventService } from "../../../gen/tollgate/v1/event_service_pb.js";
import { UsageService } from "../../../gen/tollgate/v1/usage_service_pb.js";
import { createHealthService, type HealthState } from "./health.js";
import { registerReflection } from "./reflection.js";

/** The Tollgate services of the API contract. */
export const TOLLGATE_SERVICES = [
  BillingService,
  EntitlementService,
  UsageService,
  EventService,
] as const;

/** What the routes need from the rest of the application. */
export interface RoutesOptions {
  health: HealthState;
  billing: ServiceImpl<typeof BillingService>;
  entitlements: ServiceImpl<typeof EntitlementService>;
  usage: ServiceImpl<typeof UsageService>;
  events: ServiceImpl<typeof EventService>;
}

/**
 * Every service the server answers besides reflection: the Tollgate services and gRPC health.
 * Connect serves them all; the gRPC unary server serves their unary methods over gRPC.
 */
export function createServiceSpecs(options: RoutesOptions): ServiceImplSpec[] {
  return [
    createServiceImplSpec<typeof BillingService>(BillingService, options.billing),
    createServiceImplSpec<typeof EntitlementService>(EntitlementService, options.entitlements),
    createServiceImplSpec<typeof UsageService>(UsageService, options.usage),
    createServiceImplSpec<typeof EventService>(EventService, options.events),
    createServiceImplSpec<typeof Health>(Health, createHealthService(options.health)),
  ];
}

/** Connect routes for every method of the given services, plus reflection over all of them. */
export function createRoutes(specs: ServiceImplSpec[]): (router: ConnectRouter) => void {
  return (router) => {
    for (const spec of specs) {
      for (const method of Object.values(spec.methods)) {
        router.rpc(method.method, method.impl as MethodImpl<typeof method.method>);
      }
    }
    registerReflection(
      router,
      specs.map((spec) => spec.service),
    );
  };
}

/**
 * Procedure paths the server answers (`/package.Service/Method`), reflection included, and of
 * those the ones whose request is a stream of messages (client and bidi streaming). Only
 * `all` may become a metric label, so requests for made-up paths cannot grow the number of
 * series; `streamingRequests` keep their request bodies open by design.
 */
export function procedurePaths(specs: ServiceImplSpec[]): {
  all: ReadonlySet<string>;
  streamingRequests: ReadonlySet<string>;
} {
  const all = new Set<string>();
  const streamingRequests = new Set<string>();
  for (const service of [...specs.map((spec) => spec.service), ServerReflection]) {
    for (const method of service.methods) {
      const path = `/${service.typeName}/${method.name}`;
      all.add(path);
      if (method.methodKind === "client_streaming" || method.methodKind === "bidi_streaming") {
        streamingRequests.add(path);
      }
    }
  }
  return { all, streamingRequests };
}
