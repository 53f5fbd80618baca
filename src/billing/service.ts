import type { AuditStore } from "../audit/store.js";
import { mayAccessTenant } from "../auth/policy.js";
import type { Plan, PlanCatalog } from "../catalog/catalog.js";
import { advanceSubscription, LIVE_STATES } from "../catalog/lifecycle.js";
import type { Actor } from "../platform/calls/actor.js";
import type { Clock } from "../platform/clock/clock.js";
import {
  AlreadyExistsError,
  FailedPreconditionError,
  NotFoundError,
} from "../platform/errors/domain-error.js";
import { fetchPage, type Page } from "../platform/pagination/page-token.js";
import { validateTenantId } from "../platform/validation/field-rules.js";
import type {
  CancelSubscriptionInput,
  CreateCustomerInput,
  CreateSubscriptionInput,
  Customer,
  Subscription,
  UpdateSubscriptionInput,
} from "./billing.js";
import {
  validateCancelSubscription,
  validateCreateCustomer,
  validateCreateSubscription,
  validateSubscriptionId,
  validateSubscriptionPage,
  validateUpdateSubscription,
} from "./inputs.js";
import type { Invoice } from "./invoice.js";
import type { MutationLease } from "./mutation-lease.js";
import type { BillingProvider, ProviderSubscription } from "./provider.js";
import { reviveCustomer, reviveSubscription, snapshot } from "./snapshot.js";
import type { BillingStore, StoredSubscription } from "./store.js";

/** The billing rules: customers, plans and the subscription lifecycle of each tenant. */
export interface BillingService {
  createCustomer(actor: Actor, input: CreateCustomerInput): Promise<Customer>;
  getCustomer(tenantId: string): Promise<Customer>;
  listPlans(): readonly Plan[];
  createSubscription(actor: Actor, input: CreateSubscriptionInput): Promise<Subscription>;
  updateSubscription(
    actor: Actor,
    input: Omit<UpdateSubscriptionInput, "prorationBehavior"> & { prorationBehavior: string },
  ): Promise<Subscription>;
  cancelSubscription(actor: Actor, input: CancelSubscriptionInput): Promise<Subscription>;
  getSubscription(actor: Actor, subscriptionId: string): Promise<Subscription>;
  listSubscriptions(
    tenantId: string,
    pageSize: number,
    pageToken: string,
  ): Promise<Page<Subscription>>;
  /** What the tenant's live subscription will be charged for its current period. */
  getUpcomingInvoice(tenantId: string): Promise<Invoice>;
  /** The tenant's live subscription brought up to date, if any: what entitlements read. */
  liveSubscription(tenantId: string): Promise<Subscription | undefined>;
  /** Applies due time-based transitions to up to `limit` subscriptions; returns how many. */
  advanceDue(limit: number): Promise<number>;
  /**
   * Announces `subscription.trial_will_end` for trials ending within three days (Stripe's
   * notice), once per subscription and trial end, each in a transaction of its own tenant;
   * returns how many it announced.
   */
  announceTrialEnds(limit: number): Promise<number>;
  /**
   * Makes the stored subscription match the provider's current one (after a webhook): fetched
   * fresh under the tenant's lease, so events arriving out of order still leave the newest
   * state. Returns what happened, for the log.
   */
  syncSubscription(
    actor: Actor,
    subscriptionId: string,
    customerId: string,
  ): Promise<"applied" | "unknown customer" | "unknown price" | "conflict">;
}

/** What the billing service is built from. */
export interface BillingServiceDeps {
  store: BillingStore;
  audit: AuditStore;
  provider: BillingProvider;
  catalog: PlanCatalog;
  clock: Clock;
  lease: MutationLease;
  /**
   * The store over the lookup pool, for `liveSubscription`: plan lookups must not queue behind
   * the transactions of the main pool. Defaults to `store`.
   */
  lookupStore?: BillingStore;
  /** Called after every committed subscription change, for this replica's caches. */
  onSubscriptionChanged?: (tenantId: string) => void;
}

const SYSTEM: Actor = { id: "system", tenantId: undefined };

/** Stripe's notice before a trial ends, which `subscription.trial_will_end` mirrors. */
const TRIAL_NOTICE_MS = 3 * 86_400_000;

/**
 * Creates the billing service. Mutations run under the mutation lease (once per request id,
 * one at a time per tenant), call the provider, then store the provider's answer together with
 * an audit row and the request record in one transaction. Reads apply due time-based
 * transitions first, so no caller ever sees a trial that should have ended.
 */
export function createBillingService(deps: BillingServiceDeps): BillingService {
  const { store, audit, provider, catalog, clock, lease } = deps;
  const lookups = deps.lookupStore ?? store;
  const changed = (tenantId: string) => deps.onSubscriptionChanged?.(tenantId);

  const planForPrice = (priceId: string, field: string): Plan => {
    const plan = catalog.planByPriceId(priceId);
    if (plan === undefined)
      throw new NotFoundError(`${field} ${priceId} is not in the plan catalog`);
    return plan;
  };

  const fromProvider = (sub: ProviderSubscription, tenantId: string): Subscription => ({
    ...sub,
    tenantId,
    planId: planForPrice(sub.priceId, "price").id,
  });

  // Applies due transitions and stores them; when another replica got there first, re-reads.
  // `via` is the store to use: plan lookups pass the lookup pool's.
  const refresh = async (
    stored: StoredSubscription,
    via: BillingStore = store,
  ): Promise<Subscription> => {
    const interval = catalog.planById(stored.planId)?.interval ?? "month";
    const next = advanceSubscription(stored, interval, clock.now());
    if (next === stored) return withoutVersion(stored);
    const saved = await via.transaction(async (trx) => {
      if (!(await via.saveSubscription(trx, next, stored.version))) return false;
      await audit.insert(trx, auditRow(SYSTEM, "subscription.advance", next, "", stored));
      await via.notifySubscriptionChanged(trx, next.tenantId);
      return true;
    });
    if (saved) {
      changed(next.tenantId);
      return withoutVersion(next);
    }
    const reloaded = await via.findSubscription(stored.id, stored.tenantId);
    if (reloaded === undefined) throw new NotFoundError(`subscription ${stored.id} not found`);
    return refresh(reloaded, via);
  };

  // A subscription the caller may not see is answered exactly as one that does not exist,
  // and before anything is done to it, so ids of other tenants cannot be probed.
  // A tenant key names its tenant, so its lookups go to that tenant's shard alone.
  const loadSubscription = async (subscriptionId: string, actor?: Actor, tenantId?: string) => {
    const stored = await store.findSubscription(subscriptionId, tenantId ?? actor?.tenantId);
    if (stored === undefined || (actor !== undefined && !mayAccessTenant(actor, stored.tenantId))) {
      throw new NotFoundError(`subscription ${subscriptionId} not found`);
    }
    return refresh(stored);
  };

  const auditRow = (
    actor: Actor,
    action: string,
    after: Subscription | Customer,
    requestId: string,
    before?: Subscription,
  ) => ({
    actor: actor.id,
    action,
    tenantId: after.tenantId,
    target: after.id,
    requestId,
    createTime: clock.now(),
    before: before && snapshot(withoutVersion(before)),
    after: snapshot(after),
  });

  // Changes a live subscription at the provider, once per request id and under the tenant's
  // lease, then stores the provider's new state with its audit row.
  const changeSubscription = async (
    actor: Actor,
    action: "subscription.update" | "subscription.cancel",
    input: { subscriptionId: string; requestId: string },
    call: (before: Subscription, idempotencyKey: string) => Promise<ProviderSubscription>,
  ): Promise<Subscription> => {
    const initial = await loadSubscription(input.subscriptionId, actor);
    return lease.run({
      tenantId: initial.tenantId,
      requestId: input.requestId,
      operation: action,
      input,
      revive: reviveSubscription,
      work: async (idempotencyKey, remember) => {
        const before = await loadSubscription(input.subscriptionId, actor, initial.tenantId);
        assertChangeable(before);
        const after = fromProvider(await call(before, idempotencyKey), before.tenantId);
        await store.transaction(async (trx) => {
          await store.saveSubscription(trx, after);
          await audit.insert(trx, auditRow(actor, action, after, input.requestId, before));
          await store.notifySubscriptionChanged(trx, after.tenantId);
          await remember(trx, after);
        });
        changed(after.tenantId);
        return after;
      },
    });
  };

  return {
    async createCustomer(actor, raw) {
      const input = validateCreateCustomer(raw);
      return lease.run({
        tenantId: input.tenantId,
        requestId: input.requestId,
        operation: "customer.create",
        input: { ...input, metadata: sortedEntries(input.metadata) },
        revive: reviveCustomer,
        work: async (idempotencyKey, remember) => {
          // Checked before the provider call so a duplicate leaves no orphan customer there;
          // the unique index still decides if a replica without the lease races this.
          if (await store.findCustomerByTenant(input.tenantId)) {
            throw new AlreadyExistsError(`tenant ${input.tenantId} already has a customer`);
          }
          const { id } = await provider.createCustomer({ ...input, idempotencyKey });
          const customer: Customer = { ...input, id, createTime: clock.now() };
          return store.transaction(async (trx) => {
            await store.insertCustomer(trx, customer);
            await audit.insert(trx, auditRow(actor, "customer.create", customer, input.requestId));
            await remember(trx, customer);
            return customer;
          });
        },
      });
    },

    async getCustomer(rawTenantId) {
      const tenantId = validateTenantId(rawTenantId);
      const customer = await store.findCustomerByTenant(tenantId);
      if (customer === undefined) throw new NotFoundError(`tenant ${tenantId} has no customer`);
      return customer;
    },

    listPlans: () => catalog.plans,

    async createSubscription(actor, raw) {
      const input = validateCreateSubscription(raw);
      const customer = await store.findCustomer(input.customerId);
      if (customer === undefined) throw new NotFoundError(`customer ${input.customerId} not found`);
      planForPrice(input.priceId, "price_id");
      return lease.run({
        tenantId: customer.tenantId,
        requestId: input.requestId,
        operation: "subscription.create",
        input,
        revive: reviveSubscription,
        work: async (idempotencyKey, remember) => {
          const live = await store.findLiveSubscription(customer.tenantId);
          if (live && LIVE_STATES.includes((await refresh(live)).state)) {
            throw new FailedPreconditionError(
              `tenant ${customer.tenantId} already has a live subscription (${live.id})`,
            );
          }
          const created = await provider.createSubscription({ ...input, idempotencyKey });
          const subscription = fromProvider(created, customer.tenantId);
          await store.transaction(async (trx) => {
            await store.insertSubscription(trx, subscription);
            await audit.insert(
              trx,
              auditRow(actor, "subscription.create", subscription, input.requestId),
            );
            await store.notifySubscriptionChanged(trx, subscription.tenantId);
            await remember(trx, subscription);
          });
          changed(subscription.tenantId);
          return subscription;
        },
      });
    },

    async updateSubscription(actor, raw) {
      const input = validateUpdateSubscription(raw);
      planForPrice(input.newPriceId, "new_price_id");
      return changeSubscription(actor, "subscription.update", input, (before, idempotencyKey) =>
        provider.updateSubscription({
          subscriptionId: before.id,
          priceId: input.newPriceId,
          prorationBehavior: input.prorationBehavior,
          idempotencyKey,
        }),
      );
    },

    async cancelSubscription(actor, raw) {
      const input = validateCancelSubscription(raw);
      return changeSubscription(actor, "subscription.cancel", input, (before, idempotencyKey) =>
        provider.cancelSubscription({
          subscriptionId: before.id,
          immediate: input.immediate,
          idempotencyKey,
        }),
      );
    },

    async getSubscription(actor, subscriptionId) {
      return loadSubscription(validateSubscriptionId(subscriptionId), actor);
    },

    async listSubscriptions(rawTenantId, pageSize, pageToken) {
      const tenantId = validateSubscriptionPage(rawTenantId, pageSize);
      const page = await fetchPage({
        scope: `subscriptions/${tenantId}`,
        pageSize,
        pageToken,
        fetch: (limit, after) => store.listSubscriptions(tenantId, limit, after),
        cursorOf: (subscription) => ({ time: subscription.createTime, id: subscription.id }),
      });
      return { ...page, items: await Promise.all(page.items.map((item) => refresh(item))) };
    },

    async getUpcomingInvoice(rawTenantId) {
      const tenantId = validateTenantId(rawTenantId);
      const live = await this.liveSubscription(tenantId);
      if (live === undefined) {
        throw new NotFoundError(
          `tenant ${tenantId} has no live subscription, so no invoice is upcoming`,
        );
      }
      return provider.previewInvoice(live);
    },

    async liveSubscription(rawTenantId) {
      const live = await lookups.findLiveSubscription(rawTenantId.toLowerCase());
      if (live === undefined) return undefined;
      const current = await refresh(live, lookups);
      return LIVE_STATES.includes(current.state) ? current : undefined;
    },

    async syncSubscription(actor, subscriptionId, customerId) {
      const stored = await store.findSubscription(subscriptionId);
      const tenantId = stored?.tenantId ?? (await store.findCustomer(customerId))?.tenantId;
      if (tenantId === undefined) return "unknown customer";
      return lease.run({
        tenantId,
        requestId: "",
        operation: "subscription.sync",
        input: subscriptionId,
        revive: (value) => value as "applied",
        work: async () => {
          const fetched = await provider.retrieveSubscription(subscriptionId);
          if (catalog.planByPriceId(fetched.priceId) === undefined) return "unknown price";
          const before = await store.findSubscription(subscriptionId, tenantId);
          const after = {
            ...fromProvider(fetched, tenantId),
            prorationBehavior: fetched.prorationBehavior ?? before?.prorationBehavior,
          };
          try {
            await store.transaction(async (trx) => {
              if (before) await store.saveSubscription(trx, after);
              else await store.insertSubscription(trx, after);
              await audit.insert(
                trx,
                auditRow(actor, "subscription.sync", after, "", before && withoutVersion(before)),
              );
              await store.notifySubscriptionChanged(trx, tenantId);
            });
          } catch (error) {
            // Stripe allows several live subscriptions per customer; Tollgate keeps one.
            if (error instanceof FailedPreconditionError) return "conflict";
            throw error;
          }
          changed(tenantId);
          return "applied";
        },
      });
    },

    async advanceDue(limit) {
      const due = await store.listDueSubscriptions(clock.now(), limit);
      for (const subscription of due) await refresh(subscription);
      return due.length;
    },

    async announceTrialEnds(limit) {
      const now = clock.now();
      const until = new Date(now.getTime() + TRIAL_NOTICE_MS);
      let announced = 0;
      for (const trial of await store.listEndingTrials(now, until, limit)) {
        if (await store.announceTrialEnd(trial)) announced++;
      }
      return announced;
    },
  };
}

function assertChangeable(subscription: Subscription): void {
  if (!LIVE_STATES.includes(subscription.state)) {
    throw new FailedPreconditionError(
      `subscription ${subscription.id} is ${subscription.state} and cannot be changed`,
    );
  }
}

function withoutVersion(stored: Subscription & { version?: number }): Subscription {
  const { version: _version, ...subscription } = stored;
  return subscription;
}

function sortedEntries(record: Record<string, string>): [string, string][] {
  return Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}
