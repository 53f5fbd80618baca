import { randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import { Decimal } from "decimal.js";
import { beforeAll, describe, expect, it } from "vitest";
import {
  type Invoice,
  InvoiceLineKind,
  type Plan as PlanMessage,
} from "../gen/tollgate/v1/billing_service_pb.js";
import { type Pricing as PricingMessage, PricingModel } from "../gen/tollgate/v1/resource_pb.js";
import { stripePricingOf } from "../src/billing/stripe-prices.js";
import { minorUnitDigits } from "../src/catalog/money.js";
import type { Pricing } from "../src/catalog/pricing.js";
import { queryRows } from "./support/app.js";
import { errorOf, grpcTransport, tollgateClients } from "./support/clients.js";
import { useReplicas } from "./support/replicas.js";
import type { ServerProcess } from "./support/server-process.js";
import { storedStripePrice, stripeLineAmount } from "./support/stripe-pricing.js";

const CATALOG = fileURLToPath(new URL("../examples/catalogs/tiered-pricing.json", import.meta.url));

// The catalog's price as ListPlans returns it, back in the rules' form.
function pricingOf(message: PricingMessage): Pricing {
  const d = (value: string) => new Decimal(value || 0);
  switch (message.model) {
    case PricingModel.PER_UNIT:
      return { model: "per_unit", unitAmount: d(message.unitAmount) };
    case PricingModel.PACKAGE:
      return {
        model: "package",
        packageSize: d(message.packageSize),
        packageAmount: d(message.packageAmount),
        round: message.round === "down" ? "down" : "up",
      };
    default:
      return {
        model: message.model === PricingModel.VOLUME ? "volume" : "graduated",
        tiersFrom: message.tiersFrom === "included" ? "included" : "zero",
        tiers: message.tiers.map((t) => ({
          upTo: t.upTo === "" ? undefined : d(t.upTo),
          unitAmount: d(t.unitAmount),
          flatAmount: d(t.flatAmount),
        })),
      };
  }
}

/**
 * What the fake Stripe bills for each usage line of an invoice: the price Tollgate would give
 * Stripe for the plan's limit, fed the line's resource's whole usage, by Stripe's own rules.
 */
function stripeAmounts(invoice: Invoice, plan: PlanMessage, used: Record<string, string>) {
  const digits = minorUnitDigits(invoice.currency);
  return invoice.lines
    .filter((line) => line.kind === InvoiceLineKind.USAGE)
    .map((line) => {
      const limit = plan.limits.find((l) => l.resourceType === line.resourceType);
      const pricing = pricingOf(limit?.pricing as PricingMessage);
      const price = stripePricingOf(pricing, new Decimal(limit?.limit ?? 0), invoice.currency);
      return [
        line.resourceType,
        stripeLineAmount(storedStripePrice(price), used[line.resourceType] ?? "0")
          .dividedBy(new Decimal(10).pow(digits))
          .toFixed(digits),
      ];
    });
}

describe("pricing models through the real server (mock provider)", () => {
  const suite = useReplicas(1, {
    PLAN_CATALOG_PATH: CATALOG,
    BILLING_RATE_LIMIT_BURST: "1000",
  });
  let api: ReturnType<typeof tollgateClients>;
  let plans: PlanMessage[];

  beforeAll(async () => {
    api = tollgateClients(grpcTransport((suite.servers[0] as ServerProcess).baseUrl));
    plans = (await api.billing.listPlans({})).plans;
  });

  const subscribed = async (priceId: string, used: Record<string, string>) => {
    const tenantId = randomUUID();
    const { customer } = await api.billing.createCustomer({ tenantId, email: "p@example.com" });
    await api.billing.createSubscription({ customerId: customer?.id ?? "", priceId });
    for (const [resourceType, quantity] of Object.entries(used)) {
      await api.entitlements.recordUsage({ tenantId, resourceType, quantity });
    }
    const { invoice } = await api.billing.getUpcomingInvoice({ tenantId });
    return { tenantId, invoice: invoice as Invoice };
  };

  const linesOf = (invoice: Invoice) =>
    invoice.lines.map((l) => [InvoiceLineKind[l.kind], l.resourceType, l.quantity, l.amount]);

  it("should list each limit's pricing and the plan's minimum", () => {
    const growth = plans.find((p) => p.id === "growth");
    expect(growth?.minimumAmount).toBe("50.00");
    expect(
      growth?.limits.map((l) => [
        l.resourceType,
        PricingModel[l.pricing?.model ?? 0],
        l.overageUnitAmount,
      ]),
    ).toEqual([
      ["tokens", "GRADUATED", ""],
      ["api_calls", "VOLUME", ""],
      ["sms", "PACKAGE", ""],
      ["exports", "PER_UNIT", "0.25"],
    ]);
  });

  it("should price every model to the minor unit, as the fake Stripe does", async () => {
    const used = { tokens: "10000001", api_calls: "10001", sms: "250", exports: "101" };
    const { tenantId, invoice } = await subscribed("price_growth_monthly", used);
    // tokens, graduated: 1,000,000 × 0 + 9,000,000 × 0.000008 + 1 × 0.000005 = 72.000005 → 72.00
    // api_calls, volume: 10,001 falls in the second tier: 10,001 × 0.0008 + 2 = 10.0008 → 10.00
    // sms, packages of 100: 250 → 3 packages × 1.50 = 4.50
    // exports, per unit: 1 beyond the 100 included × 0.25 = 0.25
    // usage 86.75 is above the 50.00 minimum: no true-up; total 29 + 86.75 = 115.75
    expect(linesOf(invoice)).toEqual([
      ["PLAN_FEE", "", "1", "29.00"],
      ["USAGE", "tokens", "10000001", "72.00"],
      ["USAGE", "api_calls", "10001", "10.00"],
      ["USAGE", "sms", "250", "4.50"],
      ["USAGE", "exports", "1", "0.25"],
    ]);
    expect(invoice.total).toBe("115.75");
    expect(
      stripeAmounts(invoice, plans.find((p) => p.id === "growth") as PlanMessage, used),
    ).toEqual(
      invoice.lines
        .filter((l) => l.kind === InvoiceLineKind.USAGE)
        .map((l) => [l.resourceType, l.amount]),
    );

    // the graduated line shows each tier reached, exact
    const tokens = invoice.lines.find((l) => l.resourceType === "tokens");
    expect(tokens?.pricingModel).toBe(PricingModel.GRADUATED);
    expect(
      tokens?.tiers.map((t) => [t.upTo, t.quantity, t.unitAmount, t.flatAmount, t.amount]),
    ).toEqual([
      ["1000000", "1000000", "0", "0", "0"],
      ["10000000", "9000000", "0.000008", "0", "72"],
      ["", "1", "0.000005", "0", "0.000005"],
    ]);
    // the volume line shows the one tier the total falls in
    const calls = invoice.lines.find((l) => l.resourceType === "api_calls");
    expect(calls?.tiers.map((t) => [t.upTo, t.quantity, t.amount])).toEqual([
      ["100000", "10001", "10.0008"],
    ]);

    // and GetEntitlements prices the same usage, exact, with the next unit's price
    const { entitlements } = await api.entitlements.getEntitlements({ tenantId });
    const byType = Object.fromEntries(entitlements.map((e) => [e.resourceType, e]));
    expect([
      byType.tokens?.overageAmount,
      byType.tokens?.overageUnitAmount,
      byType.tokens?.hard,
    ]).toEqual(["72.000005", "0.000005", false]);
    expect(byType.api_calls?.overageAmount).toBe("10.0008");
    expect(byType.sms?.overageAmount).toBe("4.5");
    expect(byType.sms?.pricing?.model).toBe(PricingModel.PACKAGE);
    const check = await api.entitlements.check({ tenantId, resourceType: "tokens" });
    expect(check.reason).toMatch(/priced by graduated tiers/);
  });

  it("should true up a minimum that is missed by one cent, and the whole minimum without usage", async () => {
    // api_calls 9,990 × 0.001 = 9.99; exports 160 beyond × 0.25 = 40.00: usage 49.99, minimum 50.00
    const short = await subscribed("price_growth_monthly", { api_calls: "9990", exports: "260" });
    expect(linesOf(short.invoice).slice(-1)).toEqual([["MINIMUM_TRUE_UP", "", "1", "0.01"]]);
    expect(short.invoice.total).toBe("79.00");

    // exactly the minimum: api_calls 10,000 × 0.001 = 10.00; exports 160 × 0.25 = 40.00
    const met = await subscribed("price_growth_monthly", { api_calls: "10000", exports: "260" });
    expect(met.invoice.lines.some((l) => l.kind === InvoiceLineKind.MINIMUM_TRUE_UP)).toBe(false);
    expect(met.invoice.total).toBe("79.00");

    const idle = await subscribed("price_growth_monthly", {});
    expect(linesOf(idle.invoice).slice(-1)).toEqual([["MINIMUM_TRUE_UP", "", "1", "50.00"]]);
    expect(idle.invoice.total).toBe("79.00");
  });

  it("should round yen to whole units, tiers counted from the included quantity", async () => {
    // 103 tokens, 100 included: 3 × 3.5 = 10.5 → 11 yen; the fee 5,000 yen
    const used = { tokens: "103" };
    const { invoice } = await subscribed("price_tokyo_monthly", used);
    expect(linesOf(invoice)).toEqual([
      ["PLAN_FEE", "", "1", "5000"],
      ["USAGE", "tokens", "3", "11"],
    ]);
    expect(
      stripeAmounts(invoice, plans.find((p) => p.id === "tokyo") as PlanMessage, used),
    ).toEqual([["tokens", "11"]]);
  });

  it("should price a period's usage before and after a mid-period plan change at the new plan's price, and say so", async () => {
    // given 2,000,000 tokens on Growth (1,000,000 beyond its free million: 8.00 so far)
    const { tenantId } = await subscribed("price_growth_monthly", { tokens: "2000000" });
    const { subscriptions } = await api.billing.listSubscriptions({ tenantId });
    const before = await api.billing.getUpcomingInvoice({ tenantId });
    expect(before.invoice?.lines.find((l) => l.resourceType === "tokens")?.amount).toBe("8.00");

    // when the tenant moves to Scale mid-period and uses 4,000,000 more
    await api.billing.updateSubscription({
      subscriptionId: subscriptions[0]?.id ?? "",
      newPriceId: "price_scale_monthly",
      requestId: randomUUID(),
    });
    await api.entitlements.recordUsage({ tenantId, resourceType: "tokens", quantity: "4000000" });
    const { invoice } = await api.billing.getUpcomingInvoice({ tenantId });

    // then all 6,000,000 are priced at Scale's tiers, as Stripe prices a metered item's whole
    // period at the price it carries when the invoice is made: 1,000,000 beyond Scale's free
    // 5,000,000 at 0.000004 = 4.00; the line says how the change prices it
    const tokens = invoice?.lines.find((l) => l.resourceType === "tokens");
    expect([tokens?.quantity, tokens?.amount]).toEqual(["6000000", "4.00"]);
    expect(tokens?.description).toMatch(
      /usage before and after the change from Growth on \d{4}-\d\d-\d\dT[\d:.]+Z is all priced at Scale's price$/,
    );
    expect(invoice?.planId).toBe("scale");
    expect(
      stripeAmounts(invoice as Invoice, plans.find((p) => p.id === "scale") as PlanMessage, {
        tokens: "6000000",
      }).filter(([resource]) => resource === "tokens"),
    ).toEqual([["tokens", "4.00"]]);
  });

  describe("a negotiated price for one tenant", () => {
    const volume = {
      model: PricingModel.VOLUME,
      tiers: [
        { upTo: "5000000", unitAmount: "0.000004" },
        { upTo: "", unitAmount: "0.000002" },
      ],
    };

    it("should refuse a bad price with every problem and its path, and change nothing", async () => {
      const { tenantId } = await subscribed("price_growth_monthly", {});
      const error = await errorOf(
        api.billing.setPriceOverride({
          tenantId,
          resourceType: "tokens",
          pricing: {
            model: PricingModel.GRADUATED,
            tiers: [
              { upTo: "100", unitAmount: "-1" },
              { upTo: "50", flatAmount: "0.001" },
            ],
          },
          endTime: timestampFromDate(new Date(Date.now() - 1000)),
        }),
      );
      expect(error.code).toBe(Code.InvalidArgument);
      for (const part of [
        "pricing.tiers[0].unit_amount",
        "pricing.tiers[1].up_to: must be above the previous tier's 100",
        "pricing.tiers[1].up_to: the last tier must be unbounded",
        "pricing.tiers[1].flat_amount: must be a whole number of usd's minor unit",
        "end_time: must be in the future",
      ]) {
        expect(error.message).toContain(part);
      }
      const hard = await errorOf(
        api.billing.setPriceOverride({
          tenantId,
          resourceType: "storage",
          pricing: { model: PricingModel.PER_UNIT, unitAmount: "1" },
        }),
      );
      expect(hard.code).toBe(Code.InvalidArgument);
      expect((await api.billing.listPriceOverrides({ tenantId })).priceOverrides).toEqual([]);
    });

    it("should price the whole period from an override starting mid-period, once per request id, audited", async () => {
      // given a Growth tenant with 10,000,001 tokens, priced 72.00 by the plan's graduated tiers
      const used = { tokens: "10000001" };
      const { tenantId } = await subscribed("price_growth_monthly", used);

      // when an admin negotiates volume tiers from tomorrow on, twice with one request id
      const request = {
        tenantId,
        resourceType: "tokens",
        pricing: volume,
        startTime: timestampFromDate(new Date(Date.now() + 86_400_000)),
        requestId: `negotiated-${tenantId}`,
      };
      const [first, again] = await Promise.all([
        api.billing.setPriceOverride(request),
        api.billing.setPriceOverride(request),
      ]);
      expect(again.priceOverride?.id).toBe(first.priceOverride?.id);
      const id = first.priceOverride?.id ?? "";
      expect(id).toMatch(/^pro_[0-9a-f]{24}$/);

      // then the period is priced by it, since it is in force at the period's end:
      // 10,000,001 falls in the unbounded tier: 10,000,001 × 0.000002 = 20.000002 → 20.00
      const { invoice } = await api.billing.getUpcomingInvoice({ tenantId });
      const tokens = invoice?.lines.find((l) => l.resourceType === "tokens");
      expect([tokens?.amount, tokens?.pricingModel, tokens?.priceOverrideId]).toEqual([
        "20.00",
        PricingModel.VOLUME,
        id,
      ]);
      expect(tokens?.description).toContain(`negotiated price ${id}`);
      // the minimum of 50.00 now tops the usage up: 50.00 - 20.00 = 30.00
      expect(invoice?.lines.at(-1)).toMatchObject({
        kind: InvoiceLineKind.MINIMUM_TRUE_UP,
        amount: "30.00",
      });
      const override = (await api.billing.listPriceOverrides({ tenantId })).priceOverrides[0];
      const growth = plans.find((p) => p.id === "growth") as PlanMessage;
      const negotiatedPlan = {
        ...growth,
        limits: growth.limits.map((l) =>
          l.resourceType === "tokens" ? { ...l, pricing: override?.pricing } : l,
        ),
      } as PlanMessage;
      expect(stripeAmounts(invoice as Invoice, negotiatedPlan, used)[0]).toEqual([
        "tokens",
        "20.00",
      ]);
      const { entitlements } = await api.entitlements.getEntitlements({ tenantId });
      expect(entitlements.find((e) => e.resourceType === "tokens")).toMatchObject({
        overageAmount: "20.000002",
        overageUnitAmount: "0.000002",
        priceOverrideId: id,
      });
      const audit = await queryRows<{ action: string }>(
        suite.db.url,
        "select action from audit_events where tenant_id = $1 and action like 'price_override%'",
        [tenantId],
      );
      expect(audit.map((a) => a.action)).toEqual(["price_override.set"]);

      // and an overlapping one is refused
      const clash = await errorOf(
        api.billing.setPriceOverride({ ...request, requestId: "", startTime: undefined }),
      );
      expect([clash.code, clash.message.includes(id)]).toEqual([Code.FailedPrecondition, true]);

      // when it is deleted, the plan's price is back, and the override is kept as ended
      const deleted = await api.billing.deletePriceOverride({ tenantId, id });
      expect(deleted.priceOverride?.deleteTime).toBeDefined();
      const after = await api.billing.getUpcomingInvoice({ tenantId });
      expect(after.invoice?.lines.find((l) => l.resourceType === "tokens")?.amount).toBe("72.00");
      expect((await api.billing.listPriceOverrides({ tenantId })).priceOverrides).toEqual([]);
      expect(
        (await api.billing.listPriceOverrides({ tenantId, includeEnded: true })).priceOverrides.map(
          (o) => o.id,
        ),
      ).toEqual([id]);
      expect((await errorOf(api.billing.deletePriceOverride({ tenantId, id }))).code).toBe(
        Code.FailedPrecondition,
      );
    });
  });
});
