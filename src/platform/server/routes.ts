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
import type { ServiceHandlers } from "./module.js";
import { registerReflection } from "./reflection.js";

/** The Tollgate services of the API contract. */
export const TOLLGATE_SERVICES = [
  BillingService,
  EntitlementService,
  UsageService,
  EventService,
] as const;

/**
 * Every service the server answers besides reflection: the Tollgate services, each merged
 * from the handlers the domains contribute, and gRPC health. Connect serves them all; the gRPC
 * unary server serves their unary methods over gRPC. A method no domain answers, or two
 * domains answer, stops the server at start rather than failing a caller later.
 */
export function createServiceSpecs(
  handlers: readonly ServiceHandlers[],
  health: HealthState,
): ServiceImplSpec[] {
  const merged = new Map<string, Record<string, unknown>>();
  for (const { service, methods } of handlers) {
    const into = merged.get(service.typeName) ?? {};
    merged.set(service.typeName, into);
    for (const [name, impl] of Object.entries(methods)) {
      if (name in into) throw new Error(`${service.typeName}.${name} has two handlers`);
      into[name] = impl;
    }
  }
  const specs = TOLLGATE_SERVICES.map((service) => {
    const methods = merged.get(service.typeName) ?? {};
    merged.delete(service.typeName);
    const missing = service.methods.filter((m) => !(m.localName in methods));
    if (missing.length > 0) {
      throw new Error(
        `${service.typeName} has no handler for ${missing.map((m) => m.name).join(", ")}`,
      );
    }
    return createServiceImplSpec(service, methods as ServiceImpl<typeof service>);
  });
  if (merged.size > 0) throw new Error(`handlers for unknown services: ${[...merged.keys()]}`);
  return [...specs, createServiceImplSpec<typeof Health>(Health, createHealthService(health))];
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
