import { createHash } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { Decimal } from "decimal.js";
import type { Knex } from "knex";
import { type BillingProvider, BillingProviderError } from "../billing/provider.js";
import type { PlanCatalog } from "../catalog/catalog.js";
import { counterName } from "../catalog/meters.js";
import { unitsBeyond } from "../catalog/overage.js";
import type { Clock } from "../platform/clock/clock.js";
import { groupByTenant } from "../platform/db/tenants.js";
import type { Logger } from "../platform/observability/logger.js";
import type { MeterCandidate, MeterReport, MeterStore, NewMeterReport } from "./store.js";

const DAY_MS = 86_400_000;
/** Stripe takes event timestamps up to 35 days old; a day of margin for delays in between. */
const TIMESTAMP_HORIZON_MS = 34 * DAY_MS;
/**
 * Stripe dedupes an identifier for at least 24 hours. A delta first tried longer ago than this
 * and still unconfirmed is not re-sent blindly (it could count twice); it is flagged instead.
 */
const RESEND_WINDOW_MS = 20 * 3_600_000;
const MAX_BACKOFF_MS = 10 * 60_000;

/** Reports usage to the billing provider's meters, exactly once per delta. */
export interface MeterService {
  /** Plans new deltas and sends up to `limit` due ones; returns how many were handled. */
  run(limit: number): Promise<number>;
  /** Totals since start (sent, retried, failed) and the outbox now (pending, lag_seconds). */
  stats(): Record<string, number>;
}

/** What the meter sync is built from. */
export interface MeterServiceDeps {
  store: MeterStore;
  provider: BillingProvider;
  catalog: PlanCatalog;
  clock: Clock;
  logger: Logger;
  /** The sync interval; retries back off from it (one interval, then doubling). */
  intervalMs: number;
  /** Most provider calls per second from this replica. */
  callsPerSecond: number;
  /**
   * The database is embedded: one process owns it (no replica can compete for a delta) and it
   * has a single connection, which a transaction held over the sends would take from the mock
   * provider. Sending then locks nothing.
   */
  embedded: boolean;
}

/**
 * Creates the meter sync. Each run has two steps, each safe on any number of replicas:
 *
 * 1. Plan: for every counter of a metered resource billed by a subscription, the whole units
 *    beyond what was already handed out become one delta (negative after a correction lowered
 *    the counter: Stripe's meters take negative values at any age, where a meter event
 *    adjustment could only cancel a whole event within 24 hours of sending it), written with its identifier and value
 *    to the outbox in the transaction that advances the counter's position (locked with `skip
 *    locked`, so one replica plans each counter). While the period is open only whole units are
 *    reported (Stripe's meters take no fractions); once it has ended, the last delta rounds the
 *    total half-up.
 * 2. Send: due deltas are locked (`for update skip locked`) in a transaction held open while
 *    they are sent, so each is in flight on one replica only; a crash drops the lock and
 *    another run re-sends the same identifier with the same value, which the provider dedupes.
 *    Calls are paced, and a failure backs off (that delta, and this replica's sending) before
 *    the next try; a refusal that no retry can fix marks the delta failed.
 */
export function createMeterService(deps: MeterServiceDeps): MeterService {
  const { store, provider, catalog, clock, logger } = deps;
  const totals = { sent: 0, retried: 0, failed: 0 };
  let outbox = { pending: 0, lagSeconds: 0 };
  let pausedUntil = 0;
  let nextCallAt = 0;

  // The plan version a counter is billed on, as its subscription says.
  const limitOf = (key: MeterCandidate) =>
    catalog.planVersion(key.planId, key.planVersion)?.limitsByCounter.get(key.resourceType);

  // What a total reports leaves out the units its priced dimension limits bill beyond their
  // own allowances (their own meters report those), so the provider bills no unit twice: the
  // total's meter bills the rest of the resource's overage, as the invoice preview does.
  const billedApart = (key: MeterCandidate, parts: ReadonlyMap<string, Decimal>) => {
    const limit = limitOf(key);
    let units = new Decimal(0);
    for (const d of limit?.dimensionLimits ?? []) {
      if (!d.overage?.meter) continue;
      const used = parts.get(counterName(d.resourceType, d.dimensions)) ?? new Decimal(0);
      units = units.plus(unitsBeyond(d, used));
    }
    return units;
  };
  // Every counter some version of some plan meters: the catalog may change while running.
  const meteredResources = () => [
    ...new Set(
      catalog.allVersions.flatMap((plan) =>
        [...plan.limitsByCounter].flatMap(([counter, limit]) =>
          limit.overage?.meter ? [counter] : [],
        ),
      ),
    ),
  ];

  const pace = async () => {
    const wait = nextCallAt - Date.now();
    nextCallAt = Math.max(Date.now(), nextCallAt) + 1000 / deps.callsPerSecond;
    if (wait > 0) await sleep(wait);
  };

  const backoffMs = (attempts: number) => {
    const base = Math.min(MAX_BACKOFF_MS, deps.intervalMs * 2 ** Math.max(0, attempts - 1));
    return base * (0.8 + Math.random() * 0.4);
  };

  // A delta's identifier is derived from its counter and its number among the counter's
  // deltas, so a retry re-sends the same one and no two deltas share one (a correction can
  // bring a position back to a value it had before).
  const deltaOf = (
    key: MeterCandidate,
    reported: Decimal,
    reports: number,
    used: Decimal,
    now: Date,
  ): NewMeterReport | undefined => {
    const eventName = limitOf(key)?.overage?.meter?.eventName;
    if (eventName === undefined) return undefined;
    const ended = key.periodEnd.getTime() <= now.getTime();
    const total = ended ? used.toDecimalPlaces(0, Decimal.ROUND_HALF_UP) : used.floor();
    const value = total.minus(reported);
    if (value.isZero()) return undefined;
    const last = Math.min(now.getTime(), key.periodEnd.getTime() - 1000);
    return {
      identifier: `tg_${createHash("sha256")
        .update(`${key.tenantId}/${key.resourceType}/${key.periodStart.toISOString()}/#${reports}`)
        .digest("hex")
        .slice(0, 40)}`,
      tenantId: key.tenantId,
      resourceType: key.resourceType,
      periodStart: key.periodStart,
      customerId: key.customerId,
      eventName,
      value,
      timestamp: new Date(Math.max(last, key.periodStart.getTime())),
      reportedTotal: total,
    };
  };

  const plan = async (limit: number) => {
    const metered = meteredResources();
    if (metered.length === 0) return 0;
    const now = clock.now();
    const candidates = await store.candidates(
      metered,
      new Date(now.getTime() - TIMESTAMP_HORIZON_MS),
      limit,
    );
    if (candidates.length === 0) return 0;
    // Candidates come in tenant order; each tenant's positions are locked by a statement of
    // their own, in that order.
    return store.transaction(async (trx) => {
      const deltas: NewMeterReport[] = [];
      for (const [tenantId, own] of groupByTenant(candidates)) {
        for (const { key, reported, reports, used, parts } of await store.lockPositions(
          trx,
          tenantId,
          own,
        )) {
          const delta = deltaOf(key, reported, reports, used.minus(billedApart(key, parts)), now);
          if (delta) deltas.push(delta);
        }
      }
      await store.insertReports(trx, deltas, now);
      return deltas.length;
    });
  };

  // Sends locked deltas in provider-sized chunks; stops at the first retryable failure.
  const sendLocked = async (db: Knex, due: MeterReport[]) => {
    let handled = 0;
    for (let i = 0; i < due.length; i += provider.meterBatchSize) {
      const chunk = due.slice(i, i + provider.meterBatchSize);
      const ids = chunk.map((report) => report.identifier);
      await pace();
      try {
        await provider.reportMeterEvents(chunk);
        await store.markSent(db, chunk, clock.now());
        totals.sent += chunk.length;
        handled += chunk.length;
      } catch (error) {
        const retryable = !(error instanceof BillingProviderError) || error.retryable;
        const message = (error as Error).message;
        const attempts = Math.max(...chunk.map((r) => r.attempts)) + 1;
        const delay = backoffMs(attempts);
        await store.markFailed(
          db,
          chunk,
          clock.now(),
          message,
          retryable ? new Date(clock.now().getTime() + delay) : undefined,
        );
        if (!retryable) {
          totals.failed += chunk.length;
          logger.error(
            { err: error, identifiers: ids },
            "meter events refused by the billing provider; marked failed, usage not billed",
          );
          handled += chunk.length;
          continue;
        }
        totals.retried += chunk.length;
        pausedUntil = Date.now() + delay;
        logger.warn(
          { err: error, identifiers: ids, attempts, retryInMs: Math.round(delay) },
          "meter events not delivered; backing off",
        );
        break;
      }
    }
    return handled;
  };

  const send = async (limit: number) => {
    if (Date.now() < pausedUntil) return 0;
    const run = deps.embedded ? store.direct : store.transaction;
    return run(async (db: Knex) => {
      const now = clock.now();
      const due = await store.lockDue(db, now, limit);
      const stale = due.filter(
        (r) =>
          r.firstAttemptTime && now.getTime() - r.firstAttemptTime.getTime() > RESEND_WINDOW_MS,
      );
      if (stale.length > 0) {
        const ids = stale.map((r) => r.identifier);
        await store.markFailed(
          db,
          stale,
          now,
          "unconfirmed after 20 hours: the provider may hold it, so it is not re-sent; reconcile by hand",
          undefined,
        );
        totals.failed += stale.length;
        logger.error({ identifiers: ids }, "meter events unconfirmed for 20 hours; marked failed");
      }
      return (
        stale.length +
        (await sendLocked(
          db,
          due.filter((r) => !stale.includes(r)),
        ))
      );
    });
  };

  return {
    async run(limit) {
      const planned = await plan(limit);
      const sent = await send(limit);
      const { count, oldest } = await store.pending();
      outbox = {
        pending: count,
        lagSeconds: oldest ? Math.max(0, (clock.now().getTime() - oldest.getTime()) / 1000) : 0,
      };
      return Math.max(planned, sent);
    },
    stats: () => ({ ...totals, pending: outbox.pending, lag_seconds: outbox.lagSeconds }),
  };
}
