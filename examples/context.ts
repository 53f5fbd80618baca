import { pathToFileURL } from "node:url";

/** Where an example runs: the server, an API key (none for an open dev server), a tenant. */
export interface ExampleContext {
  baseUrl: string;
  apiKey?: string;
  tenantId: string;
}

/**
 * Runs an example's `main` when the file is executed directly (`npx tsx examples/x.ts`), against
 * `TOLLGATE_URL` (default the quick-start server) with `TOLLGATE_API_KEY` and `TENANT_ID`.
 */
export function runIfMain(
  moduleUrl: string,
  main: (context: ExampleContext) => Promise<unknown>,
): void {
  const entry = process.argv[1];
  if (entry === undefined || moduleUrl !== pathToFileURL(entry).href) return;
  main({
    baseUrl: process.env.TOLLGATE_URL ?? "http://127.0.0.1:8080",
    apiKey: process.env.TOLLGATE_API_KEY,
    tenantId: process.env.TENANT_ID ?? crypto.randomUUID(),
  }).then(
    (result) =>
      console.log(JSON.stringify(result, (_k, v) => (typeof v === "bigint" ? String(v) : v), 2)),
    (error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    },
  );
}
