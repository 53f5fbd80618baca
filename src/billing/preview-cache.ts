import type { Subscription } from "./billing.js";
import type { Invoice } from "./invoice.js";
import type { BillingProvider } from "./provider.js";

/** Entries kept before expired ones are swept. */
const SWEEP_AT = 10_000;

/**
 * Wraps a provider so invoice previews of one subscription are fetched at most once per
 * `ttlMs`, and concurrent requests share the call in flight. A preview from Stripe is one
 * request against the account's own rate limit, shared by every tenant; without this, one
 * tenant refreshing its invoice could spend it for all. The key includes everything about the
 * subscription that changes the invoice's lines (price, state, period, cancellation), so a
 * change is never hidden; usage reaches Stripe's meters with a delay anyway.
 */
export function withPreviewCache(provider: BillingProvider, ttlMs: number): BillingProvider {
  const cache = new Map<string, { expires: number; invoice: Promise<Invoice> }>();
  const keyOf = (s: Subscription) =>
    JSON.stringify([
      s.id,
      s.priceId,
      s.state,
      s.currentPeriodStartTime,
      s.currentPeriodEndTime,
      s.cancelAtPeriodEnd,
      s.trialEndTime,
    ]);
  return {
    ...provider,
    previewInvoice(subscription) {
      const now = Date.now();
      const key = keyOf(subscription);
      const hit = cache.get(key);
      if (hit !== undefined && hit.expires > now) return hit.invoice;
      if (cache.size >= SWEEP_AT) {
        for (const [k, entry] of cache) if (entry.expires <= now) cache.delete(k);
      }
      const invoice = provider.previewInvoice(subscription);
      cache.set(key, { expires: now + ttlMs, invoice });
      // A failure is not kept: the next request asks again.
      invoice.catch(() => cache.delete(key));
      return invoice;
    },
  };
}
