import { randomBytes, randomUUID } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import Stripe from "stripe";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InvoiceLineKind } from "../gen/tollgate/v1/billing_service_pb.js";
import { PricingModel } from "../gen/tollgate/v1/resource_pb.js";
import { stripePricingOf } from "../src/billing/stripe-prices.js";
import { createPlanCatalog } from "../src/catalog/catalog.js";
import { queryRows } from "./support/app.js";
import { grpcTransport, tollgateClients } from "./support/clients.js";
import { createTestDatabase, type TestDatabase } from "./support/database.js";
import { type FakeMeteredPrice, type FakeStripe, startFakeStripe } from "./support/fake-stripe.js";
import { type ServerProcess, startReplicas } from "./support/server-process.js";
import { storedStripePrice } from "./support/stripe-pricing.js";
import { waitFor } from "./support/wait.js";

const WEBHOOK_SECRET = `whsec_${randomBytes(16).toString("hex")}`;
const RESOURCES = ["tokens", "api_calls", "sms", "exports"];

/**
 * The example tiered catalog with each of Growth's priced limits on a Stripe meter, and the
 * fake Stripe's metered prices made from them as Tollgate maps them (`stripePricingOf`).
 */
function stripeCatalog(): { path: string; metered: Record<string, FakeMeteredPrice> } {
  const source = fileURLToPath(
    new URL("../examples/catalogs/tiered-pricing.json", import.meta.url),
  );
  const raw = JSON.parse(readFileSync(source, "utf8"));
  const growth = raw.plans.find((p: { id: string }) => p.id === "growth");
  for (const resource of RESOURCES) {
    growth.limits[resource].meter_event_name = `tollgate_${resource}`;
    growth.limits[resource].metered_price_id = `price_growth_${resource}`;
  }
  const path = join(tmpdir(), `tollgate-pricing-stripe-${randomUUID()}.json`);
  writeFileSync(path, JSON.stringify(raw));
  const plan = createPlanCatalog(raw, path).planById("growth");
  const metered: Record<string, FakeMeteredPrice> = {};
  for (const resource of RESOURCES) {
    const limit = plan?.limitsByCounter.get(resource);
    if (limit?.overage === undefined || limit.limit === undefined) throw new Error(resource);
    metered[`price_growth_${resource}`] = {
      eventName: `tollgate_${resource}`,
      price: storedStripePrice(stripePricingOf(limit.overage.pricing, limit.limit, "usd")),
    };
  }
  return { path, metered };
}

describe("pricing models at Stripe: meters, negotiated prices and the minimum, exactly once", () => {
  let db: TestDatabase;
  let stripe: FakeStripe;
  let replicas: ServerProcess[];
  const api = () => tollgateClients(grpcTransport(replicas[0]?.baseUrl ?? ""));

  beforeAll(async () => {
    const { path, metered } = stripeCatalog();
    db = await createTestDatabase();
    stripe = await startFakeStripe({ unitAmounts: { price_growth_monthly: 2900 }, metered });
    replicas = await startReplicas(
      {
        DATABASE_URL: db.url,
        PLAN_CATALOG_PATH: path,
        BILLING_PROVIDER: "stripe",
        STRIPE_SECRET_KEY: "sk_test_tollgate",
        STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
        STRIPE_API_URL: stripe.url,
        BILLING_RATE_LIMIT_BURST: "1000",
        METER_SYNC_INTERVAL_SECONDS: "0.2",
        BILLING_SWEEP_INTERVAL_SECONDS: "0.2",
        INVOICE_PREVIEW_CACHE_SECONDS: "0.01",
      },
      2,
    );
  });

  afterAll(async () => {
    await Promise.all((replicas ?? []).map((s) => s.stop()));
    await stripe?.close();
    await db?.drop();
  });

  // A tenant on Growth at Stripe whose usage has reached Stripe's meters.
  const subscribed = async (used: Record<string, string>) => {
    const tenantId = randomUUID();
    const { customer } = await api().billing.createCustomer({ tenantId, email: "s@example.com" });
    const customerId = customer?.id ?? "";
    const { subscription } = await api().billing.createSubscription({
      customerId,
      priceId: "price_growth_monthly",
    });
    for (const [resourceType, quantity] of Object.entries(used)) {
      await api().entitlements.recordUsage({ tenantId, resourceType, quantity });
    }
    await waitFor(
      () =>
        Object.entries(used).every(
          ([r, q]) => stripe.meterTotal(customerId, `tollgate_${r}`) === Number(q),
        ),
      10_000,
    );
    return { tenantId, customerId, subscriptionId: subscription?.id ?? "" };
  };

  const itemPrice = (subscriptionId: string, resource: string) => {
    const subscription = stripe.subscriptions.get(subscriptionId) as { items: { data: unknown[] } };
    const items = subscription.items.data;
    const prices = items.map(
      (i) => (i as { price: { id: string; metadata?: Record<string, string> } }).price,
    );
    return prices.find(
      (p) => p.id === `price_growth_${resource}` || p.metadata?.tollgate_counter === resource,
    )?.id;
  };

  it("should bill each pricing model at Stripe as Tollgate prices it, and show the minimum it will add", async () => {
    // given usage in every model: graduated tokens, volume api_calls, package sms, per-unit exports
    const { tenantId } = await subscribed({
      tokens: "2500000",
      api_calls: "20000",
      sms: "250",
      exports: "130",
    });

    // when the upcoming invoice is previewed (Stripe's create_preview)
    const { invoice } = await api().billing.getUpcomingInvoice({ tenantId });

    // then Stripe's amounts follow each model: 1.5M tokens at 0.000008 = 12.00; 20,000 calls
    // all at the second volume tier, 0.0008, plus its 2.00 flat = 18.00; 250 sms in 3 packages
    // of 1.50 = 4.50; 30 exports beyond the 100 included at 0.25 = 7.50
    expect(
      invoice?.lines.map((l) => [InvoiceLineKind[l.kind], l.resourceType, l.quantity, l.amount]),
    ).toEqual([
      ["PLAN_FEE", "", "1", "29.00"],
      ["USAGE", "tokens", "2500000", "12.00"],
      ["USAGE", "api_calls", "20000", "18.00"],
      ["USAGE", "sms", "250", "4.50"],
      ["USAGE", "exports", "130", "7.50"],
      ["MINIMUM_TRUE_UP", "", "1", "8.00"],
    ]);
    // and the lines carry the model, the headline price and the tier breakdown
    const tokens = invoice?.lines.find((l) => l.resourceType === "tokens");
    expect(tokens?.pricingModel).toBe(PricingModel.GRADUATED);
    expect(tokens?.tiers.map((t) => [t.quantity, t.unitAmount, t.amount])).toEqual([
      ["1000000", "0", "0"],
      ["1500000", "0.000008", "12"],
    ]);
    expect(invoice?.lines.find((l) => l.resourceType === "exports")?.unitAmount).toBe("0.25");
    // and the minimum brings the 42.00 of usage up to 50.00
    expect([invoice?.subtotal, invoice?.total]).toEqual(["79.00", "79.00"]);
  });

  it("should put a negotiated price on the metered item once across replicas, and the plan's back when it is deleted", async () => {
    // given a tenant with 2.5M tokens on Growth
    const { tenantId, subscriptionId } = await subscribed({ tokens: "2500000" });
    const pricesBefore = stripe.requests.filter(
      (r) => r.method === "POST" && r.path === "/v1/prices",
    ).length;

    // when an admin negotiates 0.000002 a token beyond the included million, from now
    const { priceOverride } = await api().billing.setPriceOverride({
      tenantId,
      resourceType: "tokens",
      pricing: { model: PricingModel.PER_UNIT, unitAmount: "0.000002" },
      requestId: randomUUID(),
    });
    const overrideId = priceOverride?.id ?? "";

    // then both replicas' syncs put one new Stripe price on the tokens item, once
    await waitFor(() => itemPrice(subscriptionId, "tokens") !== "price_growth_tokens", 10_000);
    const negotiated = itemPrice(subscriptionId, "tokens") ?? "";
    expect(stripe.price(negotiated)).toMatchObject({
      product: "prod_x",
      metadata: { tollgate_counter: "tokens" },
      recurring: { usage_type: "metered", meter: "mtr_tollgate_tokens" },
      billing_scheme: "tiered",
      tiers_mode: "graduated",
      tiers: [
        { up_to: 1000000, unit_amount_decimal: "0" },
        { up_to: null, unit_amount_decimal: "0.0002" },
      ],
    });
    await waitFor(async () => (await providerPhase(overrideId)) === "applied", 10_000);
    const swaps = () =>
      stripe.requests.filter(
        (r) => r.path === `/v1/subscriptions/${subscriptionId}` && r.method === "POST",
      );
    expect(new Set(swaps().map((r) => r.idempotencyKey))).toEqual(
      new Set([`tg_${overrideId}_apply`]),
    );
    const created = stripe.requests.filter((r) => r.method === "POST" && r.path === "/v1/prices");
    expect(created.length - pricesBefore).toBe(1);
    // and Stripe's preview bills the period at the negotiated price, naming the override
    const { invoice } = await api().billing.getUpcomingInvoice({ tenantId });
    const line = invoice?.lines.find((l) => l.resourceType === "tokens");
    expect([line?.amount, line?.priceOverrideId]).toEqual(["3.00", overrideId]);

    // when the override is deleted
    await api().billing.deletePriceOverride({ tenantId, id: overrideId, requestId: randomUUID() });

    // then the plan's price is back on the item, by one more change
    await waitFor(async () => (await providerPhase(overrideId)) === "restored", 10_000);
    expect(itemPrice(subscriptionId, "tokens")).toBe("price_growth_tokens");
    expect(new Set(swaps().map((r) => r.idempotencyKey))).toEqual(
      new Set([`tg_${overrideId}_apply`, `tg_${overrideId}_restore`]),
    );
    const restored = await api().billing.getUpcomingInvoice({ tenantId });
    const back = restored.invoice?.lines.find((l) => l.resourceType === "tokens");
    expect([back?.amount, back?.priceOverrideId]).toEqual(["12.00", ""]);
  });

  it("should add the minimum's shortfall to the period's draft invoice once, whichever replica gets invoice.created and however often", async () => {
    // given a tenant whose period's usage came to 7.50 against Growth's 50.00 minimum
    const { tenantId, customerId, subscriptionId } = await subscribed({ exports: "130" });
    const { subscription } = await api().billing.getSubscription({ subscriptionId });
    const period = {
      period_start: seconds(subscription?.currentPeriodStartTime),
      period_end: seconds(subscription?.currentPeriodEndTime),
    };
    const invoiceId = `in_${randomBytes(8).toString("hex")}`;
    const draft = (billingReason: string, id = invoiceId) =>
      webhook("invoice.created", {
        id,
        object: "invoice",
        status: "draft",
        customer: customerId,
        currency: "usd",
        billing_reason: billingReason,
        ...period,
        parent: {
          type: "subscription_details",
          subscription_details: { subscription: subscriptionId, metadata: {} },
        },
      });

    // when Stripe delivers the renewal's invoice.created to both replicas at once, then again
    const payload = draft("subscription_cycle");
    const answers = await Promise.all([
      ...(replicas ?? []).map((r) => deliver(r.baseUrl, payload)),
      ...(replicas ?? []).map((r) => deliver(r.baseUrl, payload)),
    ]);
    const again = await deliver(replicas[1]?.baseUrl ?? "", payload);

    // then the invoice got one item of 42.50 (50.00 less 7.50), in cents
    expect([...answers, again].map((a) => a.status)).toEqual([200, 200, 200, 200, 200]);
    const items = stripe.invoiceItems.filter((i) => i.invoice === invoiceId);
    expect(items.map((i) => [i.customer, i.amount, i.currency])).toEqual([
      [customerId, 4250, "usd"],
    ]);
    expect(items[0]?.description).toMatch(/^Minimum usage commitment of 50\.00 usd/);
    const rows = await queryRows(
      db.url,
      "select amount::text, state from minimum_true_ups where tenant_id = $1",
      [tenantId],
    );
    expect(rows).toEqual([{ amount: "42.5", state: "added" }]);

    // and an invoice Stripe made for another reason (an upgrade's proration) gets none
    const other = `in_${randomBytes(8).toString("hex")}`;
    expect(
      (await deliver(replicas[0]?.baseUrl ?? "", draft("subscription_update", other))).status,
    ).toBe(200);
    expect(stripe.invoiceItems.filter((i) => i.invoice === other)).toEqual([]);
  });

  it("should leave the event for Stripe to redeliver when the minimum could not be added, and add it once on the retry", async () => {
    // given a tenant short of the minimum, and Stripe failing the next invoice item
    const { customerId, subscriptionId } = await subscribed({ exports: "101" });
    const { subscription } = await api().billing.getSubscription({ subscriptionId });
    const invoiceId = `in_${randomBytes(8).toString("hex")}`;
    const payload = webhook("invoice.created", {
      id: invoiceId,
      object: "invoice",
      customer: customerId,
      currency: "usd",
      billing_reason: "subscription_cycle",
      period_start: seconds(subscription?.currentPeriodStartTime),
      period_end: seconds(subscription?.currentPeriodEndTime),
      parent: { subscription_details: { subscription: subscriptionId } },
    });
    stripe.fail(
      "/v1/invoiceitems",
      { status: 500, error: { type: "api_error", message: "Stripe is down" } },
      10,
    );

    // when it is delivered while Stripe fails, then again once Stripe is back
    const failed = await deliver(replicas[0]?.baseUrl ?? "", payload);
    stripe.reset();
    const retried = await deliver(replicas[1]?.baseUrl ?? "", payload);

    // then the first answer asks Stripe to retry, and the retry adds 49.75 once
    expect([failed.status, retried.status]).toEqual([500, 200]);
    expect(stripe.invoiceItems.filter((i) => i.invoice === invoiceId).map((i) => i.amount)).toEqual(
      [4975],
    );
  });

  const providerPhase = async (id: string) =>
    (
      await queryRows<{ provider_phase: string }>(
        db.url,
        "select provider_phase from price_overrides where id = $1",
        [id],
      )
    )[0]?.provider_phase;
});

const signer = new Stripe("sk_test_signer");

// A Stripe event of `type` about `object`, as Stripe signs it for the webhook's secret.
function webhook(type: string, object: Record<string, unknown>): string {
  return JSON.stringify({
    id: `evt_${randomBytes(10).toString("hex")}`,
    object: "event",
    api_version: "2025-08-27.basil",
    created: Math.floor(Date.now() / 1000),
    livemode: false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    type,
    data: { object },
  });
}

function deliver(baseUrl: string, payload: string): Promise<Response> {
  return fetch(`${baseUrl}/webhooks/stripe`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "stripe-signature": signer.webhooks.generateTestHeaderString({
        payload,
        secret: WEBHOOK_SECRET,
      }),
    },
    body: payload,
  });
}

function seconds(timestamp: Parameters<typeof timestampDate>[0] | undefined): number {
  return timestamp ? Math.floor(timestampDate(timestamp).getTime() / 1000) : 0;
}
