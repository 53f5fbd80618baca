import type { Knex } from "knex";
import type { PlanCatalog } from "../catalog/catalog.js";
import { addInterval, advanceSubscription } from "../catalog/lifecycle.js";
import { pricingMoment } from "../catalog/pricing.js";
import type { Clock } from "../platform/clock/clock.js";
import { BASE62, randomString } from "../platform/crypto/random-string.js";
import { priceInvoice } from "./invoice.js";
import {
  type BillingProvider,
  BillingProviderError,
  type PriceReader,
  type ProviderSubscription,
  type UsageReader,
} from "./provider.js";
import { reviveSubscription } from "./snapshot.js";

const DAY_MS = 86_400_000;

/** A plan change within the current period, as the mock keeps it with the subscription. */
interface PlanChange {
  /** ISO 8601: the stored JSON is revived field by field, and this one stays a string. */
  at: string;
  fromPriceId: string;
}

/**
 * The built-in provider for development and tests. It behaves like Stripe where Tollgate can
 * observe it — `cus_`/`sub_` ids, trials that end at the first period boundary, anchored
 * monthly periods, cancel now or at period end, errors for unknown objects and for changing a
 * canceled subscription, idempotency keys that replay the first response — so tests written
 * against it stay true on Stripe. Its objects live in its own tables, like a remote system
 * that every replica shares, and it reads time from the injected clock. It prices invoice
 * previews from the catalog and Tollgate's own counters (`readUsage`), and keeps meter events
 * as Stripe does: once per identifier.
 */
export function createMockBillingProvider(
  knex: Knex,
  clock: Clock,
  catalog: PlanCatalog,
  readUsage: UsageReader,
  readPrices: PriceReader,
): BillingProvider {
  const intervalOf = (priceId: string) => {
    const plan = catalog.planByPriceId(priceId);
    if (plan === undefined) throw new BillingProviderError(`No such price: '${priceId}'`, false);
    return plan.interval;
  };

  const subscriptionRow = (id: string) =>
    knex("mock_billing_objects").where({ id, kind: "subscription" }).first();

  const load = async (id: string): Promise<ProviderSubscription> => {
    const row = await subscriptionRow(id);
    if (row === undefined) throw new BillingProviderError(`No such subscription: '${id}'`, false);
    const stored = reviveSubscription<ProviderSubscription>(row.data);
    const current = advanceSubscription(stored, intervalOf(stored.priceId), clock.now());
    if (current !== stored) await save(current);
    return current;
  };

  const save = async (subscription: ProviderSubscription) => {
    await knex("mock_billing_objects")
      .insert({ id: subscription.id, kind: "subscription", data: JSON.stringify(subscription) })
      .onConflict("id")
      .merge(["data"]);
  };

  // Replays the stored response of a key already used, as Stripe does for 24 hours.
  const idempotent = async <T>(key: string, work: () => Promise<T>, revive: (v: unknown) => T) => {
    const seen = await knex("mock_billing_requests").where({ idempotency_key: key }).first();
    if (seen !== undefined) return revive(seen.response);
    const result = await work();
    await knex("mock_billing_requests")
      .insert({ idempotency_key: key, response: JSON.stringify(result) })
      .onConflict("idempotency_key")
      .ignore();
    return result;
  };

  const mutate = (key: string, work: () => Promise<ProviderSubscription>) =>
    idempotent(key, work, (value) => reviveSubscription<ProviderSubscription>(value));

  return {
    name: "mock",
    createCustomer: (input) =>
      idempotent(
        input.idempotencyKey,
        async () => {
          const id = `cus_${randomString(BASE62, 14)}`;
          const data = { email: input.email, name: input.name, tenant_id: input.tenantId };
          await knex("mock_billing_objects").insert({ id, kind: "customer", data });
          return { id };
        },
        (value) => value as { id: string },
      ),

    createSubscription: (input) =>
      mutate(input.idempotencyKey, async () => {
        const customer = await knex("mock_billing_objects")
          .where({ id: input.customerId, kind: "customer" })
          .first();
        if (customer === undefined) {
          throw new BillingProviderError(`No such customer: '${input.customerId}'`, false);
        }
        const interval = intervalOf(input.priceId);
        const now = clock.now();
        const trialEnd =
          input.trialDays > 0 ? new Date(now.getTime() + input.trialDays * DAY_MS) : undefined;
        const subscription: ProviderSubscription = {
          id: `sub_${randomString(BASE62, 24)}`,
          customerId: input.customerId,
          priceId: input.priceId,
          state: trialEnd === undefined ? "active" : "trialing",
          trialEndTime: trialEnd,
          currentPeriodStartTime: now,
          currentPeriodEndTime: trialEnd ?? addInterval(now, interval, 1),
          billingCycleAnchorTime: trialEnd ?? now,
          cancelAtPeriodEnd: false,
          cancelTime: undefined,
          createTime: now,
          prorationBehavior: undefined,
        };
        await save(subscription);
        return subscription;
      }),

    updateSubscription: (input) =>
      mutate(input.idempotencyKey, async () => {
        const current = await load(input.subscriptionId);
        assertNotCanceled(current);
        const interval = intervalOf(input.priceId);
        const now = clock.now();
        // A change of interval restarts the billing cycle now, unless a trial is running.
        const restart = interval !== intervalOf(current.priceId) && current.state !== "trialing";
        // Within a period, the change is kept so the preview can say how it prices the usage.
        const planChange: PlanChange | undefined =
          restart || input.priceId === current.priceId
            ? undefined
            : { at: now.toISOString(), fromPriceId: current.priceId };
        const updated: ProviderSubscription & { planChange?: PlanChange } = {
          ...current,
          ...(planChange && { planChange }),
          priceId: input.priceId,
          prorationBehavior: input.prorationBehavior,
          ...(restart && {
            currentPeriodStartTime: now,
            currentPeriodEndTime: addInterval(now, interval, 1),
            billingCycleAnchorTime: now,
            cancelTime: current.cancelAtPeriodEnd ? addInterval(now, interval, 1) : undefined,
          }),
        };
        await save(updated);
        return updated;
      }),

    cancelSubscription: (input) =>
      mutate(input.idempotencyKey, async () => {
        const current = await load(input.subscriptionId);
        assertNotCanceled(current);
        const updated: ProviderSubscription = input.immediate
          ? { ...current, state: "canceled", cancelAtPeriodEnd: false, cancelTime: clock.now() }
          : { ...current, cancelAtPeriodEnd: true, cancelTime: current.currentPeriodEndTime };
        await save(updated);
        return updated;
      }),

    retrieveSubscription: (id) => load(id),

    async previewInvoice(subscription) {
      const plan = catalog.planVersion(subscription.planId, subscription.planVersion);
      if (plan === undefined) {
        throw new BillingProviderError(
          `No such plan: '${subscription.planId}' version ${subscription.planVersion}`,
          false,
        );
      }
      const resources = [...plan.limitsByCounter]
        .filter(([, l]) => l.overage || l.dimensionLimits.some((d) => d.overage))
        .map(([counter]) => counter);
      const [usage, prices, row] = await Promise.all([
        readUsage(subscription.tenantId, subscription.currentPeriodStartTime, resources),
        // The price in force at the period's end prices the whole period.
        readPrices(subscription.tenantId, pricingMoment(subscription.currentPeriodEndTime)),
        subscriptionRow(subscription.id),
      ]);
      const change = (row?.data as { planChange?: PlanChange } | undefined)?.planChange;
      const at = change && new Date(change.at);
      const fromPlan = change && catalog.planByPriceId(change.fromPriceId);
      const planChange =
        at && fromPlan && at >= subscription.currentPeriodStartTime
          ? { time: at, fromPlanName: fromPlan.displayName }
          : undefined;
      return priceInvoice({ subscription, plan, usage, prices, planChange });
    },

    meterBatchSize: 500,
    async reportMeterEvents(events) {
      const now = clock.now();
      await knex("mock_meter_events")
        .insert(
          events.map((event) => ({
            identifier: event.identifier,
            customer_id: event.customerId,
            event_name: event.eventName,
            value: event.value.toFixed(),
            event_time: event.timestamp,
            create_time: now,
          })),
        )
        .onConflict("identifier")
        .ignore();
    },
  };
}

function assertNotCanceled(subscription: ProviderSubscription): void {
  if (subscription.state === "canceled") {
    throw new BillingProviderError(
      `subscription ${subscription.id} is canceled and cannot be changed`,
      false,
    );
  }
}
