import { inject } from "vitest";
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
