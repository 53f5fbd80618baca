import { describe, expect, it } from "vitest";
import type { Subscription } from "./billing.js";
import type { Invoice } from "./invoice.js";
import { withPreviewCache } from "./preview-cache.js";
import type { BillingProvider } from "./provider.js";

function countingProvider() {
  const calls: string[] = [];
  const provider = {
    name: "stripe",
    previewInvoice: async (s: Subscription) => {
      calls.push(s.priceId);
      return { total: String(calls.length) } as unknown as Invoice;
    },
  } as unknown as BillingProvider;
  return { provider, calls };
}

const subscription = {
  id: "sub_1",
  priceId: "price_pro_monthly",
  state: "active",
  currentPeriodStartTime: new Date(0),
  currentPeriodEndTime: new Date(1),
  cancelAtPeriodEnd: false,
  trialEndTime: undefined,
} as unknown as Subscription;

describe(withPreviewCache.name, () => {
  it("should ask the provider once for concurrent and repeated previews within the TTL", async () => {
    const { provider, calls } = countingProvider();
    const cached = withPreviewCache(provider, 60_000);
    await Promise.all(Array.from({ length: 50 }, () => cached.previewInvoice(subscription)));
    await cached.previewInvoice(subscription);
    expect(calls).toHaveLength(1);
  });

  it("should ask again when the subscription changed or the TTL passed", async () => {
    const { provider, calls } = countingProvider();
    const cached = withPreviewCache(provider, 20);
    await cached.previewInvoice(subscription);
    await cached.previewInvoice({ ...subscription, priceId: "price_team_monthly" });
    await new Promise((r) => setTimeout(r, 30));
    await cached.previewInvoice(subscription);
    expect(calls).toEqual(["price_pro_monthly", "price_team_monthly", "price_pro_monthly"]);
  });

  it("should not keep a failure", async () => {
    let fail = true;
    const provider = {
      previewInvoice: async () => {
        if (fail) throw new Error("stripe down");
        return {} as Invoice;
      },
    } as unknown as BillingProvider;
    const cached = withPreviewCache(provider, 60_000);
    await expect(cached.previewInvoice(subscription)).rejects.toThrow("stripe down");
    fail = false;
    await expect(cached.previewInvoice(subscription)).resolves.toEqual({});
  });
});
