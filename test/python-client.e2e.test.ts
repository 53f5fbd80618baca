import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "./support/app.js";
import { createTestDatabase, type TestDatabase } from "./support/database.js";

const run = promisify(execFile);
const CLIENT = fileURLToPath(new URL("../clients/python/", import.meta.url));
const SERVER_MAIN = fileURLToPath(new URL("../dist/src/main.js", import.meta.url));
// Debian's interpreter owns Debian's Python packages; the first python3 on PATH may not.
const PYTHON = "/usr/bin/python3";
const MODULES = ["grpc", "google.protobuf", "pytest", "pytest_asyncio", "fastapi", "httpx"];
const TOOLS = ["black", "mypy"];
const ADMIN_KEY = "tg_python00_PythonClientAdminSecretAdmin42";

/** What a command printed and how it ended, without throwing on a non-zero exit. */
async function outcome(args: string[], env: Record<string, string> = {}) {
  try {
    const { stdout, stderr } = await run(PYTHON, args, {
      cwd: CLIENT,
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...env },
      timeout: 240_000,
    });
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, output: `${failed.stdout ?? ""}${failed.stderr ?? ""}` };
  }
}

const missing = (
  await Promise.all(
    [...MODULES, ...TOOLS].map(async (name) =>
      (await outcome(["-c", `import ${name}`])).code === 0 ? undefined : name,
    ),
  )
).filter((name) => name !== undefined);

if (missing.length > 0) {
  const line = "=".repeat(78);
  console.warn(
    `${line}\nPYTHON CLIENT TESTS DID NOT RUN: ${PYTHON} lacks ${missing.join(", ")}.\n` +
      "Install Debian's packages: apt-get update && apt-get install -y python3-grpcio " +
      "python3-protobuf python3-pytest python3-pytest-asyncio python3-fastapi python3-httpx " +
      `black mypy\n(.ci/run installs them.)\n${line}`,
  );
}

/** The Python client (clients/python): its pytest suite against the real server, and its lint. */
describe.skipIf(missing.length > 0)("Python client", () => {
  let db: TestDatabase;
  let server: TestApp;

  beforeAll(async () => {
    db = await createTestDatabase();
    server = await startTestApp(
      db.url,
      {},
      { TOLLGATE_BOOTSTRAP_ADMIN_KEY: ADMIN_KEY, BILLING_RATE_LIMIT_BURST: "100000" },
    );
  });

  afterAll(async () => {
    await server?.stop();
    await db?.drop();
  });

  it("should pass its pytest suite, the quick reference's snippets included", async () => {
    const { code, output } = await outcome(["-m", "pytest", "-q", "-p", "no:cacheprovider"], {
      TOLLGATE_URL: server.baseUrl,
      TOLLGATE_API_KEY: ADMIN_KEY,
      PYTHONDONTWRITEBYTECODE: "1",
      // The feature cache's test runs a server of its own, to stop and start it again.
      TOLLGATE_TEST_NODE: process.execPath,
      TOLLGATE_TEST_SERVER_MAIN: SERVER_MAIN,
      TOLLGATE_TEST_DATABASE_URL: db.url,
    });
    expect(code, output).toBe(0);
    expect(output).toMatch(/\b\d+ passed\b/);
    expect(output, "no test may be skipped or fail").not.toMatch(/skipped|failed|error/i);
  });

  it("should run the README's quick start as written, with Debian's interpreter", async () => {
    // given the script the README shows, run the way it says
    const { code, output } = await outcome(["examples/quickstart.py"], {
      PYTHONPATH: ".",
      TOLLGATE_URL: server.baseUrl,
      TOLLGATE_API_KEY: ADMIN_KEY,
      PYTHONDONTWRITEBYTECODE: "1",
    });

    // then every step printed what the server answered
    expect(code, output).toBe(0);
    expect(output).toMatch(/^customer cus_\w+: team, trialing$/m);
    expect(output).toMatch(/^executions: 1 used of 340000$/m);
    expect(output).toMatch(/^denied: agents limit of the team plan reached/m);
    expect(output).toMatch(/^tracked: 2 events stored$/m);
  });

  it("should be formatted by black", async () => {
    const { code, output } = await outcome(["-m", "black", "--check", "."]);
    expect(code, output).toBe(0);
  });

  it("should pass mypy --strict", async () => {
    const { code, output } = await outcome(["-m", "mypy", "--cache-dir=/dev/null"]);
    expect(code, output).toBe(0);
    expect(output).toContain("Success");
  });
});
