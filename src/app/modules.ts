import { createAuditModule } from "../audit/module.js";
import { type AuthModule, createAuthModule } from "../auth/module.js";
import { createBillingModule } from "../billing/module.js";
import type { PriceReader, UsageReader } from "../billing/provider.js";
import { createCorrectionsModule } from "../corrections/module.js";
import { createCreditsModule } from "../credits/module.js";
import { createEntitlementsModule, type EntitlementsModule } from "../entitlements/module.js";
import { createEventsModule } from "../events/module.js";
import { createFeaturesModule, type FeaturesModule } from "../features/module.js";
import { createMeteringModule } from "../metering/module.js";
import type { LiveCatalog } from "../plans/live-catalog.js";
import { createPlansModule } from "../plans/module.js";
import type { Clock } from "../platform/clock/clock.js";
import type { Config } from "../platform/config/config.js";
import type { Database } from "../platform/db/database.js";
import type { Logger } from "../platform/observability/logger.js";
import type { Module } from "../platform/server/module.js";
import { createPricesModule, type PricesModule } from "../prices/module.js";
import type { TestClock } from "../test-clock/clock.js";
import { createTestClockModule } from "../test-clock/module.js";
import { createUsageModule } from "../usage/module.js";
import { createWebhooksModule } from "../webhooks/module.js";
import type { AppOverrides } from "./overrides.js";

/** Every domain, in dependency order, with the auth module apart for the transport. */
export interface Modules {
  auth: AuthModule;
  all: Module[];
}

/**
 * Lists the domains over one database, each given what it needs of the ones before it. Two
 * links run backwards and are late-bound: billing and credits tell the plan cache (in
 * entitlements) when a tenant's limits change, and the mock provider prices previews from
 * entitlements' counters; neither is called before every module exists.
 */
export async function createModules(options: {
  config: Config;
  database: Database;
  /** The catalog versions stored, the newest in force. */
  live: LiveCatalog;
  /** Business time outside production; undefined in production. */
  testClock: TestClock | undefined;
  clock: Clock;
  logger: Logger;
  overrides: AppOverrides;
  /** Whether the database is distributed (Citus): then every statement names one tenant. */
  distributed: boolean;
}): Promise<Modules> {
  const { config, database, live, clock, logger, overrides, distributed } = options;
  const catalog = live.catalog;
  const shared = { config, database, catalog, clock, logger };
  let entitlements: EntitlementsModule | undefined;
  let prices: PricesModule | undefined;
  let features: FeaturesModule | undefined;
  const limitsChanged = (tenantId: string) => entitlements?.plans.invalidate(tenantId);
  const audit = createAuditModule({ knex: database.knex });
  const auth = await createAuthModule({ ...shared, audit: audit.store });
  const events = createEventsModule({ ...shared, distributed });
  const readUsage: UsageReader = (tenantId, start, types) => {
    if (entitlements === undefined) throw new Error("entitlements are not wired yet");
    return entitlements.readUsage(tenantId, start, types);
  };
  const readPrices: PriceReader = (tenantId, at) => {
    if (prices === undefined) throw new Error("prices are not wired yet");
    return prices.lookups.inForceAt(tenantId, at);
  };
  const billing = createBillingModule({
    ...shared,
    audit: audit.store,
    events: events.log,
    readUsage,
    readPrices,
    onSubscriptionChanged: limitsChanged,
    termsChanged: async (trx, tenantId) => {
      if (features === undefined) throw new Error("features are not wired yet");
      await features.announcer.refresh(trx, tenantId);
    },
    wrapProvider: overrides.wrapBillingProvider,
  });
  const credits = createCreditsModule({
    ...shared,
    lease: billing.lease,
    audit: audit.store,
    billingStore: billing.store,
    onLimitsChanged: limitsChanged,
    events: events.log,
  });
  prices = createPricesModule({
    ...shared,
    lease: billing.lease,
    audit: audit.store,
    billingStore: billing.store,
    onTermsChanged: limitsChanged,
    currencyOf: async (tenantId) => {
      const live = await billing.service.liveSubscription(tenantId);
      return (
        (live && catalog.planVersion(live.planId, live.planVersion)?.currency) ??
        catalog.defaultPlan.currency
      );
    },
    liveSubscription: (tenantId) => billing.service.liveSubscription(tenantId),
    providerPricing: billing.provider.pricing,
  });
  entitlements = createEntitlementsModule({
    ...shared,
    billing: billing.service,
    credits,
    prices,
    events: events.log,
    distributed,
  });
  const entitlementsModule = entitlements;
  features = createFeaturesModule({
    ...shared,
    lease: billing.lease,
    audit: audit.store,
    events: events.log,
    billingStore: billing.store,
    planOf: (tenantId) => entitlementsModule.plans.resolve(tenantId),
    onTermsChanged: limitsChanged,
  });
  const usage = createUsageModule({
    ...shared,
    plans: entitlements.plans,
    gate: auth.gate,
    wrapStore: overrides.wrapUsageStore,
  });
  const corrections = createCorrectionsModule({
    ...shared,
    lease: billing.lease,
    audit: audit.store,
    events: events.log,
    plans: entitlements.plans,
  });
  const metering = createMeteringModule({ ...shared, provider: billing.provider });
  const webhooks = createWebhooksModule({ ...shared, events });
  // A pushed catalog may change any tenant's limits: this replica's cached ones go.
  live.onChange(() => entitlementsModule.plans.clear());
  const plans = createPlansModule({ ...shared, live, billing, readUsage, readPrices });
  const domains: Module[] = [
    audit,
    auth,
    events,
    billing,
    credits,
    prices,
    entitlements,
    features,
    usage,
    corrections,
    metering,
    webhooks,
    plans,
  ];
  const testClock = createTestClockModule({
    ...shared,
    clock: options.testClock,
    audit: audit.store,
    jobs: () => domains.flatMap((m) => m.timeJobs ?? []),
  });
  return {
    auth,
    all: [...domains, testClock],
  };
}
