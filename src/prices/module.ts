import type { AuditStore } from "../audit/store.js";
import { createAuditedChanges } from "../billing/audited-change.js";
import type { Subscription } from "../billing/billing.js";
import type { MutationLease } from "../billing/mutation-lease.js";
import type { ProviderPricing } from "../billing/provider.js";
import type { BillingStore } from "../billing/store.js";
import type { PlanCatalog } from "../catalog/catalog.js";
import type { Clock } from "../platform/clock/clock.js";
import type { Config } from "../platform/config/config.js";
import type { Database } from "../platform/db/database.js";
import type { Logger } from "../platform/observability/logger.js";
import type { BackgroundTask, Module } from "../platform/server/module.js";
import { startPeriodicTask } from "../platform/tasks/periodic.js";
import { createPriceRpc } from "./rpc.js";
import { createPriceService } from "./service.js";
import { createPriceStore, type PriceStore } from "./store.js";
import { createPriceSync } from "./sync.js";

/** Negotiated prices: what a tenant pays in place of its plan's prices. */
export interface PricesModule extends Module {
  /** On the lookup pool, for plan lookups and previews. */
  lookups: PriceStore;
}

/** Creates the prices domain; its changes run under billing's per-tenant lease. */
export function createPricesModule(deps: {
  config: Config;
  database: Database;
  logger: Logger;
  lease: MutationLease;
  audit: AuditStore;
  catalog: PlanCatalog;
  clock: Clock;
  /** Announces a change of terms to every replica, as a subscription change does. */
  billingStore: BillingStore;
  /** Drops this replica's cached terms of a tenant. */
  onTermsChanged: (tenantId: string) => void;
  /** The currency of the plan a tenant is on now. */
  currencyOf(tenantId: string): Promise<string>;
  /** The tenant's live subscription, for the provider sync. */
  liveSubscription(tenantId: string): Promise<Subscription | undefined>;
  /** The provider's prices, when it keeps them (Stripe); then negotiated prices go there. */
  providerPricing: ProviderPricing | undefined;
}): PricesModule {
  const { database, clock } = deps;
  const store = createPriceStore(database.knex);
  const service = createPriceService({
    store,
    change: createAuditedChanges({
      knex: database.knex,
      lease: deps.lease,
      audit: deps.audit,
      clock,
      announce: (trx, tenantId) => deps.billingStore.notifySubscriptionChanged(trx, tenantId),
      invalidate: deps.onTermsChanged,
    }),
    catalog: deps.catalog,
    clock,
    currencyOf: deps.currencyOf,
  });
  const tasks: BackgroundTask[] = [];
  if (deps.providerPricing) {
    tasks.push(
      startPeriodicTask({
        name: "negotiated-price-sync",
        intervalMs: deps.config.billingSweepIntervalSeconds * 1000,
        batch: 100,
        work: createPriceSync({
          knex: database.knex,
          store,
          pricing: deps.providerPricing,
          catalog: deps.catalog,
          clock,
          logger: deps.logger,
          liveSubscription: deps.liveSubscription,
        }),
        logger: deps.logger,
      }),
    );
  }
  return {
    name: "prices",
    lookups: createPriceStore(database.lookups),
    rpc: [createPriceRpc(service)],
    tasks,
  };
}
