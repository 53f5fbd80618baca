import { defineConfig } from "vitest/config";

/*
 * Two projects: `unit` holds the pure rules beside the code and the architecture check (no
 * database, well under a second of test time: `npm run test:unit`); `e2e` starts real servers
 * against a real PostgreSQL, each file in its own database. `npm test` runs both.
 */
export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Test files run in parallel; two cores bound useful parallelism.
    maxWorkers: 2,
    projects: [
      {
        extends: true,
        test: {
          name: "unit",
          include: ["src/**/*.test.ts", "test/architecture.test.ts"],
        },
      },
      {
        extends: true,
        test: {
          name: "e2e",
          include: ["test/**/*.test.ts"],
          exclude: ["test/architecture.test.ts"],
          globalSetup: ["test/support/global-setup.ts"],
        },
      },
    ],
  },
});
