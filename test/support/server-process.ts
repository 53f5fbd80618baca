import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";

const MAIN = fileURLToPath(new URL("../../dist/src/main.js", import.meta.url));

/** The real server running as a child process, as an operator would run it. */
export interface ServerProcess {
  /** `http://127.0.0.1:<port>` */
  baseUrl: string;
  port: number;
  child: ChildProcess;
  /** Every line the server wrote to stdout and stderr so far. */
  output(): string;
  /** Parsed JSON log lines written so far. */
  logs(): Record<string, unknown>[];
  /** Sends a signal and resolves with the exit code once the process has ended. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * How long a start may take before the test gives up and shows what the server printed. Only a
 * safety net: the start is awaited on the server's own "serving" line, and a first start on
 * embedded PGlite (initdb in WASM) takes tens of seconds when both cores are busy with tests.
 */
const START_LIMIT_MS = 150_000;

/**
 * Starts `dist/src/main.js` (built by `npm test`'s pretest step) on a free port with the given
 * environment, and resolves once it logs that it is serving.
 */
export async function startServerProcess(env: Record<string, string>): Promise<ServerProcess> {
  const child = spawn(process.execPath, [MAIN], {
    env: { PATH: process.env.PATH ?? "", PORT: "0", HOST: "127.0.0.1", LOG_LEVEL: "info", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = once(child, "exit").then(([code]) => code as number | null);
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () =>
        reject(new Error(`server did not start in ${START_LIMIT_MS} ms; it printed:\n${output}`)),
      START_LIMIT_MS,
    );
    const poll = setInterval(() => {
      const match = /"port":(\d+),"database"/.exec(output);
      if (match?.[1]) {
        clearInterval(poll);
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    }, 20);
    void exited.then((code) => {
      clearInterval(poll);
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before serving:\n${output}`));
    });
  });
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    port,
    child,
    output: () => output,
    logs: () =>
      output
        .split("\n")
        .filter((line) => line.startsWith("{"))
        .map((line) => JSON.parse(line) as Record<string, unknown>),
    async stop(signal = "SIGTERM") {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/**
 * Starts `count` servers on one database, one after another, so the first has migrated the
 * schema before the others start: replicas of one deployment.
 */
export async function startReplicas(
  env: Record<string, string>,
  count: number,
): Promise<ServerProcess[]> {
  const servers: ServerProcess[] = [];
  for (let i = 0; i < count; i++) servers.push(await startServerProcess(env));
  return servers;
}
