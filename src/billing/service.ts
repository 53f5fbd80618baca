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
  MigrateSubscriptionInput,
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
  /**
   * Moves a live subscription from `fromVersion` of `plan.id` to `plan` (another version), now
   * or at its period end, once per request id: FailedPrecondition when it is on another version.
   */
  migrateSubscription(actor: Actor, input: MigrateSubscriptionInput): Promise<Subscription>;
  /**
   * Moves the provider's prices of up to `limit` subscriptions that a migration at a period
   * boundary put on a new version; returns how many it handled.
   */
  moveProviderPrices(limit: number): Promise<number>;
  /** Applies due time-based transitions to up to `limit` subscriptions; returns how many. */
  advanceDue(limit: number): Promise<number>;
  /** When {@link advanceDue} next has work: the earliest end of a live period. */
  nextTransition(): Promise<Date | undefined>;
  /** When {@link announceTrialEnds} next has work: three days before the next trial end. */
  nextTrialNotice(): Promise<Date | undefined>;
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

  // The plan version a price subscribes to, current or not.
  const planForPrice = (priceId: string, field: string): Plan => {
    const plan = catalog.planByPriceId(priceId);
    if (plan === undefined)
      throw new NotFoundError(`${field} ${priceId} is not in the plan catalog`);
    return plan;
  };

  // New subscriptions and plan changes take a plan's current version only.
  const currentPlanForPrice = (priceId: string, field: string): Plan => {
    const plan = planForPrice(priceId, field);
    const current = catalog.planById(plan.id);
    if (current?.version !== plan.version) {
      throw new FailedPreconditionError(
        `${field} ${priceId} is ${plan.id} version ${plan.version}'s, which is no longer sold${
          current
            ? `; ${plan.id} version ${current.version} is (${current.priceId ?? "no price"})`
            : ""
        }`,
      );
    }
    return plan;
  };

  // The provider's subscription as Tollgate stores it: on the version `stored` is on while the
  // provider still charges that version's price, else on the version the price belongs to.
  const fromProvider = (
    sub: ProviderSubscription,
    tenantId: string,
    stored?: Subscription,
  ): Subscription => {
    const plan = planForPrice(sub.priceId, "price");
    const kept =
      stored !== undefined &&
      stored.planId === plan.id &&
      catalog.planVersion(stored.planId, stored.planVersion)?.priceId === sub.priceId;
    return {
      ...sub,
      tenantId,
      planId: plan.id,
      planVersion: kept ? stored.planVersion : plan.version,
      scheduledMigration: kept ? stored.scheduledMigration : undefined,
      providerMove: kept ? stored.providerMove : undefined,
    };
  };

  // Applies due transitions and stores them; when another replica got there first, re-reads.
  // `via` is the store to use: plan lookups pass the lookup pool's.
  const refresh = async (
    stored: StoredSubscription,
    via: BillingStore = store,
  ): Promise<Subscription> => {
    const interval = catalog.planVersion(stored.planId, stored.planVersion)?.interval ?? "month";
    const now = clock.now();
    const next = migrateIfDue(advanceSubscription(stored, interval, now), now);
    if (next === stored) return withoutVersion(stored);
    const action =
      next.planVersion === stored.planVersion ? "subscription.advance" : "subscription.migrate";
    const saved = await via.transaction(async (trx) => {
      if (!(await via.saveSubscription(trx, next, stored.version))) return false;
      await audit.insert(trx, auditRow(SYSTEM, action, next, "", stored));
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
    action:
      | "subscription.update"
      | "subscription.cancel"
      | "subscription.migrate"
      | "subscription.schedule_migration",
    input: { subscriptionId: string; requestId: string },
    call: (before: Subscription, idempotencyKey: string) => Promise<Subscription>,
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
        const after = await call(before, idempotencyKey);
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
      const plan = currentPlanForPrice(input.priceId, "price_id");
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
          const subscription = {
            ...fromProvider(created, customer.tenantId),
            planVersion: plan.version,
          };
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
      const plan = currentPlanForPrice(input.newPriceId, "new_price_id");
      return changeSubscription(
        actor,
        "subscription.update",
        input,
        async (before, idempotencyKey) => {
          const moved = await provider.updateSubscription({
            subscriptionId: before.id,
            priceId: input.newPriceId,
            plan,
            prorationBehavior: input.prorationBehavior,
            idempotencyKey,
          });
          // A plan change takes the current version, and drops a migration waiting.
          return {
            ...fromProvider(moved, before.tenantId),
            planVersion: plan.version,
            scheduledMigration: undefined,
          };
        },
      );
    },

    async cancelSubscription(actor, raw) {
      const input = validateCancelSubscription(raw);
      return changeSubscription(
        actor,
        "subscription.cancel",
        input,
        async (before, idempotencyKey) =>
          fromProvider(
            await provider.cancelSubscription({
              subscriptionId: before.id,
              immediate: input.immediate,
              idempotencyKey,
            }),
            before.tenantId,
            before,
          ),
      );
    },

    async migrateSubscription(actor, input) {
      // The request's identity, without the plan's terms.
      const request = {
        subscriptionId: input.subscriptionId,
        requestId: input.requestId,
        planId: input.plan.id,
        fromVersion: input.fromVersion,
        toVersion: input.plan.version,
        effective: input.effective,
        prorationBehavior: input.prorationBehavior,
      };
      // Scheduled, the move itself is audited when the period ends, as the system's.
      return changeSubscription(
        actor,
        input.effective === "period_end"
          ? "subscription.schedule_migration"
          : "subscription.migrate",
        request,
        async (before, idempotencyKey) => {
          if (before.planId !== input.plan.id || before.planVersion !== input.fromVersion) {
            throw new FailedPreconditionError(
              `subscription ${before.id} is on ${before.planId} version ${before.planVersion}, not ${input.plan.id} version ${input.fromVersion}`,
            );
          }
          if (input.effective === "period_end") {
            return {
              ...before,
              scheduledMigration: {
                version: input.plan.version,
                time: before.currentPeriodEndTime,
                prorationBehavior: input.prorationBehavior,
              },
            };
          }
          const moved = await provider.updateSubscription({
            subscriptionId: before.id,
            priceId: input.plan.priceId ?? before.priceId,
            plan: input.plan,
            prorationBehavior: input.prorationBehavior,
            idempotencyKey,
          });
          return {
            ...fromProvider(moved, before.tenantId, before),
            planVersion: input.plan.version,
            scheduledMigration: undefined,
            providerMove: undefined,
          };
        },
      );
    },

    async moveProviderPrices(limit) {
      const pending = await store.listProviderPending(limit);
      for (const stored of pending) {
        await lease.run({
          tenantId: stored.tenantId,
          requestId: "",
          operation: "subscription.provider_migrate",
          input: stored.id,
          revive: () => undefined,
          work: async (idempotencyKey) => {
            const current = await store.findSubscription(stored.id, stored.tenantId);
            const move = current?.providerMove;
            if (current === undefined || move === undefined) return;
            // A subscription no longer live, or a version without a price, has nothing to move.
            let after: Subscription = current;
            const plan = catalog.planVersion(current.planId, move.version);
            if (plan?.priceId !== undefined && LIVE_STATES.includes(current.state)) {
              const moved = await provider.updateSubscription({
                subscriptionId: current.id,
                priceId: plan.priceId,
                plan,
                prorationBehavior: move.prorationBehavior,
                idempotencyKey,
              });
              after = {
                ...fromProvider(moved, current.tenantId, current),
                planVersion: move.version,
              };
            }
            await store.transaction((trx) =>
              store.saveSubscription(trx, { ...after, providerMove: undefined }, current.version),
            );
          },
        });
      }
      return pending.length;
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
            ...fromProvider(fetched, tenantId, before),
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

    nextTransition: () => store.nextPeriodEnd(),

    async nextTrialNotice() {
      const end = await store.nextTrialEnd(new Date(clock.now().getTime() + TRIAL_NOTICE_MS));
      return end && new Date(end.getTime() - TRIAL_NOTICE_MS);
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

/**
 * The subscription with a migration waiting for `now` applied: on its new version, with the
 * provider's prices to move; a subscription no longer live drops the migration.
 */
function migrateIfDue<S extends Subscription>(subscription: S, now: Date): S {
  const migration = subscription.scheduledMigration;
  if (migration === undefined || migration.time > now) return subscription;
  if (!LIVE_STATES.includes(subscription.state)) {
    return { ...subscription, scheduledMigration: undefined };
  }
  return {
    ...subscription,
    planVersion: migration.version,
    scheduledMigration: undefined,
    providerMove: { version: migration.version, prorationBehavior: migration.prorationBehavior },
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
