import { randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { Client, Transport } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import type { Browser, ConsoleMessage, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BillingService } from "../gen/tollgate/v1/billing_service_pb.js";
import type { EntitlementService } from "../gen/tollgate/v1/entitlement_service_pb.js";
import type { UsageService } from "../gen/tollgate/v1/usage_service_pb.js";
import { startTestApp, type TestApp } from "./support/app.js";
import {
  hasChromium,
  launchChromium,
  measureWidth,
  screenshot,
  warnWithoutChromium,
} from "./support/browser.js";
import { createKeyWithCli } from "./support/cli.js";
import { grpcTransport, tollgateClients } from "./support/clients.js";
import { createTestDatabase, type TestDatabase } from "./support/database.js";
import { startWebhookReceiver, type WebhookReceiver } from "./support/webhook-receiver.js";

const ADMIN_KEY = "tg_console1_ConsoleAdminSecretConsoleAdmin42";
const EXAMPLE_CATALOG = fileURLToPath(
  new URL("../examples/catalogs/llm-platform.json", import.meta.url),
);
const WIDE = { width: 1280, height: 900 };
const NARROW = { width: 390, height: 844 };

warnWithoutChromium();

/**
 * The operator console in Debian's Chromium against the real server: every number on the
 * page comes from the public API, and every action goes through it.
 */
describe.skipIf(!hasChromium)("operator console in Chromium", () => {
  let db: TestDatabase;
  let server: TestApp;
  let browser: Browser;
  let page: Page;
  let receiver: WebhookReceiver;
  let receiverHealthy = false;
  let tenantKey: string;
  const policyViolations: string[] = [];
  const tenantId = randomUUID();
  let billing: Client<typeof BillingService>;
  let entitlements: Client<typeof EntitlementService>;
  let usage: Client<typeof UsageService>;

  const adminTransport = (baseUrl: string): Transport =>
    createGrpcTransport({
      baseUrl,
      interceptors: [
        (next) => (req) => {
          req.header.set("authorization", `Bearer ${ADMIN_KEY}`);
          return next(req);
        },
      ],
    });

  beforeAll(async () => {
    db = await createTestDatabase();
    receiver = await startWebhookReceiver(() => ({ status: receiverHealthy ? 200 : 500 }));
    server = await startTestApp(
      db.url,
      {},
      {
        TOLLGATE_BOOTSTRAP_ADMIN_KEY: ADMIN_KEY,
        BILLING_RATE_LIMIT_BURST: "100000",
        WEBHOOK_ALLOW_PRIVATE_NETWORKS: "true",
        // One attempt, so a delivery to the failing receiver fails at once.
        WEBHOOK_RETRY_SCHEDULE: "0",
        WEBHOOK_TIMEOUT_SECONDS: "2",
      },
    );
    tenantKey = await createKeyWithCli(db.url, tenantId);
    const transport = adminTransport(server.baseUrl);
    ({ billing, entitlements, usage } = tollgateClients(transport));
    await tollgateClients(transport).events.createWebhookEndpoint({
      url: receiver.url,
      description: "support desk",
    });
    // given a customer on Pro
    const { customer } = await billing.createCustomer({
      tenantId,
      email: "ops@acme.example",
      name: "Acme Robotics",
    });
    await billing.createSubscription({ customerId: customer!.id, priceId: "price_pro_monthly" });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: WIDE });
    page.on("console", (message: ConsoleMessage) => {
      if (message.text().includes("Content Security Policy")) policyViolations.push(message.text());
    });
    page.on("pageerror", (error) => policyViolations.push(`page error: ${error.message}`));
  });

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    await receiver?.close();
    await db?.drop();
  });

  const row = (resource: string) => page.locator(`[data-resource="${resource}"]`);
  const dialog = () => page.getByRole("dialog");

  it("should refuse a tenant key and show no admin data", async () => {
    // when a tenant's key is pasted into the sign-in form
    await page.goto(`${server.baseUrl}/console`);
    await page.getByLabel("Admin API key").fill(tenantKey);
    await page.getByRole("button", { name: "Sign in" }).click();
    // then the console says why, stays on the sign-in form, and keeps no key
    await expect.poll(() => page.getByRole("alert").textContent()).toContain("tenant key");
    expect(await page.getByRole("navigation").count()).toBe(0);
    expect(await page.evaluate("sessionStorage.getItem('tollgate.apiKey')")).toBeNull();
    await screenshot(page, "sign-in-refused");
  });

  it("should sign in with an admin key and show the overview", async () => {
    await page.getByLabel("Admin API key").fill(ADMIN_KEY);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { name: "Overview" }).waitFor();
    // then customers are counted by plan, from CountCustomers
    const counts = page.locator("#customer-counts");
    await expect.poll(() => counts.textContent()).toContain("pro");
    expect(await counts.locator("tfoot").textContent()).toContain("1");
    // and the key lives in this tab's sessionStorage, with no cookie set
    expect(await page.evaluate("sessionStorage.getItem('tollgate.apiKey')")).toBe(ADMIN_KEY);
    expect(await page.context().cookies()).toEqual([]);
    // and no banner claims open mode
    expect(await page.getByText("Open mode").count()).toBe(0);
  });

  it("should find the customer by email and open the tenant", async () => {
    await page
      .getByLabel("Find a customer by tenant id, customer id or email")
      .fill("ACME.example");
    await page.getByRole("button", { name: "Find" }).click();
    const link = page.getByRole("link", { name: "Acme Robotics" });
    await link.click();
    await page.getByRole("heading", { name: /Acme Robotics/ }).waitFor();
    expect(page.url()).toContain(`#/tenants/${tenantId}`);
    expect(await page.locator('[data-field="plan"]').textContent()).toContain("pro");
  });

  it("should move the bars after CheckAndRecord calls, without a reload", async () => {
    await expect.poll(() => row("executions").locator(".used").textContent()).toBe("0");
    // when the tenant makes seven admitted calls of one execution
    for (let i = 0; i < 7; i++) {
      const answer = await entitlements.checkAndRecord({ tenantId, resourceType: "executions" });
      expect(answer.allowed).toBe(true);
    }
    // then the page shows them on its next refresh, in text and in the bar's label
    await expect
      .poll(() => row("executions").locator(".used").textContent(), { timeout: 12_000 })
      .toBe("7");
    expect(await row("executions").getByRole("img").getAttribute("aria-label")).toContain("7 used");
    await screenshot(page, "tenant");
  });

  it("should chart ingested usage daily over 30 days and hourly over 48 hours", async () => {
    // given only admitted calls so far: the chart says why it has nothing to draw
    const chart = page.locator("#usage-chart");
    await expect
      .poll(() => chart.locator(".empty-chart").textContent())
      .toContain("calls admitted by CheckAndRecord");
    expect(await chart.locator("canvas").count()).toBe(0);
    // given api_calls ingested two days ago, an hour ago and now
    const hoursAgo = (hours: number) => timestampFromDate(new Date(Date.now() - hours * 3_600_000));
    const { acceptedCount } = await usage.trackUsage({
      events: [
        {
          eventId: "c1",
          tenantId,
          resourceType: "api_calls",
          quantity: "5",
          occurTime: hoursAgo(49),
        },
        {
          eventId: "c2",
          tenantId,
          resourceType: "api_calls",
          quantity: "2",
          occurTime: hoursAgo(1),
        },
        {
          eventId: "c3",
          tenantId,
          resourceType: "api_calls",
          quantity: "1",
          occurTime: hoursAgo(0),
        },
      ],
    });
    expect(acceptedCount).toBe(3n);
    // when the page next loads, the chart opens on the resource that has events
    await page.reload();
    const total = () => chart.locator("[data-chart-total]").getAttribute("data-chart-total");
    await expect.poll(total).toBe("8");
    expect(await chart.getByLabel("Resource").inputValue()).toBe("api_calls");
    expect(await chart.getByLabel("Resource").locator("option:checked").textContent()).toBe(
      "api_calls (8)",
    );
    // then the daily chart covers all three and the hourly one the last two
    await chart.getByLabel("48 hours, hourly").check();
    await expect.poll(total).toBe("3");
    await expect.poll(() => chart.locator("canvas").count()).toBe(1);
    await chart.getByText("Show the figures as a table").click();
    expect(await chart.locator("details tbody tr").count()).toBe(2);
  });

  it("should break a resource's usage down by a dimension as stacked bars", async () => {
    // given tokens ingested for two models, and one event without a model
    const { acceptedCount } = await usage.trackUsage({
      events: [
        ["m1", "gpt-4o", "300"],
        ["m2", "gpt-4o-mini", "200"],
        ["m3", "gpt-4o", "100"],
        ["m4", "", "50"],
      ].map(([eventId, model, quantity]) => ({
        eventId: eventId as string,
        tenantId,
        resourceType: "tokens",
        quantity: quantity as string,
        attributes: (model ? { model } : {}) as Record<string, string>,
      })),
    });
    expect(acceptedCount).toBe(4n);
    const chart = page.locator("#usage-chart");
    await page.reload();
    await chart.getByLabel("Resource").selectOption("tokens");
    await chart.getByLabel("30 days, daily").check();

    // when the operator breaks tokens down by model
    await chart.getByLabel("Break down by").fill("model");
    await chart.getByLabel("Break down by").press("Enter");

    // then each model is a layer of its own, with the server's totals per group
    const groups = () => chart.locator(".group-totals li").allTextContents();
    await chart.getByText("Show the figures as a table").click();
    await expect
      .poll(groups)
      .toEqual([
        "(none): 50 over the range",
        "gpt-4o: 400 over the range",
        "gpt-4o-mini: 200 over the range",
      ]);
    expect(await chart.locator(".u-legend .u-label").allTextContents()).toEqual([
      "UTC",
      "gpt-4o-mini",
      "gpt-4o",
      "(none)",
    ]);
    expect(await chart.locator("details tbody tr").count()).toBe(3);
  });

  it("should grant credits once on a double click and show the raised limit", async () => {
    expect(await row("executions").locator(".limit").textContent()).toBe("limit 35,000");
    await page.getByRole("button", { name: "Grant credits" }).click();
    await dialog().getByLabel("Resource").selectOption("executions");
    await dialog().getByLabel("Quantity").fill("500");
    await dialog()
      .getByLabel(/Reason/)
      .fill("outage goodwill");
    // when the operator double-clicks Grant
    await dialog().getByRole("button", { name: "Grant" }).dblclick();
    // then the limit includes the grant, and exactly one grant exists
    await expect.poll(() => row("executions").locator(".limit").textContent()).toBe("limit 35,500");
    const { grants } = await entitlements.listGrants({ tenantId });
    expect(grants.map((g) => [g.quantity, g.reason])).toEqual([["500", "outage goodwill"]]);
    await expect.poll(() => page.locator("#grants").textContent()).toContain("outage goodwill");
    await expect
      .poll(() => page.locator('#audit [data-audit-action="grant.create"]').count())
      .toBe(1);
  });

  it("should set an override and remove it", async () => {
    await page.getByRole("button", { name: "Set override" }).click();
    await dialog().getByLabel("Resource").selectOption("agents");
    await dialog().getByLabel("Limit", { exact: true }).fill("40");
    await dialog().getByRole("button", { name: "Confirm" }).click();
    await expect.poll(() => row("agents").locator(".limit").textContent()).toBe("limit 40");
    expect(await row("agents").textContent()).toContain("override");
    // when the override is removed, the plan's limit is back
    await page.locator('[data-override="agents"]').getByRole("button", { name: "Remove" }).click();
    await dialog().getByRole("button", { name: "Confirm" }).click();
    await expect.poll(() => row("agents").textContent()).toContain("plan pro");
    expect(await entitlements.listEntitlementOverrides({ tenantId })).toMatchObject({
      overrides: [],
    });
  });

  it("should show features with their source and set a feature override", async () => {
    // given: the tenant is on PRO, whose retention is the plan's and SSO the default
    const feature = (name: string) => page.locator(`[data-feature="${name}"]`);
    await expect.poll(() => feature("retention_days").textContent()).toContain("30plan");
    expect(await feature("sso").textContent()).toContain("offdefault");

    // when: an admin turns SSO on for this tenant
    await page.getByRole("button", { name: "Set feature" }).click();
    await dialog().getByLabel("Feature").selectOption("sso");
    await dialog().getByLabel("Value").fill("true");
    await dialog().getByRole("button", { name: "Confirm" }).click();

    // then: the page shows it from the override, and the server has it
    await expect.poll(() => feature("sso").textContent()).toContain("onoverride");
    const { enabled } = await entitlements.checkFeature({ tenantId, feature: "sso" });
    expect(enabled).toBe(true);
  });

  it("should change the plan and cancel at period end", async () => {
    await page.getByRole("button", { name: "Change plan" }).click();
    await dialog().getByLabel("New plan").selectOption("price_team_monthly");
    await dialog().getByRole("button", { name: "Confirm" }).click();
    await expect.poll(() => page.locator('[data-field="plan"]').textContent()).toContain("team");
    await expect.poll(() => page.locator("#usage h2").textContent()).toContain("plan team");
    await page.getByRole("button", { name: "Cancel subscription" }).click();
    await dialog()
      .getByLabel(/At the end of the current period/)
      .check();
    await dialog().getByRole("button", { name: "Confirm" }).click();
    await expect
      .poll(() => page.locator('[data-field="cancel-at-period-end"]').textContent())
      .toBe("yes");
    // and the events the changes caused are listed on the page
    await page.getByRole("button", { name: "Refresh" }).click();
    await expect
      .poll(() => page.locator('#events [data-event-type="subscription.updated"]').count())
      .toBeGreaterThan(0);
  });

  it("should colour overage, label the included quantity and write money as 9.00 USD", async () => {
    // given TEAM's 100,000 included executions used, and 1,200 more (the 500 granted first)
    await entitlements.recordUsage({ tenantId, resourceType: "executions", quantity: "101693" });
    // then the bar draws overage in its own colour, past the labelled included mark
    const executions = row("executions");
    await expect
      .poll(() => executions.locator(".bar-overage").count(), { timeout: 12_000 })
      .toBe(1);
    expect(await executions.locator(".bar-included-label").textContent()).toBe("included 100,000");
    // and money reads the same in the bar and on the invoice: two decimals and the code
    expect(await executions.locator(".overage").textContent()).toBe(
      "Overage 1,200 × 0.0025 USD = 3.00 USD",
    );
    await page.reload();
    await expect
      .poll(() => page.locator("#invoice tfoot").textContent(), { timeout: 12_000 })
      .toMatch(/Total\s*202\.00 USD/);
    expect(await page.locator("#invoice tbody").textContent()).toContain("199.00 USD");
  });

  it("should show a canceled customer on FREE on the overview and the customers page alike", async () => {
    // given a second customer whose TEAM subscription was canceled at once
    const { customer } = await billing.createCustomer({
      tenantId: randomUUID(),
      email: "gone@former.example",
      name: "Former Co",
    });
    const { subscription } = await billing.createSubscription({
      customerId: customer!.id,
      priceId: "price_team_monthly",
    });
    await billing.cancelSubscription({ subscriptionId: subscription!.id, immediate: true });
    // then the overview counts it on free, canceled
    await page.goto(`${server.baseUrl}/console#/`);
    const counts = page.locator("#customer-counts tbody");
    await expect.poll(() => counts.textContent()).toContain("freecanceled1");
    // and the customers page says the same plan, naming the one that ended
    await page.goto(`${server.baseUrl}/console#/customers?q=former.example`);
    await page.getByRole("link", { name: "Former Co" }).waitFor();
    expect(await page.locator('#customers [data-field="plan"]').textContent()).toBe(
      "free (team canceled)",
    );
  });

  it("should show failed webhook deliveries and retry one", async () => {
    await page.getByRole("link", { name: "Webhooks" }).click();
    await page.getByRole("heading", { name: "Webhooks" }).waitFor();
    // given the receiver failed every delivery so far
    const failed = page.locator('[data-state="failed"]');
    await expect
      .poll(
        async () => {
          await page.locator("#deliveries").getByRole("button", { name: "Refresh" }).click();
          return failed.count();
        },
        { timeout: 15_000 },
      )
      .toBeGreaterThan(0);
    const id = await failed.first().getAttribute("data-delivery");
    await screenshot(page, "webhooks");
    // when the receiver recovers and the operator retries that delivery
    receiverHealthy = true;
    await failed.first().getByRole("button", { name: "Retry now" }).click();
    await dialog().getByRole("button", { name: "Confirm" }).click();
    // then it is delivered, with both attempts listed
    const delivery = page.locator(`[data-delivery="${id}"]`);
    await expect
      .poll(
        async () => {
          await page.locator("#deliveries").getByRole("button", { name: "Refresh" }).click();
          return delivery.getAttribute("data-state");
        },
        { timeout: 15_000 },
      )
      .toBe("delivered");
    expect(await delivery.textContent()).toContain("2 attempts");
  });

  it("should read at 390 px and 1280 px without sideways scrolling", async () => {
    const pages = {
      overview: "#/",
      customers: "#/customers",
      tenant: `#/tenants/${tenantId}`,
      webhooks: "#/webhooks",
    };
    for (const [viewport, size] of Object.entries({ wide: WIDE, narrow: NARROW })) {
      await page.setViewportSize(size);
      for (const [name, hash] of Object.entries(pages)) {
        await page.goto(`${server.baseUrl}/console${hash}`);
        await page.locator("main h1").waitFor();
        await page.waitForLoadState("networkidle");
        const { width, wide } = await measureWidth(page, size.width);
        expect(width, `${name} at ${viewport}: ${wide.join(" | ")}`).toBeLessThanOrEqual(
          size.width,
        );
        await screenshot(page, `${name}-${viewport}`);
      }
    }
    await page.setViewportSize(WIDE);
  });

  it("should be usable from the keyboard", async () => {
    await page.goto(`${server.baseUrl}/console#/`);
    await page.reload();
    await page.locator("main h1").waitFor();
    // the first Tab reaches the skip link, which moves focus to the content
    await page.keyboard.press("Tab");
    expect(await page.evaluate("document.activeElement?.textContent")).toBe("Skip to content");
    await page.keyboard.press("Enter");
    expect(await page.evaluate("document.activeElement?.id")).toBe("main");
  });

  it("should run without a single Content-Security-Policy violation", () => {
    expect(policyViolations).toEqual([]);
  });

  describe("in open mode, on the example catalog with meters", () => {
    let openDb: TestDatabase;
    let openServer: TestApp;

    beforeAll(async () => {
      openDb = await createTestDatabase();
      openServer = await startTestApp(openDb.url, {}, { PLAN_CATALOG_PATH: EXAMPLE_CATALOG });
    });

    afterAll(async () => {
      await openServer?.stop();
      await openDb?.drop();
    });

    it("should need no key and say the server is open", async () => {
      const openPage = await browser.newPage({ viewport: WIDE });
      await openPage.goto(`${openServer.baseUrl}/console`);
      const banner = openPage.getByRole("status");
      await expect.poll(() => banner.textContent()).toContain("Open mode");
      await openPage.getByRole("heading", { name: "Overview" }).waitFor();
      expect(await openPage.getByLabel("Admin API key").count()).toBe(0);
      await screenshot(openPage, "overview-open-mode");
      await openPage.close();
    });

    it("should show a dimension limit's own bar beside its resource's total", async () => {
      // given a tenant that used 600 of its 1,000 gpt-4 tokens and 100 active users' worth
      const open = tollgateClients(createGrpcTransport({ baseUrl: openServer.baseUrl }));
      const tenant = randomUUID();
      await open.entitlements.recordUsage({
        tenantId: tenant,
        resourceType: "tokens",
        quantity: "600",
        dimensions: { model: "gpt-4" },
      });
      await open.entitlements.checkAndRecord({
        tenantId: tenant,
        resourceType: "active_users",
        dimensions: { user_id: "ann" },
      });

      // when its page opens
      const openPage = await browser.newPage({ viewport: WIDE });
      await openPage.goto(`${openServer.baseUrl}/console#/tenants/${tenant}`);

      // then the total and gpt-4 have bars of their own, and a distinct count says so
      const gpt4 = openPage.locator('[data-resource="tokens"][data-dimensions="model=gpt-4"]');
      await expect.poll(() => gpt4.locator(".used").textContent()).toBe("600");
      expect(await gpt4.locator(".resource").textContent()).toBe("tokens · model=gpt-4");
      expect(await gpt4.locator(".limit").textContent()).toBe("limit 1,000");
      const total = openPage.locator('[data-resource="tokens"]:not([data-dimensions])');
      expect(await total.locator(".limit").textContent()).toBe("limit 100,000");
      expect(await openPage.locator('[data-resource="active_users"] .resource').textContent()).toBe(
        "active_users (distinct members)",
      );
      await screenshot(openPage, "tenant-dimensions");
      await openPage.close();
    });

    it("should explore a tenant's events by dimension and void one, which corrects its usage", async () => {
      // given three tokens events: two on gpt-4 (400 and 200), one on gpt-4o-mini
      const open = tollgateClients(createGrpcTransport({ baseUrl: openServer.baseUrl }));
      const tenant = randomUUID();
      const at = timestampFromDate(new Date(Date.now() - 60_000));
      const event = (eventId: string, quantity: string, model: string) => ({
        eventId,
        tenantId: tenant,
        resourceType: "tokens",
        quantity,
        occurTime: at,
        attributes: { model },
      });
      await open.usage.trackUsage({
        events: [
          event("ev-a", "400", "gpt-4"),
          event("ev-b", "200", "gpt-4"),
          event("ev-c", "50", "gpt-4o-mini"),
        ],
      });
      const openPage = await browser.newPage({ viewport: WIDE });
      await openPage.goto(`${openServer.baseUrl}/console#/tenants/${tenant}`);
      const events = openPage.locator("#usage-events");
      const gpt4 = openPage.locator('[data-resource="tokens"][data-dimensions="model=gpt-4"]');
      await expect.poll(() => gpt4.locator(".used").textContent()).toBe("600");

      // when the operator filters by model=gpt-4, selects ev-a and voids it with a reason
      await events.getByPlaceholder("model=gpt-4").fill("model=gpt-4");
      await expect.poll(() => events.locator("tbody tr").count()).toBe(2);
      await events.getByLabel("Select ev-a").check();
      await openPage.getByRole("button", { name: "Void selected (1)" }).click();
      await openPage
        .getByRole("dialog")
        .getByLabel(/Reason/)
        .fill("job failed downstream");
      await openPage.getByRole("dialog").getByRole("button", { name: "Void" }).dblclick();

      // then only ev-b is listed, the gpt-4 bar drops to 200, and with voided events shown
      // ev-a says who voided it and why
      await expect.poll(() => events.locator("tbody tr").count()).toBe(1);
      await expect.poll(() => gpt4.locator(".used").textContent()).toBe("200");
      await events.getByLabel("Show voided").check();
      const voided = events.locator('[data-event="ev-a"]');
      await expect.poll(() => voided.getAttribute("data-voided")).toBe("true");
      expect(await voided.textContent()).toContain("job failed downstream");
      expect(await events.locator('[data-voided="true"]').count()).toBe(1);
      const listed = await open.usage.listUsageEvents({ tenantId: tenant, includeVoided: true });
      // and the correction is in the tenant's events, and the chart shows the corrected total
      await expect
        .poll(() => openPage.locator('#events [data-event-type="usage.corrected"]').textContent())
        .toContain("Voided 1 usage item(s) by open: job failed downstream.");
      await expect.poll(() => openPage.locator("#usage-chart").textContent()).toContain("250");
      expect(listed.events.filter((e) => e.voided).map((e) => e.event?.eventId)).toEqual(["ev-a"]);
      await screenshot(openPage, "tenant-events");
      await openPage.close();
    });

    it("should show the test clock and move it forward by the days asked for, once", async () => {
      // given the overview of a server outside production (last: time moves for this server)
      const openPage = await browser.newPage({ viewport: WIDE });
      const open = tollgateClients(grpcTransport(openServer.baseUrl));
      const clockNow = async () =>
        timestampDate((await open.billing.getTestClock({})).time ?? expect.fail()).getTime();
      const before = await clockNow();
      await openPage.goto(`${openServer.baseUrl}/console`);
      const shown = openPage.locator('[data-stat="test-clock"]');
      await expect.poll(() => shown.textContent()).toContain("UTC");
      const shownBefore = await shown.textContent();

      // when the operator advances it 45 days, double-clicking
      await openPage.locator("#test-clock").getByRole("button", { name: "Advance" }).click();
      await openPage.getByRole("dialog").getByLabel("Days forward").fill("45");
      await openPage.getByRole("dialog").getByRole("button", { name: "Advance" }).dblclick();

      // then business time moved 45 days (once), and the console shows it
      await expect.poll(() => shown.textContent()).not.toBe(shownBefore);
      const moved = (await clockNow()) - before;
      expect(moved).toBeGreaterThan(45 * 86_400_000 - 60_000);
      expect(moved).toBeLessThan(46 * 86_400_000);
      await openPage.close();
    });
  });
});
