import { afterAll, beforeAll } from "vitest";
import { createTestDatabase, type TestDatabase } from "./database.js";
import { type ServerProcess, startReplicas } from "./server-process.js";

/** A suite's scratch database and the server processes running on it. */
export interface ReplicaSuite {
  db: TestDatabase;
  servers: ServerProcess[];
}

/**
 * Registers the hooks of a suite that runs `count` replicas of one deployment on a scratch
 * database: created before the suite's tests, stopped and dropped after them. The fields are
 * set once the suite's `beforeAll` hooks have run.
 */
export function useReplicas(count: number, env: Record<string, string> = {}): ReplicaSuite {
  const suite = { servers: [] } as unknown as ReplicaSuite;
  beforeAll(async () => {
    suite.db = await createTestDatabase();
    suite.servers = await startReplicas({ DATABASE_URL: suite.db.url, ...env }, count);
  });
  afterAll(async () => {
    await Promise.all(suite.servers.map((s) => s.stop()));
    await suite.db?.drop();
  });
  return suite;
}
