import { randomUUID } from "node:crypto";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UsageService } from "../gen/tollgate/v1/usage_service_pb.js";
import { createTestDatabase, type TestDatabase } from "./support/database.js";
import { type ServerProcess, startServerProcess } from "./support/server-process.js";

/** Polls `GET /healthz` until `until` settles; returns the slowest answer in ms (Infinity if one failed). */
async function watchHealth(baseUrl: string, until: Promise<unknown>): Promise<number> {
  let settled = false;
  void until.finally(() => {
    settled = true;
  });
  let slowest = 0;
  while (!settled) {
    const started = performance.now();
    const res = await fetch(`${baseUrl}/healthz`, { signal: AbortSignal.timeout(5_000) }).catch(
      () => undefined,
    );
    slowest = Math.max(slowest, res?.ok ? performance.now() - started : Number.POSITIVE_INFINITY);
    await new Promise((r) => setTimeout(r, 100));
  }
  return slowest;
}

describe("hardening: one tenant cannot freeze the server", () => {
  let db: TestDatabase;
  let server: ServerProcess;

  beforeAll(async () => {
    db = await createTestDatabase();
    server = await startServerProcess({ DATABASE_URL: db.url });
  });
  afterAll(async () => {
    await server?.stop();
    await db?.drop();
  });

  it("should answer three concurrent TrackUsage calls of 20,000, 20,000 and 31,000 events and keep /healthz answering", async () => {
    // given: the default buffer of 50,000 events, which the third call does not fit beside
    // what one finished flush leaves held
    const tenantId = randomUUID();
    const usage = createClient(UsageService, createGrpcTransport({ baseUrl: server.baseUrl }));
    const call = (n: number) =>
      usage.trackUsage(
        {
          events: Array.from({ length: n }, () => ({
            eventId: randomUUID(),
            tenantId,
            resourceType: "tokens",
            quantity: "1",
          })),
        },
        { timeoutMs: 60_000 },
      );

    // when
    const calls = Promise.allSettled([call(20_000), call(20_000), call(31_000)]);
    const slowestHealth = await watchHealth(server.baseUrl, calls);
    const results = await calls;

    // then: every call answered, each accepted in full or refused ResourceExhausted
    for (const result of results) {
      if (result.status === "fulfilled") {
        expect(Number(result.value.acceptedCount)).toBeGreaterThanOrEqual(20_000);
      } else {
        expect(ConnectError.from(result.reason).code).toBe(Code.ResourceExhausted);
      }
    }
    expect(results.filter((r) => r.status === "fulfilled").length).toBeGreaterThanOrEqual(2);
    expect(slowestHealth).toBeLessThan(5_000);
    const health = await fetch(`${server.baseUrl}/healthz`);
    expect(health.status).toBe(200);
  });
});
