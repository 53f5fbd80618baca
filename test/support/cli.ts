import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const CLI = fileURLToPath(new URL("../../dist/src/cli/tollgate.js", import.meta.url));
const run = promisify(execFile);

/** Runs the operator CLI (`npx tollgate …`, as built by `npm test`) against a database. */
export async function runCli(databaseUrl: string, args: string[]): Promise<string> {
  const { stdout } = await run(process.execPath, [CLI, ...args], {
    env: { PATH: process.env.PATH ?? "", DATABASE_URL: databaseUrl },
  });
  return stdout;
}

/** Creates a key with the CLI and returns the secret it printed (its first line). */
export async function createKeyWithCli(databaseUrl: string, tenantId?: string): Promise<string> {
  const args = ["keys", "create", ...(tenantId ? ["--tenant", tenantId] : [])];
  const key = (await runCli(databaseUrl, args)).split("\n")[0] ?? "";
  if (!/^tg_[0-9a-z]{8}_/.test(key)) throw new Error(`the CLI printed no key: ${key}`);
  return key;
}
