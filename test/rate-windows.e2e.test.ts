import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { durationMs, timestampDate } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import type { CheckAndRecordResponse } from "../gen/tollgate/v1/entitlement_service_pb.js";
import { errorOf, grpcTransport, tollgateClients } from "./support/clients.js";
import { useReplicas } from "./support/replicas.js";
import type { ServerProcess } from "./support/server-process.js";

const CATALOG = fileURLToPath(new URL("../examples/catalogs/rate-windows.json", import.meta.url));

type Clients = ReturnType<typeof tollgateClients>;

const decidedAt = (answer: CheckAndRecordResponse) =>
  answer.decisionTime ? timestampDate(answer.decisionTime).getTime() : Number.NaN;

describe("rolling rate windows on three replicas", () => {
  const suite = useReplicas(3, { PLAN_CATALOG_PATH: CATALOG, BILLING_RATE_LIMIT_BURST: "1000" });
  const clients = () =>
    suite.servers.map((s) => tollgateClients(grpcTransport((s as ServerProcess).baseUrl)));

  it("should count costs over the window, say when room frees, and forget what left it", {
    timeout: 40_000,
  }, async () => {
    const [api] = clients() as [Clients];
    const tenantId = randomUUID();
    const burst = (quantity = "1") =>
      api.entitlements.checkAndRecord({ tenantId, resourceType: "bursts", quantity });

    // given: five units in a 10-second window, taken as 1 + 1 + 3
    const first = await burst();
    await burst();
    const third = await burst("3");
    expect([first.allowed, third.allowed]).toEqual([true, true]);
    expect(third.entitlement?.window).toBe("10s");
    expect(third.entitlement?.remaining).toBe("0");

    // when: one more unit is asked for
    const denied = await burst();

    // then: denied until the first unit leaves, ten seconds after it was admitted
    expect(denied.allowed).toBe(false);
    expect(timestampDate(denied.resetTime!).getTime()).toBe(decidedAt(first) + 10_000);
    const retry = durationMs(denied.retryAfter!);
    expect(decidedAt(denied) + retry).toBe(decidedAt(first) + 10_000);
    expect(retry).toBeGreaterThan(0);
    expect(retry).toBeLessThanOrEqual(10_000);
    // Three units free only when the third call's units leave; more than the limit never fits.
    const big = await burst("4");
    expect(timestampDate(big.decisionTime!).getTime() + durationMs(big.retryAfter!)).toBe(
      decidedAt(third) + 10_000,
    );
    expect((await burst("6")).retryAfter).toBeUndefined();

    // when: the retry time has passed
    await sleep(decidedAt(denied) + retry - Date.now() + 50);
    const check = await api.entitlements.check({ tenantId, resourceType: "bursts" });
    expect(check.allowed).toBe(true);
    expect((await burst()).allowed).toBe(true);

    // then: a quiet window empties by itself
    await sleep(10_100);
    const { entitlements } = await api.entitlements.getEntitlements({ tenantId });
    const shown = entitlements.find((e) => e.resourceType === "bursts");
    expect([shown?.used, shown?.limit, shown?.window]).toEqual(["0", "5", "10s"]);
    const period = entitlements.find((e) => e.resourceType === "executions");
    expect(period?.window).toBe("");
  });

  it("should apply overrides and grants to a window, and refuse what a window cannot take", async () => {
    const [api] = clients() as [Clients];
    const tenantId = randomUUID();
    await api.entitlements.setEntitlementOverride({ tenantId, resourceType: "bursts", limit: "7" });
    await api.entitlements.grantCredits({
      tenantId,
      resourceType: "bursts",
      quantity: "2",
      reason: "launch day",
    });
    const answers = [];
    for (let i = 0; i < 10; i++) {
      answers.push(await api.entitlements.checkAndRecord({ tenantId, resourceType: "bursts" }));
    }
    expect(answers.filter((a) => a.allowed)).toHaveLength(9);
    expect(answers.at(-1)?.entitlement?.limit).toBe("9");

    const reserve = await errorOf(
      api.entitlements.reserve({ tenantId, resourceType: "bursts", quantity: "1" }),
    );
    expect(reserve.code).toBe(Code.InvalidArgument);
    expect(reserve.rawMessage).toContain("rolling window");
    const negative = await errorOf(
      api.entitlements.recordUsage({ tenantId, resourceType: "bursts", quantity: "-1" }),
    );
    expect(negative.code).toBe(Code.InvalidArgument);
  });

  it("should never admit more than 60 in any 60 s across three replicas, and admit that many", async () => {
    const tenantId = randomUUID();
    const replicas = clients();
    const admitted: number[] = [];
    const started = Date.now();
    const deadline = started + 150_000;

    // when: two callers on each replica hammer one tenant's 60-per-60-s limit for 150 s, each
    // asking again 25 ms after a denial (enough to take every unit the moment it frees, and
    // light enough that the suite's other files keep their timing while it runs)
    await Promise.all(
      replicas.flatMap((api) =>
        Array.from({ length: 2 }, async () => {
          while (Date.now() < deadline) {
            const answer = await api.entitlements.checkAndRecord({
              tenantId,
              resourceType: "requests",
            });
            if (answer.allowed) admitted.push(decidedAt(answer));
            else await sleep(25);
          }
        }),
      ),
    );

    // then: any 61 admits in a row span at least 60 s (no half-open 60-s window holds 61)
    admitted.sort((a, b) => a - b);
    for (let i = 0; i + 60 < admitted.length; i++) {
      expect((admitted[i + 60] as number) - (admitted[i] as number)).toBeGreaterThanOrEqual(60_000);
    }
    // and the rule's maximum was reached: 60 in each of the three windows the 150 s begin,
    // less at most one per window boundary
    expect(admitted.length).toBeLessThanOrEqual(180);
    expect(admitted.length).toBeGreaterThanOrEqual(177);
    expect(admitted[0]).toBeGreaterThanOrEqual(started - 1_000);
  }, 200_000);
});
