import { createTtlCache } from "../platform/cache/ttl-cache.js";
import type { Subscription } from "./billing.js";
import type { Invoice } from "./invoice.js";
import type { BillingProvider } from "./provider.js";

/** Previews kept at most. */
const MAX_PREVIEWS = 10_000;

/**
 * Wraps a provider so invoice previews of one subscription are fetched at most once per
 * `ttlMs`, and concurrent requests share the call in flight. A preview from Stripe is one
 * request against the account's own rate limit, shared by every tenant; without this, one
 * tenant refreshing its invoice could spend it for all. The key includes everything about the
 * subscription that changes the invoice's lines (price, state, period, cancellation), so a
 * change is never hidden; usage reaches Stripe's meters with a delay anyway.
 */
export function withPreviewCache(provider: BillingProvider, ttlMs: number): BillingProvider {
  const cache = createTtlCache<Invoice>({ ttlMs, maxEntries: MAX_PREVIEWS });
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
    previewInvoice: (subscription) =>
      cache.get(keyOf(subscription), () => provider.previewInvoice(subscription)),
  };
}
