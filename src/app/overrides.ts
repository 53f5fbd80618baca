import type { BillingProvider } from "../billing/provider.js";
import type { Clock } from "../platform/clock/clock.js";
import type { UsageStore } from "../usage/store.js";

/** Replacements for tests: a clock they can move, a provider that fails on demand. */
export interface AppOverrides {
  clock?: Clock;
  /**
   * This machine's wall clock as the database clock sees it (epoch ms): a test sets it off by
   * minutes to prove replicas with skewed clocks still agree on business time.
   */
  localTime?: () => number;
  /** Wraps the configured billing provider. */
  wrapBillingProvider?: (provider: BillingProvider) => BillingProvider;
  /**
   * Wraps the usage store: fault injection that lets a test put an event PostgreSQL refuses
   * past validation, to prove it cannot fail anybody else's batch.
   */
  wrapUsageStore?: (store: UsageStore) => UsageStore;
}
