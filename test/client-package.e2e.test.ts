import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "./support/app.js";
import { createTestDatabase, type TestDatabase } from "./support/database.js";

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL("..", import.meta.url));
const CLIENT = join(ROOT, "clients/typescript");
const TSC = join(ROOT, "node_modules/.bin/tsc");
const ADMIN_KEY = "tg_pkgtest0_ClientPackageAdminSecretAdmin42";

// What a client-only user may receive: the client, Connect, protobuf-es and uuid, plus the
// consumer's own @types/node.
const ALLOWED = new Set([
  "@tollgate/client",
  "@connectrpc/connect",
  "@connectrpc/connect-node",
  "@bufbuild/protobuf",
  "uuid",
  "@types/node",
  "undici-types",
]);

// A consumer as a team would write it: strict NodeNext, exactOptionalPropertyTypes, no casts.
const CONSUMER = `
import http from "node:http";
import type { AddressInfo } from "node:net";
import {
  checkEntitlementOrRaise,
  createEntitlementEnforcer,
  createEntitlementGuard,
  createTollgateClient,
  DenialReason,
  EntitlementEnforcementError,
  SubscriptionState,
  UsageTracker,
} from "@tollgate/client";

const tenantId = process.env.TENANT_ID ?? "";
const client = createTollgateClient({
  baseUrl: process.env.TOLLGATE_URL ?? "",
  apiKey: process.env.TOLLGATE_API_KEY,
});
const enforcer = createEntitlementEnforcer(client);
const first = checkEntitlementOrRaise(
  await enforcer.checkAndRecord(tenantId, "executions", 1, {
    idempotencyKey: process.env.IDEMPOTENCY_KEY,
  }),
);
await enforcer.recordUsageOnly(tenantId, "executions", 99);
const denied = await enforcer.checkAndRecord(tenantId, "executions");
let raised: EntitlementEnforcementError | undefined;
try {
  checkEntitlementOrRaise(denied);
} catch (error) {
  if (error instanceof EntitlementEnforcementError) raised = error;
}

const guard = createEntitlementGuard({
  enforcer,
  resourceType: "executions",
  tenantId: (req: http.IncomingMessage) => String(req.headers["x-tenant-id"]),
});
const server = http.createServer(async (req, res) => {
  if (await guard(req, res)) res.end("ran");
});
await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
const { port } = server.address() as AddressInfo;
const answer = await fetch(\`http://127.0.0.1:\${port}\`, { headers: { "x-tenant-id": tenantId } });
server.close();

const tracker = new UsageTracker(client, { batchSize: 50, onError: undefined });
for (let i = 0; i < 120; i++) await tracker.track(tenantId, "tokens", 10);
const acknowledged = await tracker.stop();

const { plans } = await client.billing.listPlans({});
console.log(
  JSON.stringify({
    firstUsed: first.entitlement?.used,
    denied: DenialReason[denied.denialReason],
    errorReason: raised === undefined ? undefined : DenialReason[raised.denialReason],
    guardStatus: answer.status,
    acknowledged,
    plans: plans.map((plan) => plan.id),
    trialing: SubscriptionState[SubscriptionState.TRIALING],
  }),
);
`;

// A NestJS-style class with legacy decorators.
const LEGACY = `
import { createEntitlementEnforcer, createTollgateClient, requireEntitlement, type EntitlementEnforcer } from "@tollgate/client";

export class Workflows {
  enforcer: EntitlementEnforcer = createEntitlementEnforcer(
    createTollgateClient({ baseUrl: "http://127.0.0.1:8080" }),
  );

  @requireEntitlement("executions")
  async run(tenantId: string): Promise<string> {
    return tenantId;
  }
}
`;

const TSCONFIG = {
  compilerOptions: {
    target: "ES2022",
    lib: ["ES2023", "ESNext.Disposable", "DOM"],
    module: "NodeNext",
    moduleResolution: "NodeNext",
    types: ["node"],
    strict: true,
    exactOptionalPropertyTypes: true,
    noUncheckedIndexedAccess: true,
    outDir: "out",
  },
  files: ["main.ts"],
};

describe("@tollgate/client installed from npm pack, as a new user would", () => {
  let db: TestDatabase;
  let server: TestApp;
  let scratch: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    server = await startTestApp(db.url, {}, { TOLLGATE_BOOTSTRAP_ADMIN_KEY: ADMIN_KEY });
    scratch = await mkdtemp(join(tmpdir(), "tollgate-consumer-"));
  });

  afterAll(async () => {
    await server?.stop();
    await db?.drop();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  it("should install with default settings, type-check strictly and run against the server", async () => {
    // given the client packed as npm would publish it (prepack builds it)
    const packed = await run("npm", ["pack", "--pack-destination", scratch], { cwd: CLIENT });
    const tarball = join(scratch, packed.stdout.trim().split("\n").at(-1) ?? "");
    const consumer = join(scratch, "consumer");
    await mkdir(consumer);
    await writeFile(
      join(consumer, "package.json"),
      JSON.stringify({ name: "consumer", private: true, type: "module" }),
    );

    // when a fresh project installs it with npm's defaults (install scripts on)
    await run("npm", ["install", "--no-audit", "--no-fund", tarball, "@types/node@20"], {
      cwd: consumer,
    });

    // then it brings only what a client needs
    const lock = JSON.parse(await readFile(join(consumer, "package-lock.json"), "utf8")) as {
      packages: Record<string, unknown>;
    };
    const installed = Object.keys(lock.packages)
      .filter((path) => path !== "")
      .map((path) => path.replace(/^.*node_modules\//, ""));
    expect(installed.filter((name) => !ALLOWED.has(name))).toEqual([]);

    // and a strict consumer type-checks, legacy decorators included
    await writeFile(join(consumer, "main.ts"), CONSUMER);
    await writeFile(join(consumer, "legacy.ts"), LEGACY);
    await writeFile(join(consumer, "tsconfig.json"), JSON.stringify(TSCONFIG));
    await writeFile(
      join(consumer, "tsconfig.legacy.json"),
      JSON.stringify({
        ...TSCONFIG,
        compilerOptions: {
          ...TSCONFIG.compilerOptions,
          experimentalDecorators: true,
          noEmit: true,
        },
        files: ["legacy.ts"],
      }),
    );
    const compile = (project: string) =>
      run(TSC, ["-p", project], { cwd: consumer }).catch((error: { stdout?: string }) => {
        throw new Error(`tsc -p ${project} failed:\n${error.stdout ?? String(error)}`);
      });
    await compile("tsconfig.json");
    await compile("tsconfig.legacy.json");
    // and so does a project set up by `tsc --init` with the one setting the README names
    // (Node's types; TypeScript 7 writes "types": []), with library checks on
    const init = join(consumer, "init");
    await mkdir(init);
    await run(TSC, ["--init", "--types", "node", "--skipLibCheck", "false", "--noEmit"], {
      cwd: init,
    });
    await writeFile(join(init, "main.ts"), CONSUMER);
    await compile("init/tsconfig.json");

    // and it runs against the real server
    const tenantId = randomUUID();
    const { stdout } = await run(process.execPath, ["out/main.js"], {
      cwd: consumer,
      env: {
        PATH: process.env.PATH ?? "",
        TOLLGATE_URL: server.baseUrl,
        TOLLGATE_API_KEY: ADMIN_KEY,
        TENANT_ID: tenantId,
      },
    });
    expect(JSON.parse(stdout)).toEqual({
      firstUsed: "1",
      denied: "LIMIT_EXCEEDED",
      errorReason: "LIMIT_EXCEEDED",
      guardStatus: 402,
      acknowledged: 120,
      plans: ["free", "pro", "team", "enterprise"],
      trialing: "TRIALING",
    });
  }, 240_000);
});
