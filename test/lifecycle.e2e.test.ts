import { randomUUID } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import http2 from "node:http2";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Health, HealthCheckResponse_ServingStatus } from "../gen/health/v1/health_pb.js";
import { EntitlementService } from "../gen/tollgate/v1/entitlement_service_pb.js";
import { migrationSource } from "../src/platform/db/migrations/index.js";
import { grpcClient } from "./support/clients.js";
import { createTestDatabase, type TestDatabase } from "./support/database.js";
import { startServerProcess } from "./support/server-process.js";
import { waitFor } from "./support/wait.js";

describe("server lifecycle", () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase();
  });

  afterAll(async () => {
    await db?.drop();
  });

  it("should drain on SIGTERM: GOAWAY to open HTTP/2 clients, NOT_SERVING, bounded exit", async () => {
    // given a server with an open HTTP/2 session and a long-lived health watch on it
    const server = await startServerProcess({
      DATABASE_URL: db.url,
      SHUTDOWN_TIMEOUT_SECONDS: "1",
    });
    const session = http2.connect(server.baseUrl);
    const goaway = new Promise<number>((resolve) =>
      session.once("goaway", (code) => resolve(code)),
    );
    const health = grpcClient(Health, server.baseUrl);
    const statuses: HealthCheckResponse_ServingStatus[] = [];
    const watching = (async () => {
      for await (const res of health.watch({ service: "" })) statuses.push(res.status);
    })().catch(() => "ended by the server");
    await waitFor(() => statuses.length === 1);

    // when the server is told to stop
    const started = Date.now();
    const exitCode = await server.stop("SIGTERM");

    // then the open session got GOAWAY, watchers saw NOT_SERVING, and it exited within the grace
    expect(await goaway).toBe(http2.constants.NGHTTP2_NO_ERROR);
    await watching;
    expect(statuses).toEqual([
      HealthCheckResponse_ServingStatus.SERVING,
      HealthCheckResponse_ServingStatus.NOT_SERVING,
    ]);
    expect(exitCode).toBe(0);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(server.logs().map((l) => l.msg)).toContain("stopped");
    session.destroy();
  });

  it("should let a gRPC call that waits for its batch finish while the server drains", async () => {
    // given a gRPC call (served by grpc-js) waiting behind a counter row locked from outside
    const server = await startServerProcess({ DATABASE_URL: db.url });
    const entitlements = grpcClient(EntitlementService, server.baseUrl);
    const admit = { tenantId: randomUUID(), resourceType: "tokens", quantity: "1" };
    expect((await entitlements.checkAndRecord(admit)).allowed).toBe(true);
    const locker = new pg.Client({ connectionString: db.url });
    await locker.connect();
    try {
      await locker.query("begin");
      await locker.query("select 1 from usage_counters where tenant_id = $1 for update", [
        admit.tenantId,
      ]);
      const waiting = entitlements.checkAndRecord(admit);
      await sleep(200);

      // when the server is told to stop, and the lock goes 300 ms later
      const stopped = server.stop("SIGTERM");
      await sleep(300);
      await locker.query("commit");

      // then the call was answered and recorded, and the server exited cleanly after it
      expect((await waiting).entitlement?.used).toBe("2");
      expect(await stopped).toBe(0);
    } finally {
      await locker.end();
    }
  });

  it("should exit at once when idle and refuse new connections afterwards", async () => {
    const server = await startServerProcess({ DATABASE_URL: db.url });
    expect(await server.stop("SIGINT")).toBe(0);
    await expect(fetch(`${server.baseUrl}/healthz`)).rejects.toThrow();
  });

  it("should refuse to start with a bad setting, naming the variable and accepted values", async () => {
    await expect(
      startServerProcess({ DATABASE_URL: db.url, LOG_LEVEL: "loud", BILLING_PROVIDER: "paypal" }),
    ).rejects.toThrow(
      /LOG_LEVEL: .*accepted: fatal, error, warn, info, debug, trace, silent[\s\S]*BILLING_PROVIDER: .*accepted: mock, stripe|BILLING_PROVIDER[\s\S]*LOG_LEVEL/,
    );
  });

  it("should refuse to start with exit code 2 when the plan catalog is invalid", async () => {
    const dir = await mkdtemp(join(tmpdir(), "tollgate-plans-"));
    try {
      const path = join(dir, "plans.json");
      await writeFile(path, JSON.stringify({ default_plan: "x", plans: [] }));
      await expect(
        startServerProcess({ DATABASE_URL: db.url, PLAN_CATALOG_PATH: path }),
      ).rejects.toThrow(
        /exited with 2 before serving[\s\S]*PLAN_CATALOG_PATH \(.+plans\.json\): plans:/,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

// Two PGlite starts, each allowed the harness's start limit on busy cores.
describe("embedded PGlite default", { timeout: 400_000 }, () => {
  let dataDir: string;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "tollgate-pglite-"));
  });

  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it("should boot without DATABASE_URL, migrate, and keep its data across a restart", async () => {
    // given a first start on an empty data directory
    const first = await startServerProcess({ TOLLGATE_DATA_DIR: dataDir });
    const firstHealth = await fetch(`${first.baseUrl}/healthz`);
    expect(await firstHealth.json()).toEqual({ status: "SERVING", database: "up" });
    const firstMigration = first.logs().find((l) => l.msg === "database schema is up to date");
    expect(firstMigration?.applied).toEqual(await migrationSource.getMigrations([]));
    const tenantId = "0b6f3c1e-2d4a-4f5b-8c9d-0e1f2a3b4c5d";
    const created = await callJson(first.baseUrl, "CreateCustomer", {
      tenantId,
      email: "kept@example.com",
    });
    expect(await first.stop()).toBe(0);

    // when it starts again on the same directory
    const second = await startServerProcess({ TOLLGATE_DATA_DIR: dataDir });

    // then the schema is still there and nothing is applied twice
    const secondMigration = second.logs().find((l) => l.msg === "database schema is up to date");
    expect(secondMigration?.applied).toEqual([]);
    expect(await callJson(second.baseUrl, "GetCustomer", { tenantId })).toEqual(created);
    // and usage is ingested exactly once on PGlite too (through its JSON flush)
    const events = [1, 2, 3].map((i) => ({
      eventId: `pglite-${i}`,
      tenantId,
      resourceType: "tokens",
      quantity: "2.5",
      attributes: { note: "tab\there" },
    }));
    const tracked = { events: [...events, events[0]] };
    expect(await callJson(second.baseUrl, "TrackUsage", tracked, "UsageService")).toMatchObject({
      acceptedCount: "3",
      duplicateCount: "1",
    });
    expect(await callJson(second.baseUrl, "TrackUsage", tracked, "UsageService")).toMatchObject({
      duplicateCount: "4",
    });
    // (over 401 days: an unspecified granularity means days, whose bound is 3,700 days)
    const day = 86_400_000;
    const usage = await callJson(
      second.baseUrl,
      "GetUsage",
      {
        tenantId,
        startTime: new Date(Date.now() - 400 * day).toISOString(),
        endTime: new Date(Date.now() + day).toISOString(),
      },
      "UsageService",
    );
    expect(usage).toMatchObject({ totals: [{ resourceType: "tokens", quantity: "7.5" }] });
    // and admissions go through the same batches on PGlite's one connection: exactly 100 of
    // 150 concurrent calls fit the FREE plan, a keyed retry replays, a reservation settles
    const admit = (body: Record<string, unknown>) =>
      callJson(second.baseUrl, "CheckAndRecord", body, "EntitlementService") as Promise<{
        allowed?: boolean;
        entitlement: { used: string };
      }>;
    const pgliteTenant = "6a0d4c2e-1b3f-4a5d-9e8f-7c6b5a4d3e2f";
    const answers = await Promise.all(
      Array.from({ length: 150 }, (_, i) =>
        admit({ tenantId: pgliteTenant, resourceType: "executions", idempotencyKey: `k${i}` }),
      ),
    );
    expect(answers.filter((a) => a.allowed)).toHaveLength(100);
    expect(
      await admit({ tenantId: pgliteTenant, resourceType: "executions", idempotencyKey: "k0" }),
    ).toEqual(answers[0]);
    const held = (await callJson(
      second.baseUrl,
      "Reserve",
      { tenantId, resourceType: "executions", quantity: "5", ttlSeconds: 60 },
      "EntitlementService",
    )) as { allowed: boolean; reservationId: string };
    expect(held.allowed).toBe(true);
    expect(
      await callJson(
        second.baseUrl,
        "CommitReservation",
        { reservationId: held.reservationId, actualQuantity: "3" },
        "EntitlementService",
      ),
    ).toMatchObject({
      reservation: { state: "RESERVATION_STATE_COMMITTED" },
      entitlement: { used: "3" },
    });
    // and the operator console and the RPCs it needs work on PGlite
    const page = await fetch(`${second.baseUrl}/console`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("/console/assets/");
    expect(await callJson(second.baseUrl, "ListCustomers", { query: "KEPT@" })).toMatchObject({
      customers: [{ tenantId, email: "kept@example.com" }],
    });
    expect(await callJson(second.baseUrl, "CountCustomers", {})).toEqual({
      counts: [{ planId: "free", customerCount: "1" }],
      customerCount: "1",
    });
    expect(
      await callJson(
        second.baseUrl,
        "ListEntitlementOverrides",
        { tenantId },
        "EntitlementService",
      ),
    ).toEqual({});
    expect(
      second.logs().some((l) => l.msg === "using embedded PGlite (DATABASE_URL is unset)"),
    ).toBe(true);
    expect(await second.stop()).toBe(0);
  });
});

/** Calls a Tollgate RPC with Connect JSON over HTTP/1.1 and returns the parsed body. */
async function callJson(
  baseUrl: string,
  method: string,
  body: unknown,
  service = "BillingService",
): Promise<unknown> {
  const res = await fetch(`${baseUrl}/tollgate.v1.${service}/${method}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  expect(res.status).toBe(200);
  return res.json();
}
