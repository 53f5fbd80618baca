import type { Knex } from "knex";
import type Stripe from "stripe";
import type { AuditStore } from "../audit/store.js";
import type { PlanCatalog } from "../catalog/catalog.js";
import type { EventLog } from "../events/log.js";
import type { Clock } from "../platform/clock/clock.js";
import type { Config } from "../platform/config/config.js";
import type { Database } from "../platform/db/database.js";
import type { Logger } from "../platform/observability/logger.js";
import type { Module } from "../platform/server/module.js";
import { startTimeJob, type TimeJob } from "../platform/tasks/periodic.js";
import { createCustomerDirectory } from "./directory.js";
import { createMinimumTrueUps } from "./minimums.js";
import { createMockBillingProvider } from "./mock-provider.js";
import { createMutationLease, type MutationLease } from "./mutation-lease.js";
import { withPreviewCache } from "./preview-cache.js";
import type { BillingProvider, PriceReader, UsageReader } from "./provider.js";
import { createBillingRpc } from "./rpc.js";
import { type BillingService, createBillingService } from "./service.js";
import { type BillingStore, createBillingStore } from "./store.js";
import { createStripeBillingProvider, createStripeClient } from "./stripe-provider.js";
import { createStripeWebhookEndpoint } from "./stripe-webhooks.js";

/** What the billing domain needs. */
export interface BillingModuleDeps {
  config: Config;
  database: Database;
  audit: AuditStore;
  /** Where subscription lifecycle events are written, in the transaction of each change. */
  events: EventLog;
  catalog: PlanCatalog;
  clock: Clock;
  logger: Logger;
  /** Usage beyond grants per resource, which the mock provider prices invoice previews from. */
  readUsage: UsageReader;
  /** A tenant's negotiated prices, which replace the plan's in the mock provider's previews. */
  readPrices: PriceReader;
  /** Told after every subscription change this replica makes, so limits follow at once. */
  onSubscriptionChanged: (tenantId: string) => void;
  /** Runs inside every transaction that changes a tenant's terms (announces entitlements). */
  termsChanged: (trx: Knex.Transaction, tenantId: string) => Promise<void>;
  /** Wraps the configured provider (tests inject failures). */
  wrapProvider?: (provider: BillingProvider) => BillingProvider;
}

/** Customers, subscriptions and invoices, with the provider behind them. */
export interface BillingModule extends Module {
  service: BillingService;
  store: BillingStore;
  /** One lease per tenant, shared with credit changes. */
  lease: MutationLease;
  provider: BillingProvider;
}

/**
 * Creates the billing domain: picks the provider (Stripe or the mock), serves the Stripe
 * webhook endpoint, sweeps due trial ends, rollovers and scheduled cancellations, and announces
 * trials about to end.
 */
export function createBillingModule(deps: BillingModuleDeps): BillingModule {
  const { config, database, catalog, clock, logger } = deps;
  const stripe = createStripe(config);
  // Stripe's previews are cached briefly: they spend the account's own rate limit.
  const configured = stripe
    ? withPreviewCache(
        createStripeBillingProvider(stripe, catalog, {
          stream: config.stripeMeterStream,
          readPrices: deps.readPrices,
        }),
        config.invoicePreviewCacheSeconds * 1000,
      )
    : createMockBillingProvider(database.knex, clock, catalog, deps.readUsage, deps.readPrices);
  const provider = deps.wrapProvider?.(configured) ?? configured;
  const store = createBillingStore(database.knex, deps.events, deps.termsChanged);
  const lookups = createBillingStore(database.lookups, deps.events, deps.termsChanged);
  const lease = createMutationLease(store, clock, logger, {
    leaseTtlMs: config.billingLeaseSeconds * 1000,
  });
  const service = createBillingService({
    store,
    audit: deps.audit,
    provider,
    catalog,
    clock,
    lease,
    lookupStore: lookups,
    onSubscriptionChanged: deps.onSubscriptionChanged,
  });
  // Each runs on every replica at its interval, and at each due moment the test clock passes.
  // The sweep applies due trial ends, rollovers, scheduled cancellations and migrations even
  // for tenants nobody reads, each a versioned update; the provider migrations move the
  // provider's prices of subscriptions migrated at a period boundary.
  const timeJobs: TimeJob[] = [
    {
      name: "subscription-sweep",
      nextDue: () => service.nextTransition(),
      run: (limit) => service.advanceDue(limit),
    },
    {
      name: "provider-migrations",
      nextDue: async () => undefined,
      run: (limit) => service.moveProviderPrices(limit),
    },
    {
      name: "trial-will-end",
      nextDue: () => service.nextTrialNotice(),
      run: (limit) => service.announceTrialEnds(limit),
    },
  ];
  const tasks = timeJobs.map((job) =>
    startTimeJob(job, {
      intervalMs: config.billingSweepIntervalSeconds * 1000,
      batch: 100,
      logger,
    }),
  );
  const webhook = createStripeWebhookEndpoint(
    stripe && {
      stripe,
      secret: config.stripeWebhookSecret ?? "",
      billing: service,
      store,
      logger,
      addMinimum: configured.pricing
        ? createMinimumTrueUps({
            knex: database.knex,
            store,
            catalog,
            clock,
            readUsage: deps.readUsage,
            readPrices: deps.readPrices,
            pricing: configured.pricing,
          })
        : async () => "not priced by the provider",
    },
  );
  return {
    name: "billing",
    service,
    store,
    lease,
    provider,
    rpc: [createBillingRpc(service, createCustomerDirectory(lookups))],
    http: [webhook],
    tasks,
    timeJobs,
  };
}

function createStripe(config: Config): Stripe | undefined {
  if (config.billingProvider !== "stripe") return undefined;
  return createStripeClient({
    secretKey: config.stripeSecretKey ?? "",
    apiUrl: config.stripeApiUrl,
  });
}
