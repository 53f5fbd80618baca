import type { Decimal } from "decimal.js";
import type { Subscription } from "../billing/billing.js";
import { priceInvoice } from "../billing/invoice.js";
import type { PriceReader, UsageReader } from "../billing/provider.js";
import type { BillingService } from "../billing/service.js";
import type { BillingStore } from "../billing/store.js";
import type { Plan, PlanCatalog, PlanLimit } from "../catalog/catalog.js";
import { pricingMoment } from "../catalog/pricing.js";
import { canonicalJson } from "../catalog/versions.js";
import type { Actor } from "../platform/calls/actor.js";
import type { Clock } from "../platform/clock/clock.js";
import { FailedPreconditionError } from "../platform/errors/domain-error.js";
import { decodePageToken, encodePageToken } from "../platform/pagination/page-token.js";
import { type MigrationInput, type RawMigration, validateMigration } from "./inputs.js";

/** One limit that differs between two versions; undefined where a version has none. */
export interface LimitChange {
  counter: string;
  before: PlanLimit | undefined;
  after: PlanLimit | undefined;
}

/** What a migration changes, or would change, for one subscription. */
export interface TenantMigration {
  tenantId: string;
  subscriptionId: string;
  from: Plan;
  to: Plan;
  limitChanges: LimitChange[];
  invoiceBefore: Decimal;
  invoiceAfter: Decimal;
  effectiveTime: Date;
  outcome: "previewed" | "applied" | "scheduled";
}

/** Moving subscriptions between versions of a plan. */
export interface MigrationService {
  migrate(
    actor: Actor,
    raw: RawMigration,
  ): Promise<{ migrations: TenantMigration[]; nextPageToken: string }>;
}

/**
 * Creates the migration service. Each page lists the live subscriptions on the old version by
 * id; each is previewed (both versions price the period's usage so far, as the upcoming invoice
 * would), then, unless a dry run, moved by billing under the tenant's lease with the caller's
 * request id, so a retry or a second replica moves none twice. A subscription that changed
 * meanwhile (canceled, moved by another call) is left out.
 */
export function createMigrationService(deps: {
  catalog: PlanCatalog;
  billing: BillingService;
  store: BillingStore;
  clock: Clock;
  readUsage: UsageReader;
  readPrices: PriceReader;
}): MigrationService {
  const { catalog, billing, clock } = deps;

  const invoiceTotal = async (
    subscription: Subscription,
    plan: Plan,
    usage: ReadonlyMap<string, Decimal>,
  ) => {
    const prices = await deps.readPrices(
      subscription.tenantId,
      pricingMoment(subscription.currentPeriodEndTime),
    );
    return priceInvoice({ subscription, plan, usage, prices }).total;
  };

  const preview = async (subscription: Subscription, input: MigrationInput) => {
    const counters = [
      ...new Set([...input.from.limitsByCounter.keys(), ...input.to.limitsByCounter.keys()]),
    ];
    const usage = await deps.readUsage(
      subscription.tenantId,
      subscription.currentPeriodStartTime,
      counters,
    );
    return {
      limitChanges: limitChanges(input.from, input.to),
      invoiceBefore: await invoiceTotal(subscription, input.from, usage),
      invoiceAfter: await invoiceTotal(subscription, input.to, usage),
    };
  };

  const apply = async (actor: Actor, subscription: Subscription, input: MigrationInput) => {
    try {
      return await billing.migrateSubscription(actor, {
        subscriptionId: subscription.id,
        plan: input.to,
        fromVersion: input.from.version,
        effective: input.effective,
        prorationBehavior: input.prorationBehavior,
        requestId: input.requestId,
      });
    } catch (error) {
      if (error instanceof FailedPreconditionError) return undefined;
      throw error;
    }
  };

  return {
    async migrate(actor, raw) {
      const input = validateMigration(catalog, raw);
      const scope = `migrations/${input.from.id}/${input.from.version}/${input.to.version}`;
      const after = decodePageToken(scope, input.pageToken)?.id ?? "";
      const page = await deps.store.listOnPlanVersion(
        input.from.id,
        input.from.version,
        after,
        input.pageSize + 1,
      );
      const more = page.length > input.pageSize;
      const subscriptions = page.slice(0, input.pageSize);
      const migrations: TenantMigration[] = [];
      for (const subscription of subscriptions) {
        const changes = await preview(subscription, input);
        const base = {
          tenantId: subscription.tenantId,
          subscriptionId: subscription.id,
          from: input.from,
          to: input.to,
          ...changes,
        };
        if (input.dryRun) {
          const effectiveTime =
            input.effective === "immediately" ? clock.now() : subscription.currentPeriodEndTime;
          migrations.push({ ...base, effectiveTime, outcome: "previewed" });
          continue;
        }
        const moved = await apply(actor, subscription, input);
        if (moved === undefined) continue;
        const scheduled = moved.scheduledMigration;
        migrations.push(
          scheduled?.version === input.to.version
            ? { ...base, effectiveTime: scheduled.time, outcome: "scheduled" }
            : { ...base, effectiveTime: clock.now(), outcome: "applied" },
        );
      }
      const last = subscriptions.at(-1);
      return {
        migrations,
        nextPageToken:
          more && last ? encodePageToken(scope, { time: new Date(0), id: last.id }) : "",
      };
    },
  };
}

/** Every counter whose limit differs between two versions of a plan, in `to`'s order. */
export function limitChanges(from: Plan, to: Plan): LimitChange[] {
  const counters = [...new Set([...to.limitsByCounter.keys(), ...from.limitsByCounter.keys()])];
  return counters.flatMap((counter) => {
    const before = from.limitsByCounter.get(counter);
    const after = to.limitsByCounter.get(counter);
    return termsOf(before) === termsOf(after) ? [] : [{ counter, before, after }];
  });
}

// What a limit grants and charges, comparable as text; a total's dimension limits compare apart.
function termsOf(limit: PlanLimit | undefined): string {
  if (limit === undefined) return "";
  const { dimensionLimits: _d, ...own } = limit;
  return canonicalJson(own);
}
