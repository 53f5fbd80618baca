import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LOCK_FILE, lockDataDir } from "../src/platform/db/data-dir-lock.js";
import { runCliWithEnv } from "./support/cli.js";
import { type ServerProcess, startServerProcess } from "./support/server-process.js";

const BUSY = "is in use by another Tollgate process";
const TENANT = "5d1c9a7e-3b2f-4e6d-8a1c-0f9e8d7c6b5a";

/**
 * Embedded PGlite serves one process: a CLI beside a running server used to write into pages
 * the server never read back, so keys vanished. Whichever process comes second is refused, and
 * nothing written by either is lost.
 */
// Each test starts PGlite servers, each allowed the harness's start limit on busy cores.
describe("embedded PGlite data directory lock", { timeout: 400_000 }, () => {
  let dataDir: string;
  let env: Record<string, string>;
  const keys: string[] = [];
  let server: ServerProcess | undefined;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "tollgate-lock-"));
    env = { TOLLGATE_DATA_DIR: dataDir };
  });

  afterAll(async () => {
    await server?.stop("SIGKILL");
    await rm(dataDir, { recursive: true, force: true });
  });

  it("should refuse the CLI while the server runs, and keep every key made after it stops", async () => {
    // given a server on a fresh data directory, holding a customer row
    server = await startServerProcess(env);
    const created = await callJson(server.baseUrl, "CreateCustomer", {
      tenantId: TENANT,
      email: "kept@example.com",
    });

    // when the CLI creates and lists keys beside it
    const refusedCreate = await runCliWithEnv(env, ["keys", "create"]);
    const refusedList = await runCliWithEnv(env, ["keys", "list"]);

    // then both are refused, naming the server's process and what to do
    for (const refused of [refusedCreate, refusedList]) {
      expect(refused.code).toBe(1);
      expect(refused.stdout).toBe("");
      expect(refused.stderr).toContain(BUSY);
      expect(refused.stderr).toContain(`pid ${server.child.pid}`);
      expect(refused.stderr).toContain("--url");
    }

    // and once the server has stopped, a key made by the CLI is kept and listed
    expect(await server.stop()).toBe(0);
    keys.push(await createKey(env));
    expect(await listedPrefixes(env)).toEqual(keys.map(prefixOf));

    // and the next server sees the key and the row written before
    server = await startServerProcess(env);
    expect(server.logs().some((l) => l.authentication === "api-keys")).toBe(true);
    expect(await callJson(server.baseUrl, "GetCustomer", { tenantId: TENANT }, keys[0])).toEqual(
      created,
    );
  });

  it("should take over at once from a server killed with SIGKILL", async () => {
    // given the server dies without releasing its lock
    expect(await server?.stop("SIGKILL")).toBe(null);
    expect(await readFile(join(dataDir, LOCK_FILE), "utf8")).toContain(
      `"pid":${server?.child.pid}`,
    );

    // when the CLI runs straight after
    keys.push(await createKey(env));

    // then it took the stale lock, and the key sits beside the first
    expect(await listedPrefixes(env)).toEqual(keys.map(prefixOf).sort());
  });

  it("should refuse to start a server on a directory another process holds, changing nothing", async () => {
    // given another process (this test runner) holds the data directory
    const held = await lockDataDir(dataDir);

    // when a server starts on it
    const refused = await startServerProcess(env).then(
      () => "started",
      (error: Error) => error.message,
    );

    // then it exits before serving, naming the holder
    expect(refused).toContain("exited with 1 before serving");
    expect(refused).toContain(BUSY);
    expect(refused).toContain(`pid ${process.pid}`);
    // and once released, everything written before is there
    await held.release();
    server = await startServerProcess(env);
    for (const key of keys) {
      expect(
        await callJson(server.baseUrl, "GetCustomer", { tenantId: TENANT }, key),
      ).toMatchObject({ customer: { tenantId: TENANT } });
    }
    expect(await server.stop()).toBe(0);
    server = undefined;
  });

  it("should lose no key when eight CLIs create keys at once", async () => {
    // when eight `keys create` race for the directory
    const results = await Promise.all(
      Array.from({ length: 8 }, () => runCliWithEnv(env, ["keys", "create"])),
    );

    // then each either printed a key or was refused, and at least one got in
    const made = results.filter((r) => r.code === 0).map((r) => r.stdout.split("\n")[0] ?? "");
    for (const r of results.filter((r) => r.code !== 0)) expect(r.stderr).toContain(BUSY);
    expect(made.length).toBeGreaterThanOrEqual(1);
    // and every printed key is listed: none was written where nobody reads
    keys.push(...made);
    expect(await listedPrefixes(env)).toEqual(keys.map(prefixOf).sort());
  });
});

async function createKey(env: Record<string, string>): Promise<string> {
  const result = await runCliWithEnv(env, ["keys", "create"]);
  expect(result.stderr).toBe("");
  const key = result.stdout.split("\n")[0] ?? "";
  expect(key).toMatch(/^tg_[0-9a-z]{8}_/);
  return key;
}

async function listedPrefixes(env: Record<string, string>): Promise<string[]> {
  const result = await runCliWithEnv(env, ["keys", "list"]);
  expect(result.code).toBe(0);
  return result.stdout
    .trim()
    .split("\n")
    .map((line) => line.split(/\s+/)[0] ?? "")
    .sort();
}

function prefixOf(key: string): string {
  return key.split("_").slice(0, 2).join("_");
}

async function callJson(
  baseUrl: string,
  method: string,
  body: unknown,
  key?: string,
): Promise<unknown> {
  const res = await fetch(`${baseUrl}/tollgate.v1.BillingService/${method}`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(key ? { authorization: `Bearer ${key}` } : {}),
    },
    body: JSON.stringify(body),
  });
  expect(res.status).toBe(200);
  return res.json();
}
