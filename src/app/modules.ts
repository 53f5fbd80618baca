import type Stripe from "stripe";
import type { AppOverrides } from "./app.js";
import type { AuditStore } from "../audit/store.js";
import { isLoopbackHost } from "../auth/access-mode.js";
import type { PlanCatalog } from "../catalog/catalog.js";
import { type CustomerDirectory, createCustomerDirectory } from "../billing/directory.js";
import { createMockBillingProvider } from "../billing/mock-provider.js";
import { createMutationGuard } from "../billing/mutation-lease.js";
import { withPreviewCache } from "../billing/preview-cache.js";
import { type BillingService, createBillingService } from "../billing/service.js";
import { type BillingStore, createBillingStore, SUBSCRIPTION_CHANNEL } from "../billing/store.js";
import { createStripeBillingProvider, createStripeClient } from "../billing/stripe-provider.js";
import type { Clock } from "../platform/clock/clock.js";
import type { Config } from "../platform/config/config.js";
import { type CreditService, createCreditService } from "../credits/service.js";
import { createCreditStore } from "../credits/store.js";
import type { Database } from "../platform/db/database.js";
import { startNotificationListener } from "../platform/db/notification-listener.js";
import { type AdmissionQueue, createAdmissionQueue } from "../entitlements/admissions.js";
import { createPlanCache } from "../entitlements/plan-cache.js";
import { createEntitlementService, type EntitlementService } from "../entitlements/service.js";
import { createEntitlementStore } from "../entitlements/store.js";
import { EVENTS_CHANNEL } from "../events/events.js";
import { createEventService, type EventService } from "../events/service.js";
import { createEventStore } from "../events/store.js";
import { createEventWakeup } from "../events/wakeup.js";
import { createMeterStore } from "../metering/store.js";
import { createMeterSync, type MeterSync } from "../metering/service.js";
import type { Logger } from "../platform/observability/logger.js";
import { startPeriodicTask } from "../platform/tasks/periodic.js";
import { createUsageBatcher, type UsageBatcher } from "../usage/batcher.js";
import { createUsageService, type UsageService } from "../usage/service.js";
import { createUsageStore } from "../usage/store.js";
import type { DestinationPolicy } from "../webhooks/address-guard.js";
import { startWebhookDispatcher, type WebhookDispatcher } from "../webhooks/dispatcher.js";
import { createWebhookService, type WebhookService } from "../webhooks/service.js";
import { createWebhookStore } from "../webhooks/store.js";

/** Stripe's notice before a trial ends, which `subscription.trial_will_end` mirrors. */
const TRIAL_NOTICE_MS = 3 * 86_400_000;

/** The domains wired together, with the background work they run. */
export interface Domains {
  billing: BillingService;
  billingStore: BillingStore;
  /** Customer search and counts for operators, on the lookup pool. */
  directory: CustomerDirectory;
  entitlements: EntitlementService;
  admissions: AdmissionQueue;
  usage: UsageService;
  batcher: UsageBatcher;
  /** The Stripe client when the provider is Stripe, for the webhook endpoint. */
  stripe: Stripe | undefined;
  /** Reports usage to the provider's meters. */
  meterSync: MeterSync;
  credits: CreditService;
  events: EventService;
  webhooks: WebhookService;
  dispatcher: WebhookDispatcher;
  /** Stops sweeps, expiry and the change listener, after the batcher has drained. */
  stop(): Promise<void>;
}

/**
 * Builds billing, entitlements and usage over one database: picks the billing provider, shares
 * the plan cache between entitlements and usage, keeps it in step with subscription changes on
 * every replica, and starts the periodic sweeps.
 */
export function createDomains(options: {
  config: Config;
  database: Database;
  audit: AuditStore;
  catalog: PlanCatalog;
  clock: Clock;
  logger: Logger;
  overrides: AppOverrides;
}): Domains {
  const { config, database, audit, catalog, clock, logger, overrides } = options;
  const stripe =
    config.billingProvider === "stripe"
      ? createStripeClient({
          secretKey: config.stripeSecretKey ?? "",
          apiUrl: config.stripeApiUrl,
        })
      : undefined;
  const entitlementStore = createEntitlementStore(database.knex, database.kind);
  // Stripe's previews are cached briefly: they spend the account's own rate limit.
  const baseProvider = stripe
    ? withPreviewCache(
        createStripeBillingProvider(stripe, catalog, { stream: config.stripeMeterStream }),
        config.invoicePreviewCacheSeconds * 1000,
      )
    : createMockBillingProvider(database.knex, clock, catalog, async (tenantId, start, types) => {
        const counters = await entitlementStore.readMany(
          database.knex,
          tenantId,
          types.map((resourceType) => ({ resourceType, periodStart: start })),
        );
        // Usage drawn from grants is not billed.
        return new Map(
          [...counters].map(([type, counter]) => [type, counter.used.minus(counter.granted)]),
        );
      });
  const provider = overrides.wrapBillingProvider?.(baseProvider) ?? baseProvider;
  const billingStore = createBillingStore(database.knex);
  const lookupBilling = createBillingStore(database.lookups);
  // One lease per tenant for billing mutations and credit changes alike.
  const guard = createMutationGuard(billingStore, clock, logger, {
    leaseTtlMs: config.billingLeaseSeconds * 1000,
  });
  const creditStore = createCreditStore(database.knex);
  const lookupCredits = createCreditStore(database.lookups);
  const plans = createPlanCache({
    liveSubscription: (tenantId) => billing.liveSubscription(tenantId),
    // On the lookup pool, as subscriptions are: plan lookups must not queue behind writes.
    adjustments: (tenantId, now) => lookupCredits.adjustments(tenantId, now),
    catalog,
    clock,
    retryBudgetMs: config.usageFlushFailAfterSeconds * 1000,
  });
  const billing = createBillingService({
    store: billingStore,
    audit,
    provider,
    catalog,
    clock,
    guard,
    lookupStore: lookupBilling,
    onSubscriptionChanged: (tenantId) => plans.invalidate(tenantId),
  });
  const credits = createCreditService({
    knex: database.knex,
    store: creditStore,
    guard,
    audit,
    catalog,
    clock,
    // Grants and overrides change a tenant's limits as a subscription change does.
    announce: (trx, tenantId) => billingStore.notifySubscriptionChanged(trx, tenantId),
    invalidate: (tenantId) => plans.invalidate(tenantId),
  });
  // Other replicas announce their subscription changes with NOTIFY; PGlite has no others.
  const subscriptionChanges =
    config.databaseUrl === undefined
      ? undefined
      : startNotificationListener({
          url: config.databaseUrl,
          channel: SUBSCRIPTION_CHANNEL,
          onNotify: (tenantId) => plans.invalidate(tenantId),
          onGap: () => plans.clear(),
          logger,
        });
  const baseUsageStore = createUsageStore(database.knex, database.kind, {
    pool: database.reports,
    canceller: database.lookups,
    timeoutMs: config.readStatementTimeoutSeconds * 1000,
  });
  const usageStore = overrides.wrapUsageStore?.(baseUsageStore) ?? baseUsageStore;
  const admissions = createAdmissionQueue({
    store: entitlementStore,
    clock,
    // A few batches at once leave the pool's other connections to ingestion and reads; PGlite
    // has a single connection.
    maxInFlight:
      database.kind === "pglite" ? 1 : Math.max(1, Math.min(4, config.databasePoolMax >> 2)),
    maxWaitMs: config.databasePoolWaitSeconds * 1000,
    statementPerTenant: config.admissionStatementPerTenant,
  });
  const entitlements = createEntitlementService({
    knex: database.knex,
    store: entitlementStore,
    admissions,
    plans,
    catalog,
    clock,
    credits: creditStore,
  });
  const batcher = createUsageBatcher({
    store: usageStore,
    clock,
    logger,
    batchSize: config.usageBatchSize,
    flushIntervalMs: config.usageFlushIntervalSeconds * 1000,
    bufferLimit: config.usageBufferLimit,
    bufferLimitBytes: config.usageBufferLimitBytes,
    failAfterMs: config.usageFlushFailAfterSeconds * 1000,
  });
  const usage = createUsageService({ batcher, store: usageStore, plans, catalog, clock });
  const reservationExpiry = startPeriodicTask({
    name: "reservation-expiry",
    intervalMs: 1000,
    batch: 1000,
    work: (limit) => entitlements.expireDue(limit),
    logger,
  });
  // Applies due trial ends, rollovers and scheduled cancellations even for tenants nobody
  // reads; every replica may run it, since each transition is a versioned update.
  const subscriptionSweep = startPeriodicTask({
    name: "subscription-sweep",
    intervalMs: config.billingSweepIntervalSeconds * 1000,
    batch: 100,
    work: (limit) => billing.advanceDue(limit),
    logger,
  });
  const meterSync = createMeterSync({
    store: createMeterStore(database.knex),
    provider,
    catalog,
    clock,
    logger,
    intervalMs: config.meterSyncIntervalSeconds * 1000,
    callsPerSecond: config.meterCallsPerSecond,
    embedded: database.kind === "pglite",
  });
  // Every replica may run it: planning and sending each lock with skip locked.
  const meterTask = startPeriodicTask({
    name: "meter-sync",
    intervalMs: config.meterSyncIntervalSeconds * 1000,
    batch: 500,
    work: (limit) => meterSync.run(limit),
    logger,
  });
  // Counters that ingestion and reservation commits queued: grant draws and thresholds.
  const settleSweep = startPeriodicTask({
    name: "settle-sweep",
    intervalMs: config.settleSweepIntervalSeconds * 1000,
    batch: 500,
    work: (limit) => entitlements.settleQueued(limit),
    logger,
  });
  const eventStore = createEventStore(database.knex);
  const trialNotices = startPeriodicTask({
    name: "trial-will-end",
    intervalMs: config.billingSweepIntervalSeconds * 1000,
    batch: 100,
    work: (limit) => eventStore.announceTrialEnds(clock.now(), TRIAL_NOTICE_MS, limit),
    logger,
  });
  const wakeup = createEventWakeup();
  const eventNotices =
    config.databaseUrl === undefined
      ? undefined
      : startNotificationListener({
          url: config.databaseUrl,
          channel: EVENTS_CHANNEL,
          onNotify: () => wakeup.notify(),
          onGap: () => wakeup.notify(),
          logger,
        });
  // With notifications a poll is only a safety net; PGlite has none, so it polls more often.
  const pollMs = config.databaseUrl === undefined ? 250 : 2_000;
  const events = createEventService({ store: eventStore, wakeup, pollMs });
  // Development relaxes the destination policy only on a server bound to loopback: one that
  // others can reach must not be made to call into its own network.
  const policy: DestinationPolicy = {
    development: config.environment === "development" && isLoopbackHost(config.host),
    allowPrivate: config.webhookAllowPrivateNetworks,
  };
  const webhookStore = createWebhookStore(database.knex);
  const webhooks = createWebhookService({ store: webhookStore, policy });
  const dispatcher = startWebhookDispatcher({
    store: webhookStore,
    wakeup,
    logger,
    scheduleMs: config.webhookRetryScheduleSeconds.map((s) => s * 1000),
    timeoutMs: config.webhookTimeoutSeconds * 1000,
    concurrency: database.kind === "pglite" ? 4 : 16,
    pollMs,
    policy,
  });
  return {
    credits,
    directory: createCustomerDirectory(lookupBilling),
    events,
    webhooks,
    dispatcher,
    billing,
    meterSync,
    billingStore,
    entitlements,
    admissions,
    usage,
    batcher,
    stripe,
    async stop() {
      await batcher.close();
      await subscriptionSweep.stop();
      await meterTask.stop();
      await reservationExpiry.stop();
      await settleSweep.stop();
      await trialNotices.stop();
      await dispatcher.stop();
      await subscriptionChanges?.close();
      await eventNotices?.close();
    },
  };
}
