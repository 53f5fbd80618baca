import { afterAll, beforeAll, inject } from "vitest";
import { DATABASE_FUNCTIONS } from "../../src/app/database-functions.js";
import { createDatabase } from "../../src/platform/db/database.js";
import { createScratchDatabase, type ScratchDatabase } from "./scratch-database.js";

/** A database of its own for one test file, dropped by `drop()`. */
export type TestDatabase = ScratchDatabase;

/**
 * Creates an empty database on the test PostgreSQL server, so test files running in parallel
 * never see each other's rows.
 */
export function createTestDatabase(): Promise<TestDatabase> {
  return createScratchDatabase(inject("adminDatabaseUrl"), "tollgate_test");
}

/** A database of its own with the schema and the SQL functions installed, as a server leaves it. */
export async function createMigratedDatabase(): Promise<TestDatabase> {
  const db = await createTestDatabase();
  const database = await createDatabase({
    url: db.url,
    dataDir: "",
    functions: DATABASE_FUNCTIONS,
  });
  await database.migrate();
  await database.close();
  return db;
}

/** Something a test starts over a database and stops afterwards: a server, in-process or not. */
interface Stoppable {
  stop(): Promise<unknown>;
}

/**
 * For the enclosing `describe`: creates a database of its own and starts `start` on it before
 * the tests, stops it and drops the database after them. The returned object is filled in
 * once the tests run.
 */
export function serveOnFreshDatabase<S extends Stoppable>(
  start: (url: string) => Promise<S>,
): { db: TestDatabase; server: S } {
  const fresh = {} as { db: TestDatabase; server: S };
  beforeAll(async () => {
    fresh.db = await createTestDatabase();
    fresh.server = await start(fresh.db.url);
  });
  afterAll(async () => {
    await fresh.server?.stop();
    await fresh.db?.drop();
  });
  return fresh;
}
