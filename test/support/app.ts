import pg from "pg";
import { type App, startApp } from "../../src/app/app.js";
import type { AppOverrides } from "../../src/app/overrides.js";
import { loadConfig } from "../../src/platform/config/config.js";
import { createLogger } from "../../src/platform/observability/logger.js";

/** The real server started in this process, so tests can inject a clock or a provider. */
export interface TestApp {
  app: App;
  baseUrl: string;
  /** Stops the server. */
  stop(): Promise<void>;
}

/**
 * Starts the whole application in-process on a free loopback port against `databaseUrl`.
 * Calls still go over real HTTP/2 and gRPC; only the clock and the provider can be swapped.
 */
export async function startTestApp(
  databaseUrl: string,
  overrides: AppOverrides = {},
  env: Record<string, string> = {},
): Promise<TestApp> {
  const config = loadConfig({
    DATABASE_URL: databaseUrl,
    PORT: "0",
    HOST: "127.0.0.1",
    LOG_LEVEL: "silent",
    ...env,
  });
  const app = await startApp(config, createLogger({ level: config.logLevel }), overrides);
  return {
    app,
    baseUrl: `http://127.0.0.1:${app.address.port}`,
    stop: () => app.stop(),
  };
}

/** Runs one query against the test database and returns its rows. */
export async function queryRows<T = Record<string, unknown>>(
  databaseUrl: string,
  sql: string,
  params: unknown[] = [],
): Promise<T[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return (await client.query(sql, params)).rows as T[];
  } finally {
    await client.end();
  }
}

/** Every table of the test database's public schema, by name. */
export async function tableNames(databaseUrl: string): Promise<string[]> {
  const rows = await queryRows<{ tablename: string }>(
    databaseUrl,
    "select tablename from pg_tables where schemaname = 'public' order by tablename",
  );
  return rows.map((t) => t.tablename);
}

/** Counts the rows of each named table (every table when omitted), to prove a refused call wrote nothing. */
export async function countRows(
  databaseUrl: string,
  tables?: string[],
): Promise<Record<string, number>> {
  const names = tables ?? (await tableNames(databaseUrl));
  const [row] = await queryRows<Record<string, number>>(
    databaseUrl,
    `select ${names.map((t) => `(select count(*)::int from ${t}) as ${t}`).join(", ")}`,
  );
  return row ?? {};
}
