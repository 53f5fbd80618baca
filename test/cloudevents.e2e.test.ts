import { randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UsageService } from "../gen/tollgate/v1/usage_service_pb.js";
import { grpcClient } from "./support/clients.js";
import { createTestDatabase, type TestDatabase } from "./support/database.js";
import { type ServerProcess, startServerProcess } from "./support/server-process.js";

const ADMIN_KEY = "tg_cl0udev1_AdminSecretAdminSecretAdminSecret42";
const CATALOG = fileURLToPath(new URL("../examples/catalogs/llm-platform.json", import.meta.url));

/** The answer of `POST /v1/events`, as JSON. */
interface Summary {
  accepted_count: number;
  duplicate_count: number;
  rejected_count: number;
  rejected_events: { event_id: string; event_index: number; reason: string; reason_code: string }[];
}

describe("CloudEvents ingestion (POST /v1/events)", () => {
  let db: TestDatabase;
  let server: ServerProcess;
  const tenantId = randomUUID();

  beforeAll(async () => {
    db = await createTestDatabase();
    server = await startServerProcess({
      DATABASE_URL: db.url,
      PLAN_CATALOG_PATH: CATALOG,
      TOLLGATE_BOOTSTRAP_ADMIN_KEY: ADMIN_KEY,
    });
  });

  afterAll(async () => {
    await server?.stop();
    await db?.drop();
  });

  const post = (body: string, contentType: string, key: string | null = ADMIN_KEY) =>
    fetch(`${server.baseUrl}/v1/events`, {
      method: "POST",
      headers: {
        "content-type": contentType,
        ...(key === null ? {} : { authorization: `Bearer ${key}` }),
      },
      body,
    });
  const cloudEvent = (id: string, data: Record<string, unknown>, extra: object = {}) => ({
    specversion: "1.0",
    id,
    source: "//collector/test",
    type: "tokens",
    subject: tenantId,
    time: new Date(Date.now() - 60_000).toISOString(),
    data,
    ...extra,
  });
  const tokensOf = async () => {
    const { totals } = await grpcClient(UsageService, server.baseUrl).getUsage(
      {
        tenantId,
        resourceType: "tokens",
        startTime: { seconds: BigInt(Math.floor(Date.now() / 1000) - 86_400), nanos: 0 },
        endTime: { seconds: BigInt(Math.floor(Date.now() / 1000) + 3_600), nanos: 0 },
        groupBy: ["model"],
      },
      { headers: { authorization: `Bearer ${ADMIN_KEY}` } },
    );
    return Object.fromEntries(totals.map((t) => [t.dimensions.model ?? "", t.quantity]));
  };

  it("should take one structured event: the meter's value_property is the quantity, strings are attributes", async () => {
    const res = await post(
      JSON.stringify(cloudEvent("ce-1", { tokens: 1500, model: "gpt-4", cached: true })),
      "application/cloudevents+json",
    );
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      accepted_count: 1,
      duplicate_count: 0,
      rejected_count: 0,
      rejected_events: [],
    });
    expect(await tokensOf()).toEqual({ "gpt-4": "1500" });
  });

  it("should take a batch, count repeated ids as duplicates, and report each bad event by its index", async () => {
    const res = await post(
      JSON.stringify([
        cloudEvent("ce-2", { tokens: "250.5", model: "gpt-4o-mini" }),
        cloudEvent("ce-1", { tokens: 1500, model: "gpt-4" }),
        { specversion: "1.0", id: "ce-3", type: "tokens", data: { tokens: 1 } },
        cloudEvent("ce-4", { tokens: 1 }, { type: "unknown_resource" }),
        cloudEvent("ce-5", { tokens: 1 }, { time: new Date(Date.now() + 3_600_000).toISOString() }),
        "not an object",
        cloudEvent("ce-6", { tokens: 10, model: "gpt-4o-mini" }),
      ]),
      "application/cloudevents-batch+json; charset=utf-8",
    );
    expect(res.status).toBe(200);
    const summary = (await res.json()) as Summary;
    expect([summary.accepted_count, summary.duplicate_count, summary.rejected_count]).toEqual([
      2, 1, 4,
    ]);
    expect(summary.rejected_events.map((r) => [r.event_index, r.event_id, r.reason_code])).toEqual([
      [2, "ce-3", "INVALID_EVENT"],
      [3, "ce-4", "INVALID_EVENT"],
      [4, "ce-5", "EVENT_IN_FUTURE"],
      [5, "", "INVALID_EVENT"],
    ]);
    expect(summary.rejected_events[0]?.reason).toContain("source: is required");
    expect(summary.rejected_events[0]?.reason).toContain("subject: is required");
    expect(summary.rejected_events[1]?.reason).toContain("resource_type");
    expect(await tokensOf()).toEqual({ "gpt-4": "1500", "gpt-4o-mini": "260.5" });
  });

  it("should refuse bad JSON, other media types, oversized bodies and missing keys, storing nothing", async () => {
    const bad = await post("{not json", "application/cloudevents+json");
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toContain("not JSON");

    const plain = await post(JSON.stringify(cloudEvent("ce-7", { tokens: 1 })), "text/plain");
    expect(plain.status).toBe(415);

    const notArray = await post(
      JSON.stringify(cloudEvent("ce-7", { tokens: 1 })),
      "application/cloudevents-batch+json",
    );
    expect(notArray.status).toBe(400);

    const huge = await post(
      JSON.stringify([cloudEvent("ce-8", { tokens: 1, pad: "x".repeat(5 * 1024 * 1024) })]),
      "application/cloudevents-batch+json",
    );
    expect(huge.status).toBe(413);

    const anonymous = await post(
      JSON.stringify(cloudEvent("ce-9", { tokens: 1 })),
      "application/cloudevents+json",
      null,
    );
    expect(anonymous.status).toBe(401);
    const wrong = await post(
      JSON.stringify(cloudEvent("ce-9", { tokens: 1 })),
      "application/cloudevents+json",
      "tg_zzzzzzzz_UnknownUnknownUnknownUnknown00",
    );
    expect(wrong.status).toBe(401);

    expect(await tokensOf()).toEqual({ "gpt-4": "1500", "gpt-4o-mini": "260.5" });
  });
});
