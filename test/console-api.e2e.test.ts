import { randomUUID } from "node:crypto";
import { get, type IncomingMessage } from "node:http";
import { gunzipSync } from "node:zlib";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, type createClient } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BillingService, SubscriptionState } from "../gen/tollgate/v1/billing_service_pb.js";
import type { EntitlementService } from "../gen/tollgate/v1/entitlement_service_pb.js";
import type { UsageService } from "../gen/tollgate/v1/usage_service_pb.js";
import { startTestApp, type TestApp } from "./support/app.js";
import { errorOf, grpcTransport, tollgateClients } from "./support/clients.js";
import { createTestDatabase, type TestDatabase } from "./support/database.js";

/** The admin RPCs the console needs, and how the server hands out the console itself. */
describe("console API and assets", () => {
  let db: TestDatabase;
  let server: TestApp;
  let billing: ReturnType<typeof createClient<typeof BillingService>>;
  let entitlements: ReturnType<typeof createClient<typeof EntitlementService>>;
  let usage: ReturnType<typeof createClient<typeof UsageService>>;
  const tenants = {
    pro: randomUUID(),
    team: randomUUID(),
    canceled: randomUUID(),
    never: randomUUID(),
  };
  const customerIds: Record<string, string> = {};

  beforeAll(async () => {
    db = await createTestDatabase();
    server = await startTestApp(db.url, {}, { BILLING_RATE_LIMIT_BURST: "100000" });
    const transport = grpcTransport(server.baseUrl);
    ({ billing, entitlements, usage } = tollgateClients(transport));
    // given four customers: on pro, trialing team, canceled, and never subscribed
    for (const [name, tenantId] of Object.entries(tenants)) {
      const { customer } = await billing.createCustomer({
        tenantId,
        email: `${name}_ops@Example.com`,
        name: `${name} 100% Ltd`,
      });
      customerIds[name] = customer!.id;
    }
    await billing.createSubscription({
      customerId: customerIds.pro!,
      priceId: "price_pro_monthly",
    });
    await billing.createSubscription({
      customerId: customerIds.team!,
      priceId: "price_team_monthly",
      trialDays: 14,
    });
    const { subscription } = await billing.createSubscription({
      customerId: customerIds.canceled!,
      priceId: "price_pro_monthly",
    });
    await billing.cancelSubscription({ subscriptionId: subscription!.id, immediate: true });
  });

  afterAll(async () => {
    await server?.stop();
    await db?.drop();
  });

  const invalid = async (call: Promise<unknown>) => {
    const error = await errorOf(call);
    expect(error?.code).toBe(Code.InvalidArgument);
    return error!.rawMessage;
  };

  it("should find customers by tenant id prefix, customer id, and email or name in any case", async () => {
    // when searching each way
    const byTenant = await billing.listCustomers({ query: tenants.pro.slice(0, 8).toUpperCase() });
    const byCustomer = await billing.listCustomers({ query: ` ${customerIds.team} ` });
    const byEmail = await billing.listCustomers({ query: "CANCELED_OPS@example" });
    const byName = await billing.listCustomers({ query: "never 100%" });
    // then each finds its customer, with its latest subscription alongside
    expect(byTenant.customers.map((c) => c.tenantId)).toEqual([tenants.pro]);
    expect(byTenant.subscriptions.map((s) => s.planId)).toEqual(["pro"]);
    expect(byCustomer.customers.map((c) => c.id)).toEqual([customerIds.team]);
    expect(byCustomer.subscriptions[0]?.state).toBe(SubscriptionState.TRIALING);
    expect(byEmail.customers.map((c) => c.tenantId)).toEqual([tenants.canceled]);
    expect(byEmail.subscriptions[0]?.state).toBe(SubscriptionState.CANCELED);
    expect(byName.customers.map((c) => c.tenantId)).toEqual([tenants.never]);
    expect(byName.subscriptions).toEqual([]);
  });

  it("should treat LIKE wildcards in a query as plain characters", async () => {
    // "%" and "_" would match everything if passed through; "_ops" matches all four literally
    expect((await billing.listCustomers({ query: "%" })).customers).toHaveLength(4);
    expect((await billing.listCustomers({ query: "x%y" })).customers).toEqual([]);
    expect((await billing.listCustomers({ query: "_" })).customers).toHaveLength(4);
    expect((await billing.listCustomers({ query: "a_b" })).customers).toEqual([]);
  });

  it("should page newest first without repeats and bind tokens to their query", async () => {
    // when listing every customer two at a time
    const first = await billing.listCustomers({ pageSize: 2 });
    const second = await billing.listCustomers({ pageSize: 2, pageToken: first.nextPageToken });
    // then the pages hold all four, newest first, and the last page says so
    const ids = [...first.customers, ...second.customers].map((c) => c.tenantId);
    expect(ids).toEqual([tenants.never, tenants.canceled, tenants.team, tenants.pro]);
    expect(second.nextPageToken).toBe("");
    // and a token cannot be replayed against another query
    const message = await invalid(
      billing.listCustomers({ query: "pro", pageToken: first.nextPageToken }),
    );
    expect(message).toContain("page_token");
  });

  it("should report every bad field of a search at once and change nothing", async () => {
    const message = await invalid(
      billing.listCustomers({ query: `a\u0000${"b".repeat(300)}`, pageSize: 101, pageToken: "x" }),
    );
    expect(message).toContain("query");
    expect(message).toContain("page_size");
  });

  it("should count customers by current plan and latest subscription state", async () => {
    const { counts, customerCount } = await billing.countCustomers({});
    // then canceled and never-subscribed customers are on free
    const rows = counts.map((c) => [c.planId, SubscriptionState[c.state], Number(c.customerCount)]);
    expect(rows).toEqual([
      ["free", "CANCELED", 1],
      ["free", "UNSPECIFIED", 1],
      ["pro", "ACTIVE", 1],
      ["team", "TRIALING", 1],
    ]);
    expect(customerCount).toBe(4n);
  });

  it("should list a tenant's overrides, expired ones only when asked", async () => {
    // given an override in force and one already expired
    const tenantId = tenants.pro;
    await entitlements.setEntitlementOverride({
      tenantId,
      resourceType: "tokens",
      unlimited: true,
    });
    await entitlements.setEntitlementOverride({
      tenantId,
      resourceType: "executions",
      limit: "5000",
      expireTime: timestampFromDate(new Date(Date.now() + 2_000)),
    });
    // when listing now and after the expiry
    const now = await entitlements.listEntitlementOverrides({ tenantId });
    expect(now.overrides.map((o) => [o.resourceType, o.limit, o.unlimited])).toEqual([
      ["executions", "5000", false],
      ["tokens", "", true],
    ]);
    await new Promise((resolve) => setTimeout(resolve, 2_100));
    const later = await entitlements.listEntitlementOverrides({ tenantId });
    const all = await entitlements.listEntitlementOverrides({ tenantId, includeExpired: true });
    // then the expired override is listed only with include_expired
    expect(later.overrides.map((o) => o.resourceType)).toEqual(["tokens"]);
    expect(all.overrides.map((o) => o.resourceType)).toEqual(["executions", "tokens"]);
    expect(await invalid(entitlements.listEntitlementOverrides({ tenantId: "nope" }))).toContain(
      "tenant_id",
    );
  });

  it("should report the recent ingest rate", async () => {
    // given 30 events tracked just now
    await usage.trackUsage({
      events: Array.from({ length: 30 }, (_, i) => ({
        eventId: `rate-${i}`,
        tenantId: tenants.never,
        resourceType: "api_calls",
        quantity: "1",
      })),
    });
    // then the rate over the last minute counts them (the server started moments ago, so the
    // window is at most its age)
    const stats = await usage.getIngestStats({});
    expect(stats.recentEventsPerSecond).toBeGreaterThan(0);
    expect(stats.recentEventsPerSecond).toBeLessThanOrEqual(30);
  });

  describe("GET /console", () => {
    it("should serve the page with a strict policy, revalidated by ETag", async () => {
      const page = await fetch(`${server.baseUrl}/console`);
      const html = await page.text();
      expect(page.status).toBe(200);
      expect(page.headers.get("content-type")).toContain("text/html");
      const policy = page.headers.get("content-security-policy") ?? "";
      expect(policy).toContain("default-src 'self'");
      expect(policy).toContain("script-src 'self'");
      expect(policy).not.toContain("unsafe-inline");
      expect(page.headers.get("cache-control")).toBe("no-cache");
      // no inline script: every script is a file of the build
      expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
      const again = await fetch(`${server.baseUrl}/console/`, {
        headers: { "if-none-match": page.headers.get("etag") ?? "" },
      });
      expect(again.status).toBe(304);
    });

    it("should serve hashed assets compressed and cached for a year", async () => {
      const html = await (await fetch(`${server.baseUrl}/console`)).text();
      const script = /src="(\/console\/assets\/[^"]+\.js)"/.exec(html)?.[1];
      expect(script).toMatch(/-[\w-]{8}\.js$/);
      // node:http, which hands over the body as sent (fetch would decompress it)
      const response = await new Promise<IncomingMessage>((resolve, reject) =>
        get(`${server.baseUrl}${script}`, { headers: { "accept-encoding": "gzip" } }, resolve).on(
          "error",
          reject,
        ),
      );
      const chunks: Buffer[] = [];
      for await (const chunk of response) chunks.push(chunk as Buffer);
      expect(response.statusCode).toBe(200);
      expect(response.headers["cache-control"]).toBe("public, max-age=31536000, immutable");
      expect(response.headers["content-encoding"]).toBe("gzip");
      const body = gunzipSync(Buffer.concat(chunks)).toString();
      expect(body).toContain("Skip to content");
    });

    it("should answer 404 for unknown assets, 405 for writes, and lead / to the console", async () => {
      expect((await fetch(`${server.baseUrl}/console/assets/missing-abc.js`)).status).toBe(404);
      expect((await fetch(`${server.baseUrl}/console`, { method: "POST" })).status).toBe(405);
      const root = await fetch(`${server.baseUrl}/`, { redirect: "manual" });
      expect(root.status).toBe(302);
      expect(root.headers.get("location")).toBe("/console");
    });
  });
});
