import { randomUUID } from "node:crypto";
import { Code, ConnectError } from "@connectrpc/connect";
import { createTollgateClient, type TollgateClient } from "@tollgate/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "./support/database.js";
import { type ServerProcess, startServerProcess } from "./support/server-process.js";

/** The TypeScript client's feature cache against a real server that stops and comes back. */
describe("the TypeScript client's feature cache", () => {
  let db: TestDatabase;
  let server: ServerProcess;
  let client: TollgateClient;
  let admin: TollgateClient;

  beforeAll(async () => {
    db = await createTestDatabase();
    server = await startServerProcess({ DATABASE_URL: db.url, BILLING_RATE_LIMIT_BURST: "1000" });
    client = createTollgateClient({
      baseUrl: server.baseUrl,
      maxAttempts: 1,
      cache: { staleForMs: 3_000, fallback: { sso: false } },
    });
    admin = createTollgateClient({ baseUrl: server.baseUrl });
  });

  afterAll(async () => {
    client?.close();
    admin?.close();
    await server?.stop();
    await db?.drop();
  });

  const sso = (tenantId: string) => client.checkFeature(tenantId, "sso");

  it("should answer from the cache, follow changes within 2 s, go stale, fall back, and recover", async () => {
    // given: a FREE tenant, cached
    const tenantId = randomUUID();
    expect(await sso(tenantId)).toEqual({
      name: "sso",
      enabled: false,
      value: false,
      source: "cache",
    });
    expect(await client.checkFeature(tenantId, "retention_days")).toMatchObject({
      value: "7",
      enabled: false,
    });
    const unknown = await client.checkFeature(tenantId, "saml").catch((e: unknown) => e);
    expect(ConnectError.from(unknown).code).toBe(Code.InvalidArgument);

    // when: the tenant moves to TEAM, then gets a retention override
    const { customer } = await admin.billing.createCustomer({ tenantId, email: "c@example.com" });
    await admin.billing.createSubscription({
      customerId: customer?.id ?? "",
      priceId: "price_team_monthly",
    });

    // then: the cached client sees each change within 2 s, without being asked to refresh
    await expect
      .poll(async () => (await sso(tenantId)).enabled, { timeout: 2_000, interval: 20 })
      .toBe(true);
    await admin.entitlements.setFeatureOverride({
      tenantId,
      feature: "retention_days",
      value: "400",
    });
    await expect
      .poll(async () => (await client.checkFeature(tenantId, "retention_days")).value, {
        timeout: 2_000,
        interval: 20,
      })
      .toBe("400");

    // when: the server stops
    const port = server.port;
    await server.stop();

    // then: the last known values answer as stale, then the fallback answers
    await expect.poll(async () => (await sso(tenantId)).source, { timeout: 2_000 }).toBe("stale");
    expect(await sso(tenantId)).toMatchObject({ enabled: true, value: true });
    await expect
      .poll(async () => (await sso(tenantId)).source, { timeout: 5_000, interval: 200 })
      .toBe("fallback");
    expect(await sso(tenantId)).toMatchObject({ enabled: false, value: false });
    const noFallback = await client
      .checkFeature(tenantId, "retention_days")
      .catch((e: unknown) => e);
    expect(ConnectError.from(noFallback).code).toBe(Code.Unavailable);
    expect(await sso(randomUUID())).toMatchObject({ source: "fallback", value: false });

    // when: the server comes back on the same port
    server = await startServerProcess({ DATABASE_URL: db.url, PORT: String(port) });

    // then: the cache is fresh again, with what the database holds
    await expect
      .poll(async () => (await sso(tenantId)).source, { timeout: 10_000, interval: 100 })
      .toBe("cache");
    expect(await client.checkFeature(tenantId, "retention_days")).toMatchObject({
      value: "400",
      source: "cache",
    });
  }, 60_000);
});
