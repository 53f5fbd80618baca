import type { Knex } from "knex";
import { LIVE_STATES, type SubscriptionState } from "../catalog/lifecycle.js";
import type { EventLog } from "../events/log.js";
import type { RequestFingerprint } from "../platform/crypto/request-fingerprint.js";
import { isUniqueViolation } from "../platform/db/database.js";
import { notifyAfterCommit } from "../platform/db/notify.js";
import { AlreadyExistsError, FailedPreconditionError } from "../platform/errors/domain-error.js";
import { newestFirst } from "../platform/pagination/keyset.js";
import type { Cursor } from "../platform/pagination/page-token.js";
import type { Customer, Subscription } from "./billing.js";
import type { CustomerRow, SubscriptionRow } from "./rows.js";

/** A subscription with the row version that guards concurrent time-based updates. */
export type StoredSubscription = Subscription & { version: number };

/** The first outcome of a `request_id`, replayed to every retry. */
export interface StoredRequest extends RequestFingerprint {
  response: unknown;
}

/**
 * Queries over customers, subscriptions, request records and tenant leases. It maps rows to
 * domain objects and constraint violations to domain errors; it makes no business decisions.
 */
export interface BillingStore {
  transaction<T>(work: (trx: Knex.Transaction) => Promise<T>): Promise<T>;
  findCustomerByTenant(tenantId: string): Promise<Customer | undefined>;
  findCustomer(id: string): Promise<Customer | undefined>;
  /** Fails with AlreadyExists when the tenant already has a customer. */
  insertCustomer(trx: Knex.Transaction, customer: Customer): Promise<void>;
  /**
   * A subscription by id: within `tenantId` when the caller knows it (a routed lookup), else
   * on every shard (admin calls that name only the id).
   */
  findSubscription(id: string, tenantId?: string): Promise<StoredSubscription | undefined>;
  findLiveSubscription(tenantId: string): Promise<StoredSubscription | undefined>;
  listSubscriptions(tenantId: string, limit: number, after?: Cursor): Promise<StoredSubscription[]>;
  /** Live subscriptions whose current period ended at or before `now`. */
  listDueSubscriptions(now: Date, limit: number): Promise<StoredSubscription[]>;
  /** The earliest end of a live subscription's period: when the sweep next has work. */
  nextPeriodEnd(): Promise<Date | undefined>;
  /** The earliest end of a trial after `after`: its notice falls due three days before. */
  nextTrialEnd(after: Date): Promise<Date | undefined>;
  /** Subscriptions whose provider prices a migration has yet to move, oldest first. */
  listProviderPending(limit: number): Promise<StoredSubscription[]>;
  /** Live subscriptions on one version of a plan, by id after `afterId`: a read over every tenant. */
  listOnPlanVersion(
    planId: string,
    version: number,
    afterId: string,
    limit: number,
  ): Promise<StoredSubscription[]>;
  /**
   * Trials ending in (`now`, `until`] not yet announced: a read over every tenant, each then
   * announced by {@link announceTrialEnd} in a transaction of its tenant alone.
   */
  listEndingTrials(now: Date, until: Date, limit: number): Promise<StoredSubscription[]>;
  /** Writes `subscription.trial_will_end` once per subscription and trial end. */
  announceTrialEnd(subscription: StoredSubscription): Promise<boolean>;
  /**
   * Fails with FailedPrecondition when the tenant already has a live subscription. Writes
   * `subscription.created` in the same transaction.
   */
  insertSubscription(trx: Knex.Transaction, subscription: Subscription): Promise<void>;
  /**
   * Overwrites a subscription and bumps its version. With `expectedVersion`, writes only if
   * the row is still at that version and says whether it did (optimistic concurrency). Writes
   * the lifecycle event the change is (canceled, past due, updated; none when nothing but the
   * version changed) in the same transaction, and re-arms the tenant's counters' watch levels,
   * since their allowances may have changed.
   */
  saveSubscription(
    trx: Knex.Transaction,
    subscription: Subscription,
    expectedVersion?: number,
  ): Promise<boolean>;
  /**
   * Tells every replica, once `trx` commits, that a tenant's subscription changed, so their
   * plan caches drop it (nothing is sent if it rolls back).
   */
  notifySubscriptionChanged(trx: Knex.Transaction, tenantId: string): Promise<void>;
  findRequest(tenantId: string, requestId: string): Promise<StoredRequest | undefined>;
  insertRequest(
    trx: Knex.Transaction,
    tenantId: string,
    requestId: string,
    request: StoredRequest,
    createTime: Date,
  ): Promise<void>;
  /** Records a Stripe event id as processed; false when it already was (a redelivery). */
  claimStripeEvent(id: string, type: string, createTime: Date): Promise<boolean>;
  /** Forgets a claimed event whose processing failed, so Stripe's retry is processed. */
  releaseStripeEvent(id: string): Promise<void>;
  /** Takes the tenant's lease unless another holder's lease is unexpired; says if it did. */
  tryAcquireLease(tenantId: string, holder: string, ttlMs: number): Promise<boolean>;
  /** Extends a lease its holder still has by `ttlMs` from now; false when it was lost. */
  renewLease(tenantId: string, holder: string, ttlMs: number): Promise<boolean>;
  releaseLease(tenantId: string, holder: string): Promise<void>;
  /**
   * Customers whose tenant or customer id starts with `search`, or whose email or name contains
   * it, ignoring case (all of them when empty), newest first.
   */
  searchCustomers(search: string, limit: number, after?: Cursor): Promise<Customer[]>;
  /** The latest subscription of each of the given customers that has one. */
  latestSubscriptions(
    customers: readonly Pick<Customer, "id" | "tenantId">[],
  ): Promise<StoredSubscription[]>;
  /** Customers by current plan (`free` without a live subscription) and latest state. */
  countCustomers(): Promise<CustomerCount[]>;
}

/** How many customers are on one plan with their latest subscription in one state. */
export interface CustomerCount {
  planId: string;
  /** Undefined for customers that never subscribed. */
  state: Subscription["state"] | undefined;
  count: number;
}

/** The NOTIFY channel on which subscription changes are announced, with the tenant id. */
export const SUBSCRIPTION_CHANNEL = "tollgate_subscription_changed";

/**
 * Creates the billing store over the given connection; `events` records lifecycle events, and
 * `termsChanged` runs inside every transaction that announces a change of a tenant's terms
 * (the features domain announces what the tenant is now entitled to).
 */
export function createBillingStore(
  knex: Knex,
  events: EventLog,
  termsChanged?: (trx: Knex.Transaction, tenantId: string) => Promise<void>,
): BillingStore {
  // The lifecycle event of a change from `before` (undefined: created), as the subscription
  // stands in `trx` after it, like Stripe's `customer.subscription.*`.
  const recordChange = async (
    trx: Knex.Transaction,
    subscription: Subscription,
    before: Record<string, unknown> | undefined,
  ) => {
    const key = { tenant_id: subscription.tenantId, id: subscription.id };
    const after = await rowAsJson(trx, key);
    const type = after && changeType(before, after);
    if (after === undefined || type === undefined) return;
    const { version: _v, proration_behavior: _p, ...data } = withoutBookkeeping(after);
    // Counters first, then the event: every transaction takes a tenant's counters before its
    // event head, as admission batches do, so none waits for the other in a cycle.
    await trx("usage_counters")
      .where({ tenant_id: subscription.tenantId })
      .whereRaw("watch_from is distinct from 0")
      .update({ watch_from: "0" });
    await events.emit(trx, { tenantId: subscription.tenantId, type, data });
  };
  return {
    transaction: (work) => knex.transaction(work),

    async findCustomerByTenant(tenantId) {
      const row = await knex("customers").where({ tenant_id: tenantId }).first();
      return row && fromDbCustomer(row);
    },
    async findCustomer(id) {
      const row = await knex("customers").where({ id }).first();
      return row && fromDbCustomer(row);
    },
    async insertCustomer(trx, customer) {
      try {
        await trx("customers").insert(toDbCustomer(customer));
      } catch (error) {
        if (isUniqueViolation(error, "customers_tenant_id_key")) {
          throw new AlreadyExistsError(`tenant ${customer.tenantId} already has a customer`);
        }
        throw error;
      }
    },

    async findSubscription(id, tenantId) {
      const query = knex("subscriptions").where({ id });
      if (tenantId !== undefined) query.where({ tenant_id: tenantId });
      const row = await query.first();
      return row && fromDbSubscription(row);
    },
    async findLiveSubscription(tenantId) {
      const row = await knex("subscriptions")
        .where({ tenant_id: tenantId })
        .whereIn("state", LIVE_STATES)
        .first();
      return row && fromDbSubscription(row);
    },
    async listSubscriptions(tenantId, limit, after) {
      const query = newestFirst(knex("subscriptions"), limit, after).where({ tenant_id: tenantId });
      return (await query).map(fromDbSubscription);
    },
    async listDueSubscriptions(now, limit) {
      const rows = await knex("subscriptions")
        .whereIn("state", LIVE_STATES)
        .where("current_period_end_time", "<=", now)
        .orderBy("current_period_end_time")
        .limit(limit);
      return rows.map(fromDbSubscription);
    },
    async nextPeriodEnd() {
      const row = await knex("subscriptions")
        .whereIn("state", LIVE_STATES)
        .min<{ at: Date | null }>("current_period_end_time as at")
        .first();
      return row?.at ?? undefined;
    },
    async nextTrialEnd(after) {
      const row = await knex("subscriptions")
        .where({ state: "trialing" })
        .where("trial_end_time", ">", after)
        .min<{ at: Date | null }>("trial_end_time as at")
        .first();
      return row?.at ?? undefined;
    },
    async listProviderPending(limit) {
      const rows = await knex("subscriptions")
        .whereNotNull("provider_plan_version")
        .orderBy("current_period_start_time")
        .limit(limit);
      return rows.map(fromDbSubscription);
    },
    async listOnPlanVersion(planId, version, afterId, limit) {
      const rows = await knex("subscriptions")
        .whereIn("state", LIVE_STATES)
        .where({ plan_id: planId, plan_version: version })
        .where("id", ">", afterId)
        .orderBy("id")
        .limit(limit);
      return rows.map(fromDbSubscription);
    },
    async listEndingTrials(now, until, limit) {
      const rows = await knex("subscriptions")
        .where({ state: "trialing" })
        .where("trial_end_time", ">", now)
        .where("trial_end_time", "<=", until)
        .whereNotExists((q) =>
          q
            .from("events as e")
            .whereRaw("e.tenant_id = subscriptions.tenant_id")
            .whereRaw(`e.dedupe_key = ${TRIAL_KEY}`),
        )
        .orderBy("trial_end_time")
        .limit(limit);
      return rows.map(fromDbSubscription);
    },
    async announceTrialEnd(subscription) {
      return knex.transaction(async (trx) => {
        const key = { tenant_id: subscription.tenantId, id: subscription.id };
        const row = await rowAsJson(trx, key);
        if (row === undefined) return false;
        const { version: _v, proration_behavior: _p, ...data } = withoutBookkeeping(row);
        const trialEnd = subscription.trialEndTime?.getTime() ?? 0;
        const id = await events.emit(trx, {
          tenantId: subscription.tenantId,
          type: "subscription.trial_will_end",
          data,
          // Whole seconds rounded, as TRIAL_KEY's cast to bigint rounds them.
          dedupeKey: `subscription.trial_will_end/${subscription.id}/${Math.round(trialEnd / 1000)}`,
        });
        return id !== undefined;
      });
    },
    async insertSubscription(trx, subscription) {
      try {
        await trx("subscriptions").insert(toDbSubscription(subscription));
        await recordChange(trx, subscription, undefined);
      } catch (error) {
        if (isUniqueViolation(error, "subscriptions_one_live_per_tenant")) {
          throw new FailedPreconditionError(
            `tenant ${subscription.tenantId} already has a live subscription`,
          );
        }
        throw error;
      }
    },
    async saveSubscription(trx, subscription, expectedVersion) {
      const key = { tenant_id: subscription.tenantId, id: subscription.id };
      // The key columns are never written: one of them places the row on its shard.
      const { tenant_id: _t, id: _i, ...columns } = toDbSubscription(subscription);
      try {
        const before = await rowAsJson(trx, key, true);
        if (expectedVersion !== undefined && before?.version !== expectedVersion) return false;
        const saved = await trx("subscriptions")
          .where(key)
          .update({ ...columns, version: trx.raw("version + 1") });
        if (saved !== 1) return false;
        await recordChange(trx, subscription, before);
        return true;
      } catch (error) {
        if (isUniqueViolation(error, "subscriptions_one_live_per_tenant")) {
          throw new FailedPreconditionError(
            `tenant ${subscription.tenantId} already has a live subscription`,
          );
        }
        throw error;
      }
    },

    async notifySubscriptionChanged(trx, tenantId) {
      await termsChanged?.(trx, tenantId);
      notifyAfterCommit(knex, trx, SUBSCRIPTION_CHANNEL, tenantId);
    },
    async findRequest(tenantId, requestId) {
      const row = await knex("billing_requests")
        .where({ tenant_id: tenantId, request_id: requestId })
        .first();
      return (
        row && { operation: row.operation, fingerprint: row.fingerprint, response: row.response }
      );
    },
    async insertRequest(trx, tenantId, requestId, request, createTime) {
      await trx("billing_requests").insert({
        tenant_id: tenantId,
        request_id: requestId,
        operation: request.operation,
        fingerprint: request.fingerprint,
        response: JSON.stringify(request.response),
        create_time: createTime,
      });
    },

    async claimStripeEvent(id, type, createTime) {
      const rows = await knex("stripe_events")
        .insert({ id, type, create_time: createTime })
        .onConflict("id")
        .ignore()
        .returning("id");
      return rows.length === 1;
    },
    async releaseStripeEvent(id) {
      await knex("stripe_events").where({ id }).delete();
    },

    async tryAcquireLease(tenantId, holder, ttlMs) {
      // Lease expiry is infrastructure time, so it uses the database's clock, on which every
      // replica agrees, and never the business clock that tests move: `now()`, the statement's
      // start, which a distributed database reads once on the coordinator (it refuses a
      // volatile clock in a change). The held lease has expired when the proposed one ends
      // more than a ttl after it: the conflict clause compares with the proposed row
      // (`excluded`), since there even `now()` is refused.
      const result = await knex.raw<{ rows: { holder: string }[] }>(
        `insert into billing_leases (tenant_id, holder, expire_time)
         values (?, ?, now() + ? * interval '1 millisecond')
         on conflict (tenant_id) do update
           set holder = excluded.holder, expire_time = excluded.expire_time
           where extract(epoch from excluded.expire_time - billing_leases.expire_time) * 1000
             > ?
         returning holder`,
        [tenantId, holder, ttlMs, ttlMs],
      );
      return result.rows.length === 1;
    },
    async renewLease(tenantId, holder, ttlMs) {
      const renewed = await knex("billing_leases")
        .where({ tenant_id: tenantId, holder })
        .update({
          expire_time: knex.raw("now() + ? * interval '1 millisecond'", [ttlMs]),
        });
      return renewed === 1;
    },
    async releaseLease(tenantId, holder) {
      await knex("billing_leases").where({ tenant_id: tenantId, holder }).delete();
    },
    async searchCustomers(search, limit, after) {
      const query = newestFirst(knex("customers"), limit, after);
      if (search !== "") {
        const escaped = search.replace(/[\\%_]/g, (c) => `\\${c}`);
        query.where((w) =>
          w
            .whereRaw("tenant_id::text ilike ?", [`${escaped}%`])
            .orWhere("id", "ilike", `${escaped}%`)
            .orWhere("email", "ilike", `%${escaped}%`)
            .orWhere("name", "ilike", `%${escaped}%`),
        );
      }
      return (await query).map(fromDbCustomer);
    },
    async latestSubscriptions(customers) {
      if (customers.length === 0) return [];
      const rows = await knex("subscriptions")
        .distinctOn("tenant_id", "customer_id")
        .whereIn(
          ["tenant_id", "customer_id"],
          customers.map((c) => [c.tenantId, c.id]),
        )
        .orderBy([
          { column: "tenant_id" },
          { column: "customer_id" },
          { column: "create_time", order: "desc" },
          { column: "id", order: "desc" },
        ]);
      return rows.map(fromDbSubscription);
    },
    async countCustomers() {
      const { rows } = await knex.raw<{
        rows: { plan_id: string; state: SubscriptionState | null; count: number }[];
      }>(
        `select case when s.state in (${LIVE_STATES.map(() => "?").join(", ")})
                then s.plan_id else 'free' end as plan_id,
                s.state, count(*)::int as count
           from customers c
           left join lateral (
             select plan_id, state from subscriptions
              where tenant_id = c.tenant_id and customer_id = c.id
              order by create_time desc, id desc limit 1) s on true
          group by 1, 2 order by 1, 2`,
        [...LIVE_STATES],
      );
      return rows.map((row) => ({
        planId: row.plan_id,
        state: row.state ?? undefined,
        count: row.count,
      }));
    },
  };
}

// The dedupe key of a subscription's trial notice, as SQL over `subscriptions`.
const TRIAL_KEY = `'subscription.trial_will_end/' || subscriptions.id || '/'
  || extract(epoch from subscriptions.trial_end_time)::bigint`;

/** A subscription row as JSON, as its events carry it; with `lock`, locked until commit. */
async function rowAsJson(
  trx: Knex.Transaction,
  key: { tenant_id: string; id: string },
  lock = false,
): Promise<Record<string, unknown> | undefined> {
  const result = await trx.raw<{ rows: { row: Record<string, unknown> }[] }>(
    `select to_jsonb(s) as row from subscriptions s where s.tenant_id = ? and s.id = ?${
      lock ? " for update" : ""
    }`,
    [key.tenant_id, key.id],
  );
  return result.rows[0]?.row;
}

/**
 * A subscription row without the provider move still to make: bookkeeping, not a change of
 * the subscription, so it is neither announced nor compared.
 */
function withoutBookkeeping(row: Record<string, unknown>): Record<string, unknown> {
  const { provider_plan_version: _v, migration_proration_behavior: _p, ...rest } = row;
  return rest;
}

/** Which lifecycle event a change is; undefined when only the version changed. */
function changeType(
  before: Record<string, unknown> | undefined,
  after: Record<string, unknown>,
): string | undefined {
  if (before === undefined) return "subscription.created";
  if (before.state !== after.state && after.state === "canceled") return "subscription.canceled";
  if (before.state !== after.state && after.state === "past_due") return "subscription.past_due";
  const { version: _b, ...was } = withoutBookkeeping(before);
  const { version: _a, ...is } = withoutBookkeeping(after);
  return JSON.stringify(was) === JSON.stringify(is) ? undefined : "subscription.updated";
}

function toDbCustomer(customer: Customer) {
  return {
    id: customer.id,
    tenant_id: customer.tenantId,
    email: customer.email,
    name: customer.name,
    metadata: JSON.stringify(customer.metadata),
    create_time: customer.createTime,
  };
}

function fromDbCustomer(row: CustomerRow): Customer {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    email: row.email,
    name: row.name,
    metadata: row.metadata,
    createTime: row.create_time,
  };
}

function toDbSubscription(subscription: Subscription) {
  return {
    id: subscription.id,
    tenant_id: subscription.tenantId,
    customer_id: subscription.customerId,
    plan_id: subscription.planId,
    plan_version: subscription.planVersion,
    price_id: subscription.priceId,
    state: subscription.state,
    trial_end_time: subscription.trialEndTime ?? null,
    current_period_start_time: subscription.currentPeriodStartTime,
    current_period_end_time: subscription.currentPeriodEndTime,
    billing_cycle_anchor_time: subscription.billingCycleAnchorTime,
    cancel_at_period_end: subscription.cancelAtPeriodEnd,
    cancel_time: subscription.cancelTime ?? null,
    proration_behavior: subscription.prorationBehavior ?? null,
    create_time: subscription.createTime,
    scheduled_plan_version: subscription.scheduledMigration?.version ?? null,
    scheduled_migration_time: subscription.scheduledMigration?.time ?? null,
    migration_proration_behavior:
      subscription.scheduledMigration?.prorationBehavior ??
      subscription.providerMove?.prorationBehavior ??
      null,
    provider_plan_version: subscription.providerMove?.version ?? null,
  };
}

function fromDbSubscription(row: SubscriptionRow): StoredSubscription {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    customerId: row.customer_id,
    planId: row.plan_id,
    planVersion: row.plan_version,
    priceId: row.price_id,
    state: row.state,
    trialEndTime: row.trial_end_time ?? undefined,
    currentPeriodStartTime: row.current_period_start_time,
    currentPeriodEndTime: row.current_period_end_time,
    billingCycleAnchorTime: row.billing_cycle_anchor_time,
    cancelAtPeriodEnd: row.cancel_at_period_end,
    cancelTime: row.cancel_time ?? undefined,
    prorationBehavior: row.proration_behavior ?? undefined,
    createTime: row.create_time,
    scheduledMigration:
      row.scheduled_plan_version === null || row.scheduled_migration_time === null
        ? undefined
        : {
            version: row.scheduled_plan_version,
            time: row.scheduled_migration_time,
            prorationBehavior: row.migration_proration_behavior ?? "none",
          },
    providerMove:
      row.provider_plan_version === null
        ? undefined
        : {
            version: row.provider_plan_version,
            prorationBehavior: row.migration_proration_behavior ?? "none",
          },
    version: row.version,
  };
}
