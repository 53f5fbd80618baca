import http2 from "node:http2";
import type { H2LoadResult } from "./h2load.js";
import { percentile } from "./measure.js";

/** One load of unary calls with a different body per call, over one HTTP/2 connection. */
export interface Http2LoadSpec {
  baseUrl: string;
  path: string;
  headers: Record<string, string>;
  /** Sent in turn, one per call: h2load cannot vary the body, this load exists to. */
  bodies: Uint8Array[];
  inFlight: number;
  seconds: number;
  /** Stops after this many calls instead (a warm-up that must send every body once). */
  calls?: number;
}

/** What {@link runHttp2Load} measured, and what it cost this process. */
export interface Http2LoadResult extends H2LoadResult {
  /** This generator's own CPU per call: the share of the cores it took from the server. */
  clientCpuUs: number;
}

/**
 * Keeps `inFlight` calls running on one connection for `seconds`, each with the next body,
 * on raw `node:http2` with pre-encoded bodies: the cheapest load Node can make, for figures
 * that need many tenants, which h2load (one body per process) cannot give on one connection.
 */
export function runHttp2Load(spec: Http2LoadSpec): Promise<Http2LoadResult> {
  const session = http2.connect(spec.baseUrl);
  const headers = { ":method": "POST", ":path": spec.path, ...spec.headers };
  const latencies: number[] = [];
  let next = 0;
  let done = 0;
  const cpu = process.cpuUsage();
  const started = Date.now();
  const end = started + spec.seconds * 1000;
  return new Promise((resolve, reject) => {
    let running = 0;
    const call = () => {
      running++;
      const sent = process.hrtime.bigint();
      const stream = session.request(headers);
      stream.resume();
      // A failed stream still closes, and is counted as done: the server's counts tell success.
      stream.on("error", () => undefined);
      stream.on("close", () => {
        running--;
        done++;
        latencies.push(Number(process.hrtime.bigint() - sent) / 1e6);
        if (spec.calls === undefined ? Date.now() < end : next < spec.calls) call();
        else if (running === 0) finish();
      });
      stream.end(spec.bodies[next++ % spec.bodies.length]);
    };
    const finish = () => {
      const used = process.cpuUsage(cpu);
      session.close();
      latencies.sort((a, b) => a - b);
      resolve({
        done,
        ratePerSecond: done / ((Date.now() - started) / 1000),
        p99Ms: percentile(latencies, 99),
        clientCpuUs: (used.user + used.system) / done,
      });
    };
    session.once("error", reject);
    session.once("connect", () => {
      for (let i = 0; i < spec.inFlight; i++) call();
    });
  });
}
