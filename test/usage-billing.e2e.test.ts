import { randomUUID } from "node:crypto";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { beforeAll, describe, expect, it } from "vitest";
import { DenialReason } from "../gen/tollgate/v1/entitlement_service_pb.js";
import { queryRows } from "./support/app.js";
import { grpcTransport, tollgateClients } from "./support/clients.js";
import { useReplicas } from "./support/replicas.js";
import type { ServerProcess } from "./support/server-process.js";

const clients = (baseUrl: string) => {
  return tollgateClients(grpcTransport(baseUrl));
};

describe("usage-based billing on the mock provider", () => {
  const suite = useReplicas(2, {
    BILLING_RATE_LIMIT_BURST: "1000",
    METER_SYNC_INTERVAL_SECONDS: "0.2",
  });
  let one: ReturnType<typeof clients>;
  let two: ReturnType<typeof clients>;

  beforeAll(() => {
    const [first, second] = suite.servers as [ServerProcess, ServerProcess];
    one = clients(first.baseUrl);
    two = clients(second.baseUrl);
  });

  const subscribe = async (priceId: string, trialDays = 0) => {
    const tenantId = randomUUID();
    const { customer } = await one.billing.createCustomer({ tenantId, email: "u@example.com" });
    const { subscription } = await one.billing.createSubscription({
      customerId: customer!.id,
      priceId,
      trialDays,
    });
    return { tenantId, customerId: customer!.id, subscriptionId: subscription!.id };
  };

  const record = (tenantId: string, resourceType: string, quantity: string) =>
    one.entitlements.recordUsage({ tenantId, resourceType, quantity });

  it("should keep FREE hard: denied at 100 executions, with no overage", async () => {
    const tenantId = randomUUID();
    await record(tenantId, "executions", "100");
    const denied = await one.entitlements.checkAndRecord({ tenantId, resourceType: "executions" });
    expect(denied).toMatchObject({ allowed: false, denialReason: DenialReason.LIMIT_EXCEEDED });
    expect(denied.entitlement).toMatchObject({
      hard: true,
      included: "100",
      limit: "100",
      overage: "0",
      overageAmount: "0",
      overageUnitAmount: "",
      used: "100",
    });
  });

  it("should admit PRO beyond its allowance up to the cap and no further, exactly, on two replicas", async () => {
    // given a PRO tenant 200 executions short of its cap (10,000 included + 25,000 overage)
    const { tenantId } = await subscribe("price_pro_monthly");
    await record(tenantId, "executions", "34800");

    // when 500 calls race on two replicas
    const answers = await Promise.all(
      Array.from({ length: 500 }, (_, i) =>
        (i % 2 ? two : one).entitlements.checkAndRecord({ tenantId, resourceType: "executions" }),
      ),
    );

    // then exactly 200 are admitted, into overage, and the rest are denied at the cap
    const admitted = answers.filter((a) => a.allowed);
    expect(admitted).toHaveLength(200);
    expect(admitted[0]?.reason).toMatch(/beyond the allowance billed at 0\.006 usd each/);
    const denied = answers.filter((a) => !a.allowed);
    expect(new Set(denied.map((a) => a.denialReason))).toEqual(
      new Set([DenialReason.OVERAGE_CAP_REACHED]),
    );
    expect(denied[0]?.reason).toMatch(/overage cap of the pro plan reached/);
    const [counter] = await queryRows<{ used: string }>(
      suite.db.url,
      "select used::text from usage_counters where tenant_id = $1 and resource_type = 'executions'",
      [tenantId],
    );
    expect(counter?.used).toBe("35000");
    const { entitlements } = await two.entitlements.getEntitlements({ tenantId });
    expect(entitlements.find((e) => e.resourceType === "executions")).toMatchObject({
      hard: false,
      included: "10000",
      limit: "35000",
      remaining: "0",
      used: "35000",
      overage: "25000",
      overageAmount: "150",
      overageUnitAmount: "0.006",
      currency: "usd",
    });
    expect(entitlements.find((e) => e.resourceType === "storage_mb")).toMatchObject({
      hard: true,
      overage: "0",
    });
  });

  it("should let a Reserve go into overage and bill what the commit records", async () => {
    const { tenantId } = await subscribe("price_pro_monthly");
    await record(tenantId, "api_calls", "99990");
    const held = await one.entitlements.reserve({
      tenantId,
      resourceType: "api_calls",
      quantity: "50",
    });
    expect(held.allowed).toBe(true);
    const { entitlement } = await two.entitlements.commitReservation({
      reservationId: held.reservationId,
      actualQuantity: "30",
    });
    expect(entitlement).toMatchObject({ used: "100020", overage: "20", overageAmount: "0.01" });
  });

  describe("GetUpcomingInvoice", () => {
    type Case = {
      name: string;
      priceId: string;
      trialDays?: number;
      usage: [string, string][];
      upgradeTo?: string;
      lines: [string, string, string, string][];
      total: string;
    };
    // [resource_type, quantity, unit_amount, amount]; the plan's fee has no resource
    const proFee: [string, string, string, string] = ["", "1", "49", "49.00"];
    const none = (resource: string, unit: string): [string, string, string, string] => [
      resource,
      "0",
      unit,
      "0.00",
    ];
    const proWithoutOverage = [
      proFee,
      none("executions", "0.006"),
      none("tokens", "0.000006"),
      none("api_calls", "0.0005"),
    ];
    const cases: Case[] = [
      {
        name: "no usage",
        priceId: "price_pro_monthly",
        usage: [],
        lines: proWithoutOverage,
        total: "49.00",
      },
      {
        name: "exactly the allowance",
        priceId: "price_pro_monthly",
        usage: [["executions", "10000"]],
        lines: proWithoutOverage,
        total: "49.00",
      },
      {
        name: "allowance + 1 (0.006 rounds half-up to 0.01)",
        priceId: "price_pro_monthly",
        usage: [
          ["executions", "10001"],
          ["api_calls", "100010"],
        ],
        lines: [
          proFee,
          ["executions", "1", "0.006", "0.01"],
          none("tokens", "0.000006"),
          ["api_calls", "10", "0.0005", "0.01"],
        ],
        total: "49.02",
      },
      {
        name: "fractional tokens",
        priceId: "price_pro_monthly",
        usage: [["tokens", "10002500.5"]],
        lines: [
          proFee,
          none("executions", "0.006"),
          ["tokens", "2500.5", "0.000006", "0.02"],
          none("api_calls", "0.0005"),
        ],
        total: "49.02",
      },
      {
        name: "cap reached",
        priceId: "price_pro_monthly",
        usage: [["executions", "35000"]],
        lines: [
          proFee,
          ["executions", "25000", "0.006", "150.00"],
          none("tokens", "0.000006"),
          none("api_calls", "0.0005"),
        ],
        total: "199.00",
      },
      {
        name: "trialing",
        priceId: "price_pro_monthly",
        trialDays: 14,
        usage: [["executions", "10500"]],
        lines: [
          ["", "1", "0", "0.00"],
          ["executions", "500", "0", "0.00"],
          ["tokens", "0", "0", "0.00"],
          ["api_calls", "0", "0", "0.00"],
        ],
        total: "0.00",
      },
      {
        name: "after an upgrade in the period (TEAM prices the whole period)",
        priceId: "price_pro_monthly",
        usage: [["executions", "100500"]],
        upgradeTo: "price_team_monthly",
        lines: [
          ["", "1", "199", "199.00"],
          ["executions", "500", "0.0025", "1.25"],
          none("tokens", "0.000002"),
          none("api_calls", "0.0002"),
        ],
        total: "200.25",
      },
    ];

    it.each(cases)("should price $name exactly", async (c) => {
      const { tenantId, subscriptionId } = await subscribe(c.priceId, c.trialDays);
      for (const [resource, quantity] of c.usage) await record(tenantId, resource, quantity);
      if (c.upgradeTo) {
        await one.billing.updateSubscription({ subscriptionId, newPriceId: c.upgradeTo });
      }
      const { invoice } = await two.billing.getUpcomingInvoice({ tenantId });
      expect(
        invoice?.lines.map((l) => [l.resourceType, l.quantity, l.unitAmount, l.amount]),
      ).toEqual(c.lines);
      expect(invoice).toMatchObject({
        tenantId,
        subscriptionId,
        currency: "usd",
        subtotal: c.total,
        total: c.total,
      });
      expect(invoice?.lines[0]?.description).toMatch(c.trialDays ? /\(trial\)$/ : /\(month\)$/);
      const [sub] = await queryRows<{ start: Date; end: Date }>(
        suite.db.url,
        "select current_period_start_time as start, current_period_end_time as end from subscriptions where id = $1",
        [subscriptionId],
      );
      expect(timestampDate(invoice!.periodStartTime!)).toEqual(sub?.start);
      expect(timestampDate(invoice!.periodEndTime!)).toEqual(sub?.end);
    });

    it("should answer NOT_FOUND for a tenant without a live subscription and INVALID_ARGUMENT for a bad id", async () => {
      const missing = await one.billing
        .getUpcomingInvoice({ tenantId: randomUUID() })
        .catch((e) => e);
      expect(ConnectError.from(missing).code).toBe(Code.NotFound);
      const bad = await one.billing.getUpcomingInvoice({ tenantId: "nope" }).catch((e) => e);
      expect(ConnectError.from(bad).code).toBe(Code.InvalidArgument);
      expect(ConnectError.from(bad).rawMessage).toMatch(/tenant_id/);
    });
  });

  it("should report usage from every path to the mock's meters, exactly, in whole units", async () => {
    // given a PRO tenant using executions by CheckAndRecord, RecordUsage, a committed
    // reservation and StreamUsage, on both replicas
    const { tenantId, customerId } = await subscribe("price_pro_monthly");
    await one.entitlements.checkAndRecord({ tenantId, resourceType: "executions", quantity: "3" });
    await two.entitlements.recordUsage({ tenantId, resourceType: "executions", quantity: "7" });
    const held = await one.entitlements.reserve({
      tenantId,
      resourceType: "executions",
      quantity: "9",
    });
    await two.entitlements.commitReservation({
      reservationId: held.reservationId,
      actualQuantity: "4",
    });
    async function* events() {
      yield {
        events: Array.from({ length: 10 }, () => ({
          eventId: randomUUID(),
          tenantId,
          resourceType: "executions",
          quantity: "1",
        })),
      };
    }
    await one.usage.streamUsage(events());
    await record(tenantId, "tokens", "2.5");

    // then the mock's meters receive all 24 executions, and the 2 whole tokens of 2.5
    const sums = async () =>
      Object.fromEntries(
        (
          await queryRows<{ event_name: string; total: string }>(
            suite.db.url,
            "select event_name, sum(value)::text as total from mock_meter_events where customer_id = $1 group by event_name",
            [customerId],
          )
        ).map((r) => [r.event_name, r.total]),
      );
    await expect.poll(sums, { timeout: 10_000 }).toEqual({
      tollgate_executions: "24",
      tollgate_tokens: "2",
    });
    // every delta ends sent, under a deterministic identifier (the sums can show before the
    // sender's commit, so the rows are polled)
    const reports = async () =>
      (
        await queryRows<{ state: string; identifier: string }>(
          suite.db.url,
          "select state, identifier from meter_reports where tenant_id = $1",
          [tenantId],
        )
      ).every((r) => r.state === "sent" && /^tg_[0-9a-f]{40}$/.test(r.identifier));
    await expect.poll(reports).toBe(true);
  });
});
