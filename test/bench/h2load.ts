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
  /**
   * Sends exactly this many calls instead of running for `seconds`: h2load then waits for
   * every answer, so no call is cut off at the end and the server's count of answers is exact.
   */
  requests?: number;
}

/** What a load measured. */
export interface H2LoadResult {
  /** Calls answered, whatever the answer: the server's own counts tell success. */
  done: number;
  ratePerSecond: number;
  p99Ms: number;
}

/** What an h2load run measured, with how many answers had each HTTP status. */
export interface H2LoadRun extends H2LoadResult {
  statuses: Map<number, number>;
}

/**
 * Runs h2load (Debian's nghttp2-client), a C load generator that costs the server's cores far
 * less than a Node client would. h2load sends one body per process, so it serves loads of one
 * body; `http2-load.ts` makes those that need many.
 */
export async function runH2Load(spec: H2LoadSpec): Promise<H2LoadRun> {
  const dir = await mkdtemp(join(tmpdir(), "tollgate-h2load-"));
  try {
    const body = join(dir, "body");
    const log = join(dir, "log");
    await writeFile(body, spec.body);
    // h2load cannot map an empty file: an empty body is a bodiless POST.
    const data = spec.body.length > 0 ? ["-d", body] : ["-H", ":method: POST"];
    const args = [
      "-c",
      String(spec.clients),
      "-m",
      String(spec.streams),
      ...(spec.requests === undefined ? ["-D", `${spec.seconds}s`] : ["-n", String(spec.requests)]),
      ...data,
      "--log-file",
      log,
      ...Object.entries(spec.headers).flatMap(([name, value]) => ["-H", `${name}: ${value}`]),
      spec.url,
    ];
    const output = await run("h2load", args);
    const done = /requests: \d+ total, \d+ started, (\d+) done/.exec(output)?.[1];
    if (done === undefined) throw new Error(`h2load printed no totals:\n${output}`);
    const lines = (await readFile(log, "utf8")).split("\n").filter(Boolean);
    const latencies = lines.map((line) => Number(line.split("\t")[2]) / 1000).sort((a, b) => a - b);
    const statuses = new Map<number, number>();
    for (const line of lines) {
      const status = Number(line.split("\t")[1]);
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
    }
    const finished = /finished in ([\d.]+)(m?s)/.exec(output);
    const elapsed = finished
      ? Number(finished[1]) / (finished[2] === "ms" ? 1000 : 1)
      : spec.seconds;
    return {
      done: Number(done),
      ratePerSecond: Number(done) / elapsed,
      p99Ms: percentile(latencies, 99),
      statuses,
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
