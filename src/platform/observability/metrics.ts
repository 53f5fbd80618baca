import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

/** Statistics exported as gauges on `/metrics`, one per key of what `read` returns. */
export interface StatsSource {
  /** The metric name (`tollgate_…`); keys become its `stat` label. */
  name: string;
  /** What the figures mean, for the metric's HELP line. */
  help: string;
  read(): Readonly<Record<string, number>>;
}

/** The Prometheus instruments the server records into, on a registry of its own. */
export interface Metrics {
  registry: Registry;
  rpcCalls: Counter<"service" | "method" | "code">;
  rpcDuration: Histogram<"service" | "method" | "code">;
  rejectedRequests: Counter<"path" | "status">;
  /**
   * Exports a component's statistics as the gauge `name{stat=…}`, read at each scrape (the
   * modules' sources: the usage batcher's, the admission queue's, …).
   */
  observeStats(source: StatsSource): void;
}

/**
 * Creates a registry per server instance rather than using prom-client's global one, so two
 * servers in one process (as in tests) never collide on metric names.
 */
export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "tollgate_" });
  return {
    registry,
    rpcCalls: new Counter({
      name: "tollgate_rpc_calls_total",
      help: "RPC calls handled, by service, method and final status code.",
      labelNames: ["service", "method", "code"],
      registers: [registry],
    }),
    rpcDuration: new Histogram({
      name: "tollgate_rpc_duration_seconds",
      help: "RPC latency from handler entry to the final status, by service, method and code.",
      labelNames: ["service", "method", "code"],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    rejectedRequests: new Counter({
      name: "tollgate_rpc_rejected_requests_total",
      help: "RPC requests refused by the protocol layer before a handler ran (bad content type, malformed or oversized message), by path and HTTP status (the gRPC code name where grpc-js refused a gRPC call).",
      labelNames: ["path", "status"],
      registers: [registry],
    }),
    observeStats(source) {
      new Gauge({
        name: source.name,
        help: source.help,
        labelNames: ["stat"],
        registers: [registry],
        collect() {
          for (const [stat, value] of Object.entries(source.read())) this.set({ stat }, value);
        },
      });
    },
  };
}
