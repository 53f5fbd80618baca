import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { Code, ConnectError } from "@connectrpc/connect";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { EntitlementService } from "../gen/tollgate/v1/entitlement_service_pb.js";
import { queryRows } from "./support/app.js";
import { grpcClient } from "./support/clients.js";
import { useReplicas } from "./support/replicas.js";
import type { ServerProcess } from "./support/server-process.js";
import { startServerBehindProxy } from "./support/tcp-proxy.js";

/*
 * Group commit: concurrent admissions share one database round trip per batch. These tests
 * check that batching changes no outcome: exact limits on a hot counter across replicas,
 * idempotency and reservations interleaved, a database cut in the middle of batches, and
 * calls whose callers gave up recording nothing.
 */

async function scalar(url: string, sql: string, params: unknown[]): Promise<string | null> {
  const [row] = await queryRows<{ v: string | null }>(url, sql, params);
  return row?.v ?? null;
}

const usedOf = (url: string, tenantId: string, resourceType: string) =>
  scalar(
    url,
    "select used::text as v from usage_counters where tenant_id = $1 and resource_type = $2",
    [tenantId, resourceType],
  );

/** One stat of the `tollgate_admissions` gauge on a server's /metrics. */
async function admissionStat(baseUrl: string, stat: string): Promise<number> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  const match = new RegExp(`^tollgate_admissions\\{stat="${stat}"\\} (\\d+)`, "m").exec(text);
  if (!match) throw new Error(`no tollgate_admissions{stat="${stat}"} in /metrics`);
  return Number(match[1]);
}

/** A Connect unary call over HTTP/1.1 with a raw timeout header: the server's own answer. */
async function connectCall(
  baseUrl: string,
  body: Record<string, unknown>,
  timeoutMs: number | undefined,
): Promise<string> {
  const response = await fetch(`${baseUrl}/tollgate.v1.EntitlementService/CheckAndRecord`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(timeoutMs === undefined ? {} : { "connect-timeout-ms": String(timeoutMs) }),
    },
    body: JSON.stringify(body),
  });
  const answer = (await response.json()) as { code?: string; allowed?: boolean };
  return response.ok ? (answer.allowed ? "allowed" : "denied") : (answer.code ?? "unknown");
}

describe("group-committed admissions", () => {
  const suite = useReplicas(2);

  it("should admit exactly 100 of 5,000 concurrent calls of one hot tenant, in shared batches", async () => {
    // given a FREE tenant (100 executions) and two replicas
    const tenantId = randomUUID();
    const clients = suite.servers.map((s) => grpcClient(EntitlementService, s.baseUrl));
    const before = await Promise.all(
      suite.servers.map(async (s) => ({
        calls: await admissionStat(s.baseUrl, "calls"),
        batches: await admissionStat(s.baseUrl, "batches"),
      })),
    );

    // when 5,000 calls race, split across the replicas
    const results = await Promise.all(
      Array.from({ length: 5_000 }, (_, i) =>
        clients[i % 2]?.checkAndRecord({ tenantId, resourceType: "executions", quantity: "1" }),
      ),
    );

    // then exactly 100 were allowed and recorded, each denial recorded nothing
    expect(results.filter((r) => r?.allowed)).toHaveLength(100);
    expect(await usedOf(suite.db.url, tenantId, "executions")).toBe("100");
    // and the calls shared batches: far fewer round trips than calls on each replica
    for (const [i, server] of suite.servers.entries()) {
      const calls = (await admissionStat(server.baseUrl, "calls")) - (before[i]?.calls ?? 0);
      const batches = (await admissionStat(server.baseUrl, "batches")) - (before[i]?.batches ?? 0);
      expect(calls).toBe(2_500);
      expect(batches).toBeLessThan(calls / 5);
    }
  });

  it("should stay exact with quantities, reservations and idempotent retries interleaved", async () => {
    // given a FREE tenant (100 executions) and two replicas
    const tenantId = randomUUID();
    const clients = suite.servers.map((s) => grpcClient(EntitlementService, s.baseUrl));
    const client = (i: number) => clients[i % 2] as (typeof clients)[number];

    // when 150 keyed CheckAndRecord calls of 1-3 (each sent twice, once to each replica) race
    // with 30 keyed reservations of 2, each committed at 1 or released once it is held
    const quantities = Array.from({ length: 150 }, (_, i) => (i % 3) + 1);
    const admissions = quantities.flatMap((q, i) =>
      [0, 1].map((copy) =>
        client(i + copy).checkAndRecord({
          tenantId,
          resourceType: "executions",
          quantity: String(q),
          idempotencyKey: `cr-${i}`,
        }),
      ),
    );
    const holds = Array.from({ length: 30 }, async (_, i) => {
      const request = {
        tenantId,
        resourceType: "executions",
        quantity: "2",
        ttlSeconds: 60,
        idempotencyKey: `r-${i}`,
      };
      const [first, retry] = await Promise.all([
        client(i).reserve(request),
        client(i + 1).reserve(request),
      ]);
      expect(retry.reservationId).toBe(first.reservationId);
      if (!first.allowed) return { held: false, committed: 0 };
      if (i % 2 === 0) {
        await client(i + 1).commitReservation({
          reservationId: first.reservationId,
          actualQuantity: "1",
        });
        return { held: true, committed: 1 };
      }
      await client(i).releaseReservation({ reservationId: first.reservationId });
      return { held: true, committed: 0 };
    });
    const answers = await Promise.all(admissions);
    const settled = await Promise.all(holds);

    // then both copies of each key got the same answer
    for (let i = 0; i < quantities.length; i++) {
      const [a, b] = [answers[2 * i], answers[2 * i + 1]];
      expect(b?.allowed).toBe(a?.allowed);
      expect(b?.reason).toBe(a?.reason);
      expect(b?.entitlement?.used).toBe(a?.entitlement?.used);
    }
    // and the counter holds exactly the admitted quantities plus the committed amounts,
    // within the limit, with nothing left reserved
    const admitted = quantities.reduce((sum, q, i) => sum + (answers[2 * i]?.allowed ? q : 0), 0);
    const committed = settled.reduce((sum, s) => sum + s.committed, 0);
    expect(admitted + committed).toBeLessThanOrEqual(100);
    expect(admitted).toBeGreaterThan(0);
    expect(await usedOf(suite.db.url, tenantId, "executions")).toBe(String(admitted + committed));
    expect(
      await scalar(
        suite.db.url,
        "select reserved::text as v from usage_counters where tenant_id = $1 and resource_type = 'executions'",
        [tenantId],
      ),
    ).toBe("0");
    expect(
      await scalar(
        suite.db.url,
        "select count(*)::text as v from entitlement_requests where tenant_id = $1",
        [tenantId],
      ),
    ).toBe("180");
  });

  it("should lose no acknowledged call and record none twice when the database is cut mid-batch", async () => {
    // given a server whose database runs through a cut-able proxy, a tenant with one recorded
    // call, and that tenant's counter row locked from outside, so its next batch waits inside
    // PostgreSQL
    const { proxy, server } = await startServerBehindProxy(suite.db.url, {});
    const locker = new pg.Client({ connectionString: suite.db.url });
    await locker.connect();
    try {
      const client = grpcClient(EntitlementService, server.baseUrl);
      const tenantId = randomUUID();
      const call = (key: string) =>
        client.checkAndRecord({
          tenantId,
          resourceType: "tokens",
          quantity: "1",
          idempotencyKey: key,
        });
      await call("first");
      await locker.query("begin");
      await locker.query("select * from usage_counters where tenant_id = $1 for update", [
        tenantId,
      ]);

      // when 64 callers send keyed calls, each retrying its key until it is acknowledged, and
      // the connection of the waiting batch is cut; the lock is then released, so PostgreSQL
      // commits that batch although its answer is lost, and the database comes back
      const failures = new Map<string, number>();
      let running = true;
      let acknowledged = 1;
      const callers = Array.from({ length: 64 }, async (_, c) => {
        for (let n = 0; running || n === 0; n++) {
          for (;;) {
            try {
              await call(`c${c}-${n}`);
              acknowledged += 1;
              break;
            } catch (error) {
              const code = Code[ConnectError.from(error).code];
              failures.set(code, (failures.get(code) ?? 0) + 1);
              await sleep(50);
            }
          }
        }
      });
      await sleep(300);
      proxy.cut();
      await sleep(100);
      await locker.query("commit");
      await sleep(400);
      proxy.resume();
      await sleep(1_000);
      running = false;
      await Promise.all(callers);

      // then the cut batch's callers were told Unavailable, and after their retries the
      // counter holds exactly the acknowledged calls: none lost, none counted twice
      expect(failures.get("Unavailable") ?? 0).toBeGreaterThan(0);
      expect([...failures.keys()]).toEqual(["Unavailable"]);
      expect(acknowledged).toBeGreaterThan(128);
      expect(await usedOf(suite.db.url, tenantId, "tokens")).toBe(String(acknowledged));
    } finally {
      await locker.end();
      await server.stop();
      await proxy.close();
    }
  });

  it("should record nothing for calls answered DEADLINE_EXCEEDED: already expired or 1 ms while busy, over Connect and gRPC", async () => {
    // given a tenant whose counter row is locked from outside, so its batch cannot proceed
    const server = suite.servers[0] as ServerProcess;
    const tenantId = randomUUID();
    expect(await connectCall(server.baseUrl, { tenantId, resourceType: "tokens" }, undefined)).toBe(
      "allowed",
    );
    const locker = new pg.Client({ connectionString: suite.db.url });
    await locker.connect();
    try {
      await locker.query("begin");
      await locker.query("select * from usage_counters where tenant_id = $1 for update", [
        tenantId,
      ]);

      // when 20 calls arrive with an expired deadline (0 ms), 100 with a 1 ms deadline (one
      // keyed), and one without a deadline, and the lock is held for 300 ms
      const call = (timeoutMs: number | undefined, idempotencyKey = "") =>
        connectCall(
          server.baseUrl,
          { tenantId, resourceType: "tokens", quantity: "1", idempotencyKey },
          timeoutMs,
        );
      const expired = Array.from({ length: 20 }, () => call(0));
      const hurried = Array.from({ length: 100 }, (_, i) => call(1, i === 0 ? "late" : ""));
      // (and 20 more with a 1 ms deadline over gRPC, which grpc-js serves)
      const overGrpc = grpcClient(EntitlementService, server.baseUrl);
      const hurriedGrpc = Array.from({ length: 20 }, () =>
        overGrpc
          .checkAndRecord({ tenantId, resourceType: "tokens", quantity: "1" }, { timeoutMs: 1 })
          .then(
            () => "answered",
            (e: unknown) => Code[ConnectError.from(e).code],
          ),
      );
      const patient = call(undefined);
      const other = connectCall(
        server.baseUrl,
        { tenantId: randomUUID(), resourceType: "tokens" },
        undefined,
      );
      expect(await other).toBe("allowed");
      await sleep(300);
      await locker.query("commit");

      // then every call with a deadline was answered DEADLINE_EXCEEDED and recorded nothing,
      // while the patient call was admitted once the lock was gone
      expect(new Set(await Promise.all(expired))).toEqual(new Set(["deadline_exceeded"]));
      expect(new Set(await Promise.all(hurried))).toEqual(new Set(["deadline_exceeded"]));
      expect(new Set(await Promise.all(hurriedGrpc))).toEqual(new Set(["DeadlineExceeded"]));
      expect(await patient).toBe("allowed");
      expect(await usedOf(suite.db.url, tenantId, "tokens")).toBe("2");
      // and the keyed call that was dropped left its key free: a retry records it once
      expect(await call(undefined, "late")).toBe("allowed");
      expect(await call(undefined, "late")).toBe("allowed");
      expect(await usedOf(suite.db.url, tenantId, "tokens")).toBe("3");
      expect(await admissionStat(server.baseUrl, "shed")).toBeGreaterThan(0);
      // and usage sent with an expired deadline is not stored either
      const tracked = await fetch(`${server.baseUrl}/tollgate.v1.UsageService/TrackUsage`, {
        method: "POST",
        headers: { "content-type": "application/json", "connect-timeout-ms": "0" },
        body: JSON.stringify({
          events: [{ eventId: "too-late", tenantId, resourceType: "tokens", quantity: "1" }],
        }),
      });
      expect(((await tracked.json()) as { code: string }).code).toBe("deadline_exceeded");
      await sleep(300);
      expect(
        await scalar(
          suite.db.url,
          "select count(*)::text as v from usage_events where tenant_id = $1",
          [tenantId],
        ),
      ).toBe("0");
    } finally {
      await locker.end();
    }
  });
});

describe("admissions with a statement per tenant (ADMISSION_STATEMENT_PER_TENANT)", () => {
  const suite = useReplicas(2, { ADMISSION_STATEMENT_PER_TENANT: "true" });

  it("should admit exactly each tenant's limit when 40 tenants race on two replicas", async () => {
    // given 40 FREE tenants (100 executions each) and two replicas
    const tenants = Array.from({ length: 40 }, () => randomUUID());
    const clients = suite.servers.map((s) => grpcClient(EntitlementService, s.baseUrl));

    // when 120 calls of 1 per tenant race, interleaved across tenants and replicas
    const results = await Promise.all(
      Array.from({ length: 120 * tenants.length }, (_, i) =>
        clients[i % 2]?.checkAndRecord({
          tenantId: tenants[i % tenants.length] as string,
          resourceType: "executions",
          quantity: "1",
        }),
      ),
    );

    // then each tenant got exactly 100, recorded once
    expect(results.filter((r) => r?.allowed)).toHaveLength(100 * tenants.length);
    for (const tenantId of tenants) {
      expect(await usedOf(suite.db.url, tenantId, "executions")).toBe("100");
    }
  });
});
