import { execFile, spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "./support/database.js";
import { type ServerProcess, startServerProcess } from "./support/server-process.js";

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL("..", import.meta.url));
const QUICK_START_URL = "http://127.0.0.1:8080";

const hasJq = await run("jq", ["--version"]).then(
  () => true,
  () => false,
);
if (!hasJq) {
  console.warn("README TOUR TEST DID NOT RUN: jq is missing (apt-get install -y jq; .ci/run does)");
}

/** The README's shell blocks under a heading, in order. */
async function bashBlocks(heading: string): Promise<string[]> {
  const readme = await readFile(`${ROOT}/README.md`, "utf8");
  const section = readme.split(/^## /m).find((part) => part.startsWith(heading)) ?? "";
  return [...section.matchAll(/```bash\n([\s\S]*?)```/g)].map((match) => match[1] ?? "");
}

/**
 * The README's tour, run as written against a quick-start server (open, no keys), so it keeps
 * working: computed dates, real ids, every answer it describes.
 */
describe.skipIf(!hasJq)("the README's buf curl tour", () => {
  let db: TestDatabase;
  let server: ServerProcess;
  let tour: string;
  let stream: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    server = await startServerProcess({ DATABASE_URL: db.url });
    [tour = "", stream = ""] = await bashBlocks("A tour with `buf curl`");
  });

  afterAll(async () => {
    await server?.stop();
    await db?.drop();
  });

  it("should run every step and show what it says it shows", async () => {
    // when the tour runs in bash, stopping at the first failing command
    const script = `set -euo pipefail\n${tour.replaceAll(QUICK_START_URL, server.baseUrl)}\necho "TENANT=$TENANT"`;
    const { stdout } = await run("bash", ["-c", script], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp" },
    });

    // then the denial shows allowed: false, PRO admits, and the repeated event counts once
    expect(stdout).toContain("tollgate.v1.EntitlementService");
    expect(stdout).toContain('"allowed": false');
    expect(stdout).toContain('"denialReason": "DENIAL_REASON_LIMIT_EXCEEDED"');
    expect(stdout).toContain('"state": "SUBSCRIPTION_STATE_TRIALING"');
    expect(stdout).toMatch(/"allowed": true,\s+"used": "5"/);
    expect(stdout).toContain('"duplicateCount": "1"');
    expect(stdout).toMatch(/"totals": \[\s+\{\s+"resourceType": "tokens",\s+"quantity": "1500"/);

    // and the event stream replays the tenant's log from its start
    const tenant = /^TENANT=(.+)$/m.exec(stdout)?.[1] ?? "";
    const helper = tour.slice(0, tour.indexOf("TENANT="));
    const replayed = await runUntil(
      `${helper.replaceAll(QUICK_START_URL, server.baseUrl)}\nTENANT=${tenant}\n${stream}`,
      '"type": "subscription.created"',
    );
    expect(replayed).toContain('"type": "entitlement.denied"');
  });
});

/** Runs a script until its output contains `marker`, then interrupts it (Ctrl-C). */
async function runUntil(script: string, marker: string): Promise<string> {
  // In a process group of its own, so the interrupt reaches npx and buf curl too.
  const child = spawn("bash", ["-c", script], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  const interrupt = () => process.kill(-(child.pid ?? 0), "SIGINT");
  let output = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      interrupt();
      reject(new Error(`no ${marker} in 30 s:\n${output}`));
    }, 30_000);
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes(marker)) {
        clearTimeout(timer);
        interrupt();
        resolve(output);
      }
    });
  });
}

/**
 * A README walk-through run as written, in bash, stopping at its first failing command, against
 * a server on the catalog its section starts with (`PLAN_CATALOG_PATH=… npm start`) or on
 * `catalog`; resolves to its output's lines.
 */
function useWalkThrough(heading: string, catalog?: string): () => Promise<string[]> {
  let db: TestDatabase;
  let server: ServerProcess;
  let walk: string;

  beforeAll(async () => {
    const blocks = await bashBlocks(heading);
    const start = catalog === undefined ? (blocks.shift() ?? "") : "";
    walk = blocks[0] ?? "";
    const path = catalog ?? /PLAN_CATALOG_PATH=(\S+)/.exec(start)?.[1] ?? "";
    db = await createTestDatabase();
    // An empty catalog is the default one, as the quick-start server runs it.
    server = await startServerProcess({
      DATABASE_URL: db.url,
      ...(path === "" ? {} : { PLAN_CATALOG_PATH: `${ROOT}/${path}` }),
    });
  });

  afterAll(async () => {
    await server?.stop();
    await db?.drop();
  });

  return async () => {
    const { stdout } = await run(
      "bash",
      ["-c", `set -euo pipefail\n${walk.replaceAll(QUICK_START_URL, server.baseUrl)}`],
      // DATABASE_URL is the server's, as an operator's shell has it for `npx tollgate`.
      {
        cwd: ROOT,
        env: {
          PATH: process.env.PATH ?? "",
          HOME: process.env.HOME ?? "/tmp",
          DATABASE_URL: db.url,
        },
      },
    );
    return stdout.trim().split("\n");
  };
}

/** The README's meters walk-through, on the example catalog. */
describe.skipIf(!hasJq)("the README's meters walk-through", () => {
  const walk = useWalkThrough("Meters: usage by dimension");

  it("should show a per-model limit, distinct users, and usage grouped by model", async () => {
    // when the walk-through runs as written
    // then gpt-4 stops at its 1,000 while another model goes on, ann counts once, and the
    // entitlements and the report show the total and gpt-4 apart
    expect(await walk()).toEqual([
      '{"allowed":true}',
      '{"allowed":false,"denialReason":"DENIAL_REASON_LIMIT_EXCEEDED","limit":{"model":"gpt-4"}}',
      '{"allowed":true}',
      '{"allowed":true,"used":"1"}',
      '{"allowed":true,"used":"1"}',
      '{"allowed":true,"used":"2"}',
      '{"resourceType":"tokens","dimensions":{},"aggregation":"AGGREGATION_SUM","used":"6000","limit":"100000"}',
      '{"resourceType":"tokens","dimensions":{"model":"gpt-4"},"aggregation":"AGGREGATION_SUM","used":"1000","limit":"1000"}',
      '{"resourceType":"api_calls","dimensions":{},"aggregation":"AGGREGATION_COUNT","used":"0","limit":"1000"}',
      '{"resourceType":"api_calls","dimensions":{"endpoint":"/v1/embeddings"},"aggregation":"AGGREGATION_COUNT","used":"0","limit":"100"}',
      '{"resourceType":"active_users","dimensions":{},"aggregation":"AGGREGATION_UNIQUE_COUNT","used":"2","limit":"100"}',
      '{"resourceType":"peak_agents","dimensions":{},"aggregation":"AGGREGATION_MAX","used":"0","limit":"3"}',
      '{"resourceType":"seats","dimensions":{},"aggregation":"AGGREGATION_LATEST","used":"0","limit":"5"}',
      '{"resourceType":"tokens","quantity":"100","dimensions":{"model":"gpt-4"}}',
    ]);
  });
});

/** The README's corrections walk-through, on the example catalog. */
describe.skipIf(!hasJq)("the README's corrections walk-through", () => {
  const walk = useWalkThrough(
    "Corrections: void, replace, late events",
    "examples/catalogs/llm-platform.json",
  );

  it("should reject a too-old event, void a duplicate, replace a range and take a CloudEvent", async () => {
    // when the walk-through runs as written
    // then each step answers as the README says
    expect(await walk()).toEqual([
      '{"acceptedCount":"2","codes":["EVENT_TOO_OLD"]}',
      '{"voidedCount":"1","alreadyVoidedCount":"0","notFound":[]}',
      '{"dimensions":{},"used":"300"}',
      '{"dimensions":{"model":"gpt-4"},"used":"300"}',
      '{"voidedCount":"1","acceptedCount":"1"}',
      '[{"id":"a-again","voided":true},{"id":"a","voided":true},{"id":"w1","voided":false}]',
      '{"accepted_count":1,"duplicate_count":0,"rejected_count":0,"rejected_events":[]}',
    ]);
  });
});

/** The README's pricing walk-through, on the tiered catalog. */
describe.skipIf(!hasJq)("the README's pricing walk-through", () => {
  const walk = useWalkThrough("Pricing models");

  it("should price each model, true up the minimum, and take a negotiated price", async () => {
    // when the walk-through runs as written
    // then the lines are the README's worked examples, and the negotiated price makes 1.5M
    // tokens 3.00 (1,500,000 × 0.000002), which leaves 17.00 for the minimum to true up
    expect(await walk()).toEqual([
      '{"kind":"INVOICE_LINE_KIND_PLAN_FEE","resourceType":"","amount":"29.00"}',
      '{"kind":"INVOICE_LINE_KIND_USAGE","resourceType":"tokens","amount":"12.00"}',
      '{"kind":"INVOICE_LINE_KIND_USAGE","resourceType":"api_calls","amount":"18.00"}',
      '{"kind":"INVOICE_LINE_KIND_USAGE","resourceType":"sms","amount":"4.50"}',
      '{"kind":"INVOICE_LINE_KIND_USAGE","resourceType":"exports","amount":"7.50"}',
      '{"kind":"INVOICE_LINE_KIND_MINIMUM_TRUE_UP","resourceType":"","amount":"8.00"}',
      '[{"quantity":"1000000","amount":"0"},{"quantity":"1500000","amount":"12"}]',
      '"79.00"',
      '{"resourceType":"tokens","pricing":{"model":"PRICING_MODEL_PER_UNIT","unitAmount":"0.000002","tiers":[],"tiersFrom":"","packageSize":"","packageAmount":"","round":""}}',
      '{"resourceType":"tokens","amount":"3.00"}',
      '{"resourceType":"api_calls","amount":"18.00"}',
      '{"resourceType":"sms","amount":"4.50"}',
      '{"resourceType":"exports","amount":"7.50"}',
      '{"resourceType":"","amount":"17.00"}',
      '"79.00"',
    ]);
  });
});

/** The README's features walk-through, on the default catalog. */
describe.skipIf(!hasJq)("the README's features walk-through", () => {
  const walk = useWalkThrough("Features", "");

  it("should show defaults, an override, a plan's values, and one event per change", async () => {
    // when the walk-through runs as written
    // then FREE shows defaults, the override turns SSO on, TEAM sets retention, and the two
    // changes were announced once each, newest first
    expect(await walk()).toEqual([
      '{"name":"sso","value":false,"source":"FEATURE_SOURCE_DEFAULT"}',
      '{"name":"priority_support","value":false,"source":"FEATURE_SOURCE_DEFAULT"}',
      '{"name":"retention_days","value":"7","source":"FEATURE_SOURCE_DEFAULT"}',
      '{"name":"support","value":"community","source":"FEATURE_SOURCE_DEFAULT"}',
      '{"enabled":true,"source":"FEATURE_SOURCE_OVERRIDE"}',
      '{"enabled":true,"value":"90","source":"FEATURE_SOURCE_PLAN"}',
      '[["agents","api_calls","executions","plan_id","retention_days","storage_mb","support","tokens","workflows"],["sso"]]',
    ]);
  });
});

/** The README's rate-window walk-through, on the rate-window catalog. */
describe.skipIf(!hasJq)("the README's rate-window walk-through", () => {
  const walk = useWalkThrough("Rate windows");

  it("should count costs over a 10-second window and let them go", async () => {
    // when the walk-through runs as written
    // then 3 + 2 fill the window, the next unit waits with a retry time, and fits at reset
    expect(await walk()).toEqual([
      '{"allowed":true,"remaining":"2","window":"10s"}',
      '{"allowed":true,"remaining":"0"}',
      '{"allowed":false,"retryAfter":true}',
      '{"allowed":true}',
    ]);
  }, 60_000);
});

/** The README's price-change walk-through, on the default catalog. */
describe.skipIf(!hasJq)("the README's price-change walk-through", () => {
  const walk = useWalkThrough("Changing prices", "");

  it("should diff and push a catalog, keep the customer on version 1, and schedule its move", async () => {
    // when the walk-through runs as written
    // then the diff names PRO's price and limit, version 2 is stored and served, the customer
    // keeps 10,000 executions, and its move to $59 is previewed, then scheduled
    const lines = await walk();
    expect(lines[0]).toMatch(/^~ price pro: .*"unit_amount":"49.00".* -> .*"unit_amount":"59.00"/);
    expect(lines[1]).toMatch(/^~ limit pro\.executions: .*"limit":"10000".* -> .*"limit":"8000"/);
    expect(lines.slice(2)).toEqual([
      "plan pro: version 1 -> 2; existing subscriptions stay on 1 until migrated",
      "stored catalog version 2",
      '{"version":2,"unitAmount":"59.00"}',
      '{"included":"10000"}',
      '{"unitAmountBefore":"49.00","unitAmountAfter":"59.00","invoiceDifference":"10.00"}',
      '{"outcome":"MIGRATION_OUTCOME_SCHEDULED"}',
      '{"planVersion":1,"scheduledPlanVersion":2}',
    ]);
  });
});

/** The README's test-clock walk-through, on the default catalog. */
describe.skipIf(!hasJq)("the README's test-clock walk-through", () => {
  const walk = useWalkThrough("Simulating time", "");

  it("should end the trial and roll the period over once each", async () => {
    expect(await walk()).toEqual([
      '{"state":"SUBSCRIPTION_STATE_ACTIVE"}',
      '["subscription.trial_will_end","subscription.updated","subscription.updated"]',
    ]);
  });
});
