import { randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { queryRows } from "./support/app.js";
import { grpcTransport, tollgateClients } from "./support/clients.js";
import { useReplicas } from "./support/replicas.js";

const CATALOG = fileURLToPath(new URL("../examples/catalogs/llm-platform.json", import.meta.url));

describe("dimension limits on the invoice and the provider's meters (mock provider)", () => {
  const suite = useReplicas(2, {
    PLAN_CATALOG_PATH: CATALOG,
    BILLING_RATE_LIMIT_BURST: "1000",
    METER_SYNC_INTERVAL_SECONDS: "0.2",
  });

  it("should bill a dimension's overage on its own line and meter, and the rest at the resource's price", async () => {
    // given a PRO tenant: tokens 2,000,000 included at 0.00001 beyond; gpt-4 100,000 at 0.0002
    const [one, two] = suite.servers.map((s) => tollgateClients(grpcTransport(s.baseUrl)));
    const tenantId = randomUUID();
    const { customer } = await one!.billing.createCustomer({ tenantId, email: "a@example.com" });
    await one!.billing.createSubscription({
      customerId: customer!.id,
      priceId: "price_llm_pro_monthly",
    });

    // when it uses 250,000 gpt-4 tokens and 1,900,000 others, on both replicas
    const record = (i: number, model: string, quantity: string) =>
      (i % 2 ? two : one)!.entitlements.recordUsage({
        tenantId,
        resourceType: "tokens",
        quantity,
        dimensions: { model },
        idempotencyKey: `${model}-${i}`,
      });
    await Promise.all([
      ...Array.from({ length: 25 }, (_, i) => record(i, "gpt-4", "10000")),
      ...Array.from({ length: 19 }, (_, i) => record(i, "gpt-4o-mini", "100000")),
    ]);

    // then gpt-4's 150,000 beyond its allowance are on a line of their own at 0.0002, and the
    // resource's line bills what remains beyond 2,000,000: 2,150,000 - 2,000,000 - 150,000 = 0
    const lines = async () =>
      (await two!.billing.getUpcomingInvoice({ tenantId })).invoice?.lines.map((l) => [
        l.resourceType,
        l.dimensions,
        l.quantity,
        l.amount,
      ]);
    expect(await lines()).toEqual([
      ["", {}, "1", "99.00"],
      ["tokens", { model: "gpt-4" }, "150000", "30.00"],
      ["tokens", {}, "0", "0.00"],
      ["active_users", {}, "0", "0.00"],
      ["seats", {}, "0", "0.00"],
    ]);

    // and 100,000 more plain tokens are the resource's own overage
    await record(99, "gpt-4o-mini", "100000");
    expect((await lines())?.[2]).toEqual(["tokens", {}, "100000", "1.00"]);

    // and each meter receives its own usage, exactly once: gpt-4 all of its 250,000, the
    // total what it bills (2,250,000 less the 150,000 gpt-4 bills apart)
    const sums = async () =>
      Object.fromEntries(
        (
          await queryRows<{ event_name: string; total: string }>(
            suite.db.url,
            "select event_name, sum(value)::text as total from mock_meter_events where customer_id = $1 group by event_name",
            [customer!.id],
          )
        ).map((r) => [r.event_name, r.total]),
      );
    await expect
      .poll(sums, { timeout: 10_000 })
      .toEqual({ llm_tokens: "2100000", llm_tokens_gpt_4: "250000" });
  });
});
