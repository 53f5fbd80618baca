import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const CLI = fileURLToPath(new URL("../../dist/src/app/cli.js", import.meta.url));
const run = promisify(execFile);

/** How a CLI run ended. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs the operator CLI (`npx tollgate …`, as built by `npm test`) with exactly the given
 * environment (plus PATH), and resolves however it exits.
 */
export async function runCliWithEnv(
  env: Record<string, string>,
  args: string[],
): Promise<CliResult> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], {
      env: { PATH: process.env.PATH ?? "", ...env },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    if (typeof failed.code !== "number") throw error;
    return { code: failed.code, stdout: failed.stdout ?? "", stderr: failed.stderr ?? "" };
  }
}

/** Runs the operator CLI against a database and returns what it printed; fails when it fails. */
export async function runCli(databaseUrl: string, args: string[]): Promise<string> {
  const result = await runCliWithEnv({ DATABASE_URL: databaseUrl }, args);
  if (result.code !== 0) throw new Error(`tollgate ${args.join(" ")}: ${result.stderr}`);
  return result.stdout;
}

/** Creates a key with the CLI and returns the secret it printed (its first line). */
export async function createKeyWithCli(databaseUrl: string, tenantId?: string): Promise<string> {
  const args = ["keys", "create", ...(tenantId ? ["--tenant", tenantId] : [])];
  const key = (await runCli(databaseUrl, args)).split("\n")[0] ?? "";
  if (!/^tg_[0-9a-z]{8}_/.test(key)) throw new Error(`the CLI printed no key: ${key}`);
  return key;
}
