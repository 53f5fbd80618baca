import type { DescService } from "@bufbuild/protobuf";
import type { Interceptor, ServiceImpl } from "@connectrpc/connect";
import type { StatsSource } from "../observability/metrics.js";
import type { TimeJob } from "../tasks/periodic.js";
import type { HttpEndpoint } from "./http-handler.js";

/**
 * Some of the methods of one proto service. A domain answers the methods of its own concepts
 * wherever the proto puts them (grants sit in `EntitlementService`, audit in
 * `BillingService`); the server merges every domain's handlers per service, once.
 */
export interface ServiceHandlers {
  service: DescService;
  methods: Readonly<Record<string, unknown>>;
}

/** Typed handlers for some methods of `service`, in the shape the server merges. */
export function handlersOf<S extends DescService>(
  service: S,
  methods: Partial<ServiceImpl<S>>,
): ServiceHandlers {
  return { service, methods };
}

/** Background work a domain runs while the server is up. */
export interface BackgroundTask {
  /** Finishes or abandons the work in hand and stops; the database is still open. */
  stop(): Promise<void>;
}

/**
 * What one domain contributes to the running server. The composition root lists modules; the
 * server takes their handlers, interceptors and endpoints, exports their statistics, and on
 * shutdown stops their tasks in the reverse of the order the modules were listed.
 */
export interface Module {
  /** The domain's name: the start-up log lists the modules wired. */
  name: string;
  rpc?: readonly ServiceHandlers[];
  /** Interceptors every RPC passes, after logging and error mapping, in list order. */
  interceptors?: readonly Interceptor[];
  /** Plain-HTTP endpoints beside the RPCs. */
  http?: readonly HttpEndpoint[];
  stats?: readonly StatsSource[];
  tasks?: readonly BackgroundTask[];
  /** The domain's time-driven work, which the test clock runs at each due time, in order. */
  timeJobs?: readonly TimeJob[];
}
