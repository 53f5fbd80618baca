import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { percentile } from "./measure.js";

/** One h2load load: a POST of `body` to `url`, repeated for `seconds`. */
export interface H2LoadSpec {
  url: string;
  headers: Record<string, string>;
  body: Uint8Array;
  /** Connections, and concurrent streams per connection. */
  clients: number;
  streams: number;
  seconds: number;
}

/** What h2load measured, over every process of one load. */
export interface H2LoadResult {
  done: number;
  /** Calls still in flight when the run ended: h2load cut them off, their outcome unknown. */
  cutOff: number;
  /** Responses with a 2xx status (for gRPC, also those with a non-zero grpc-status). */
  succeeded: number;
  ratePerSecond: number;
  p50Ms: number;
  p99Ms: number;
}

/**
 * Runs h2load (Debian's nghttp2-client), a C load generator that costs the server's cores far
 * less than a Node client would. h2load sends one body per process, so loads that need
 * different bodies (one tenant each) run one process per body, side by side.
 */
export async function runH2Load(specs: H2LoadSpec[]): Promise<H2LoadResult> {
  const dir = await mkdtemp(join(tmpdir(), "tollgate-h2load-"));
  try {
    const runs = specs.map(async (spec, i) => {
      const body = join(dir, `body-${i}`);
      const log = join(dir, `log-${i}`);
      await writeFile(body, spec.body);
      // h2load cannot map an empty file: an empty body is a bodiless POST.
      const data = spec.body.length > 0 ? ["-d", body] : ["-H", ":method: POST"];
      const args = [
        "-c",
        String(spec.clients),
        "-m",
        String(spec.streams),
        "-D",
        `${spec.seconds}s`,
        ...data,
        "--log-file",
        log,
        ...Object.entries(spec.headers).flatMap(([name, value]) => ["-H", `${name}: ${value}`]),
        spec.url,
      ];
      const output = await run("h2load", args);
      const requests = /requests: \d+ total, (\d+) started, (\d+) done, (\d+) succeeded/.exec(
        output,
      );
      if (!requests) throw new Error(`h2load printed no totals:\n${output}`);
      const latencies = (await readFile(log, "utf8"))
        .split("\n")
        .filter(Boolean)
        .map((line) => Number(line.split("\t")[2]) / 1000);
      const [started, done, succeeded] = requests.slice(1).map(Number) as [number, number, number];
      return { done, cutOff: started - done, succeeded, latencies };
    });
    const results = await Promise.all(runs);
    const latencies = results.flatMap((r) => r.latencies).sort((a, b) => a - b);
    const done = results.reduce((n, r) => n + r.done, 0);
    const seconds = Math.max(...specs.map((s) => s.seconds));
    return {
      done,
      cutOff: results.reduce((n, r) => n + r.cutOff, 0),
      succeeded: results.reduce((n, r) => n + r.succeeded, 0),
      ratePerSecond: done / seconds,
      p50Ms: percentile(latencies, 50),
      p99Ms: percentile(latencies, 99),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Runs a command and resolves with its standard output; fails on a non-zero exit. */
export function run(command: string, args: string[], env?: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"], env });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.on("error", reject);
    child.on("close", (code) =>
      code === 0 ? resolve(output) : reject(new Error(`${command} exited ${code}:\n${output}`)),
    );
  });
}
