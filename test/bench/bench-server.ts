import { createScratchDatabase } from "../support/scratch-database.js";
import { type ServerProcess, startServerProcess } from "../support/server-process.js";

/** What a benchmark runs against: the real server on a scratch database of its own. */
export interface BenchTarget {
  server: ServerProcess;
  /** The scratch database, for the benchmark's own direct-SQL baseline and checks. */
  databaseUrl: string;
}

/**
 * Runs a benchmark: creates a scratch database on `TEST_DATABASE_URL`, starts the server on it
 * with `env`, runs `work`, then stops the server and drops the database whatever happened. A
 * failure prints its error and sets a non-zero exit code.
 */
export function runBenchmark(
  env: Record<string, string>,
  work: (target: BenchTarget) => Promise<void>,
): void {
  const run = async () => {
    const adminUrl = process.env.TEST_DATABASE_URL;
    if (!adminUrl) throw new Error("set TEST_DATABASE_URL to a PostgreSQL superuser URL");
    const database = await createScratchDatabase(adminUrl, "tollgate_bench");
    try {
      const server = await startServerProcess({ DATABASE_URL: database.url, ...env });
      try {
        await work({ server, databaseUrl: database.url });
      } finally {
        await server.stop();
      }
    } finally {
      await database.drop();
    }
  };
  run().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
