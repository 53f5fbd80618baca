import { EventEmitter, on } from "node:events";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import {
  type Health,
  HealthCheckResponseSchema,
  HealthCheckResponse_ServingStatus as ServingStatus,
} from "../../../gen/health/v1/health_pb.js";

/**
 * The serving status of the whole server ("") and of each service, shared by the gRPC health
 * service and `GET /healthz`. Shutdown flips everything to NOT_SERVING first, so load
 * balancers drain this replica before it stops accepting connections.
 */
export interface HealthState {
  /** The status of one service, or of the server for "", or undefined when unknown. */
  get(service: string): ServingStatus | undefined;
  /** Sets the status of every known service at once. */
  setAll(status: ServingStatus): void;
  /** Every known service with its status. */
  entries(): [string, ServingStatus][];
  /** Emits `change` with the service name whenever a status changes. */
  readonly events: EventEmitter;
}

/** Creates the health state for the given service names, all SERVING. */
export function createHealthState(services: string[]): HealthState {
  const statuses = new Map<string, ServingStatus>(
    ["", ...services].map((name) => [name, ServingStatus.SERVING]),
  );
  const events = new EventEmitter();
  events.setMaxListeners(0);
  return {
    get: (service) => statuses.get(service),
    setAll(status) {
      for (const name of statuses.keys()) {
        if (statuses.get(name) === status) continue;
        statuses.set(name, status);
        events.emit("change", name);
      }
    },
    entries: () => [...statuses.entries()],
    events,
  };
}

/** `grpc.health.v1.Health` (Check, Watch, List) over the shared health state. */
export function createHealthService(state: HealthState): ServiceImpl<typeof Health> {
  const response = (status: ServingStatus) => create(HealthCheckResponseSchema, { status });
  return {
    check(req) {
      const status = state.get(req.service);
      if (status === undefined) {
        throw new ConnectError(`unknown service ${req.service}`, Code.NotFound);
      }
      return response(status);
    },
    async *watch(req, context) {
      let last = state.get(req.service) ?? ServingStatus.SERVICE_UNKNOWN;
      yield response(last);
      try {
        for await (const [name] of on(state.events, "change", { signal: context.signal })) {
          const next = state.get(req.service) ?? ServingStatus.SERVICE_UNKNOWN;
          if (name !== req.service || next === last) continue;
          last = next;
          yield response(next);
        }
      } catch (error) {
        // The call ended (client went away or the server is shutting down): end the stream.
        // A deadline is the exception: ending cleanly would tell the client the watch
        // finished with OK, so the deadline is the stream's status.
        if (!context.signal.aborted) throw error;
        const reason: unknown = context.signal.reason;
        if (reason instanceof ConnectError && reason.code === Code.DeadlineExceeded) throw reason;
      }
    },
    list() {
      return {
        statuses: Object.fromEntries(state.entries().map(([name, s]) => [name, response(s)])),
      };
    },
  };
}
