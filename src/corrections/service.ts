import { Decimal } from "decimal.js";
import type { Knex } from "knex";
import type { AuditStore } from "../audit/store.js";
import type { MutationLease } from "../billing/mutation-lease.js";
import type { PlanCatalog } from "../catalog/catalog.js";
import { ALLOCATION_PERIOD, isPeriodClosed, periodFor } from "../catalog/periods.js";
import type { WireCounterLimits } from "../entitlements/admission-wire.js";
import type { TenantPlan } from "../entitlements/entitlements.js";
import { createLimitRules } from "../entitlements/limits.js";
import type { PlanCache } from "../entitlements/plan-cache.js";
import type { EventLog } from "../events/log.js";
import type { Actor } from "../platform/calls/actor.js";
import type { Clock } from "../platform/clock/clock.js";
import { PermissionDeniedError, ValidationError } from "../platform/errors/domain-error.js";
import { fetchPage, type Page } from "../platform/pagination/page-token.js";
import { countEvents, ROLLUP_BUCKET_MS, statementIn } from "../usage/store.js";
import type { UsageEvent } from "../usage/usage.js";
import {
  PeriodClosedError,
  type RawEventListing,
  type RawReplace,
  type RawVoid,
  type ReplaceResult,
  type StoredEvent,
  type VoidResult,
} from "./corrections.js";
import { validateListing, validateReplace, validateVoid } from "./inputs.js";
import {
  type CorrectionStore,
  type CounterRef,
  type LockedCounter,
  type Recorded,
  refKey,
  type VoidMark,
} from "./store.js";
import { bucketsOf, type Voided, voidedAdmission, voidedEvent } from "./voided.js";

/** Voids and replaces usage, and lists events as stored. */
export interface CorrectionService {
  voidUsage(actor: Actor, raw: RawVoid): Promise<VoidResult>;
  replaceUsage(actor: Actor, raw: RawReplace): Promise<ReplaceResult>;
  listEvents(raw: RawEventListing): Promise<Page<StoredEvent>>;
}

/** What the correction service is built from. */
export interface CorrectionServiceDeps {
  knex: Knex;
  store: CorrectionStore;
  /** Billing's mutation lease: a request id's first answer is replayed; one change per tenant at a time. */
  lease: MutationLease;
  audit: AuditStore;
  events: EventLog;
  plans: PlanCache;
  catalog: PlanCatalog;
  clock: Clock;
  /** `TENANT_SELF_SERVICE_CORRECTIONS`: tenant keys may void their own usage. */
  selfService: boolean;
  /** `PERIOD_GRACE_HOURS`, in milliseconds. */
  graceMs: number;
  /** `USAGE_LATE_WINDOW_HOURS`, in milliseconds. */
  lateWindowMs: number;
}

/** One correction: what it voids and adds, and what its audit row and event say. */
interface Change {
  tenantId: string;
  kind: "void" | "replace";
  requestId: string;
  reason: string;
  /** The live events voided, by id. */
  eventIds: string[];
  /** The admissions voided, by idempotency key. */
  keys: string[];
  voided: Voided[];
  added: UsageEvent[];
  resourceTypes: string[];
  /** The audit row's target. */
  target: string;
  /** The call's answer, audited with it. */
  result: unknown;
}

/** Most ids `usage.corrected` lists of each kind; the counts are always whole. */
const LISTED_IN_EVENT = 1_000;

/**
 * Creates the correction service. A correction runs once per request id, under the tenant's
 * billing lease, in one transaction: it locks the usage it voids, then every counter that usage
 * counted on (in key order, as admissions and flushes lock them), marks the usage voided, and
 * corrects every figure derived from it: sums and counts go down (never below zero), maxima,
 * latest values and unique sets are recomputed from the live usage, the rollups of its quarter
 * hours are rebuilt, grant draws are given back and thresholds resolved; the audit row and the
 * `usage.corrected` event commit with it. The provider's meters follow through the outbox: a
 * counter now below what was reported gets a compensating (negative) delta.
 */
export function createCorrectionService(deps: CorrectionServiceDeps): CorrectionService {
  const { knex, store, lease, audit, events, plans, catalog, clock } = deps;
  const rules = createLimitRules(catalog, () => clock.now());

  const isAllocation = (resourceType: string) =>
    catalog.resourceKinds.get(resourceType) === "allocation";

  // Refuses the whole correction if any period it touches is closed.
  const assertOpen = (tenantPlan: TenantPlan, periods: Iterable<Date>) => {
    const now = clock.now();
    const closed = new Set<string>();
    for (const start of periods) {
      if (start.getTime() === ALLOCATION_PERIOD.getTime()) continue;
      const { end } = periodFor(tenantPlan, start);
      if (isPeriodClosed(end, now, deps.graceMs)) closed.add(start.toISOString());
    }
    if (closed.size > 0) {
      throw new PeriodClosedError(
        `the billing period starting ${[...closed].join(", ")} is closed (PERIOD_GRACE_HOURS after its end passed): its figures are final and cannot be corrected`,
      );
    }
  };

  // The total counters of every period a quarter hour of `resourceType` overlaps: a flush into
  // that quarter hour locks one of them before it writes the quarter hour's rollups.
  const bucketGuards = (tenantPlan: TenantPlan, resourceType: string, buckets: Date[]) =>
    isAllocation(resourceType)
      ? []
      : buckets.flatMap((bucket) =>
          [bucket, new Date(bucket.getTime() + ROLLUP_BUCKET_MS - 1)].map((t) => ({
            counter: resourceType,
            periodStart: periodFor(tenantPlan, t).start,
            aggregation: catalog.meterOf(resourceType).aggregation,
          })),
        );

  // The limits of every counter the voided usage counted on, once each, in key order.
  const limitsOf = (tenantPlan: TenantPlan, voided: Voided[]): WireCounterLimits[] => {
    const limits = new Map<string, WireCounterLimits>();
    for (const item of voided) {
      for (const counter of item.counters) {
        const info = rules.limitInfoOf(tenantPlan, rules.limitOf(tenantPlan, counter).limit);
        limits.set(refKey({ counter, periodStart: item.periodStart }), {
          resourceType: counter,
          periodStart: item.periodStart,
          allowance: info?.allowance,
          allocation: info?.allocation ?? false,
          thresholds: info?.thresholds ?? [],
          planId: info?.planId ?? tenantPlan.plan.id,
        });
      }
    }
    return [...limits.values()].sort((a, b) =>
      a.resourceType === b.resourceType
        ? a.periodStart.getTime() - b.periodStart.getTime()
        : a.resourceType < b.resourceType
          ? -1
          : 1,
    );
  };

  // Sums and counts go down by what the voided usage added; a max or latest is recomputed
  // where the voided usage could be what it holds; a member leaves where nothing live names it.
  const takeBack = async (
    trx: Knex.Transaction,
    tenantId: string,
    voided: Voided[],
    locked: Map<string, LockedCounter>,
  ) => {
    const lowered = new Map<string, { ref: CounterRef; amount: Decimal }>();
    const recount = new Map<string, CounterRef>();
    const members = new Map<string, { ref: CounterRef; member: string }[]>();
    for (const item of voided) {
      for (const counter of item.counters) {
        const ref = { counter, periodStart: item.periodStart, aggregation: item.aggregation };
        const key = refKey(ref);
        const current = locked.get(key);
        switch (item.aggregation) {
          case "max":
            if (current && item.quantity.gte(current.used)) recount.set(key, ref);
            break;
          case "latest":
            if (current && (current.latestKey ?? "") === item.key) recount.set(key, ref);
            break;
          case "unique_count": {
            if (item.member === undefined) break;
            const own = members.get(item.resourceType) ?? [];
            own.push({ ref, member: item.member });
            members.set(item.resourceType, own);
            break;
          }
          default: {
            const sum = lowered.get(key) ?? { ref, amount: new Decimal(0) };
            sum.amount = sum.amount.plus(item.quantity);
            lowered.set(key, sum);
          }
        }
      }
    }
    await store.lower(
      trx,
      tenantId,
      [...lowered.values()].map((l) => ({ ref: l.ref, amount: l.amount.toFixed() })),
    );
    for (const ref of recount.values()) await store.recount(trx, tenantId, ref);
    for (const [resourceType, own] of members) {
      const uniqueKey = catalog.meterOf(resourceType).uniqueKey ?? "";
      await store.forgetMembers(trx, tenantId, uniqueKey, own);
    }
  };

  /**
   * Applies one correction in `trx`: voids `change.voided` (the events `eventIds` and the
   * admissions `keys`) and stores `change.added` (new events, their periods given),
   * correcting every derived figure, then writes its audit row and `usage.corrected` event.
   */
  const correct = async (
    trx: Knex.Transaction,
    actor: Actor,
    tenantPlan: TenantPlan,
    change: Change,
  ) => {
    const { tenantId, voided, added } = change;
    const now = clock.now();
    const mark: VoidMark = {
      time: now,
      reason: change.reason,
      by: actor.id,
      requestId: change.requestId,
    };
    const refs = new Map<string, CounterRef>();
    const touch = (ref: CounterRef) => refs.set(refKey(ref), ref);
    for (const item of voided) {
      for (const counter of item.counters) {
        touch({ counter, periodStart: item.periodStart, aggregation: item.aggregation });
      }
    }
    const touched = bucketsOf(catalog, [...voided, ...added]);
    for (const { resourceType, buckets } of touched) {
      for (const guard of bucketGuards(tenantPlan, resourceType, buckets)) touch(guard);
    }
    const locked = await store.lockCounters(trx, tenantId, [...refs.values()]);
    await store.markVoided(trx, tenantId, change.eventIds, change.keys, mark);

    await takeBack(trx, tenantId, voided, locked);

    await store.insertEvents(trx, added);
    await countEvents(statementIn(trx), added);
    for (const { resourceType, buckets } of touched) {
      await store.rebuildRollups(
        trx,
        tenantId,
        resourceType,
        buckets,
        catalog.meterOf(resourceType).dimensions,
      );
    }

    // Grant draws given back and thresholds resolved, on every counter the voided usage
    // counted on.
    if ((await store.unsettle(trx, tenantId, limitsOf(tenantPlan, voided), now)) > 0) {
      events.announceAfterCommit(trx);
    }
    await audit.insert(trx, {
      actor: actor.id,
      action: `usage.${change.kind}`,
      tenantId: change.tenantId,
      target: change.target,
      requestId: change.requestId,
      createTime: now,
      before: undefined,
      after: {
        reason: change.reason,
        event_ids: change.eventIds.slice(0, LISTED_IN_EVENT),
        idempotency_keys: change.keys.slice(0, LISTED_IN_EVENT),
        result: change.result,
      },
    });
    await events.emit(trx, {
      tenantId: change.tenantId,
      type: "usage.corrected",
      data: {
        tenant_id: change.tenantId,
        kind: change.kind,
        request_id: change.requestId,
        reason: change.reason,
        actor: actor.id,
        event_ids: change.eventIds.slice(0, LISTED_IN_EVENT),
        idempotency_keys: change.keys.slice(0, LISTED_IN_EVENT),
        voided_count: change.eventIds.length + change.keys.length,
        accepted_count: added.length,
        resource_types: change.resourceTypes,
      },
      dedupeKey: change.requestId === "" ? undefined : `usage.corrected/${change.requestId}`,
    });
  };

  return {
    async voidUsage(actor, raw) {
      if (actor.tenantId !== undefined && !deps.selfService) {
        throw new PermissionDeniedError(
          "a tenant key may void usage only when the server runs with TENANT_SELF_SERVICE_CORRECTIONS=true; ask an admin",
        );
      }
      const input = validateVoid(raw);
      const { tenantId } = input;
      const tenantPlan = await plans.resolve(tenantId);
      return lease.run<VoidResult>({
        tenantId,
        requestId: input.requestId,
        operation: "usage.void",
        input: { ...input, requestId: undefined },
        revive: (stored) => stored as VoidResult,
        work: (_providerKey, remember) =>
          knex.transaction(async (trx) => {
            const found = await store.lockEvents(trx, tenantId, input.eventIds);
            const admissions = await store.lockAdmissions(trx, tenantId, input.idempotencyKeys);
            const liveEvents = found.filter((e) => e.void_time === null);
            const liveAdmissions = admissions.filter(
              (a) =>
                a.void_time === null &&
                a.response?.template?.recorded !== undefined &&
                a.response.decision?.admitted !== false,
            );
            const voidedBefore =
              found.length -
              liveEvents.length +
              admissions.filter((a) => a.void_time !== null).length;
            const known = new Set([
              ...found.map((e) => `e/${e.event_id}`),
              ...admissions
                .filter((a) => a.void_time !== null || liveAdmissions.includes(a))
                .map((a) => `k/${a.idempotency_key}`),
            ]);
            const voided = [
              ...liveEvents.map((e) => voidedEvent(catalog, e)),
              ...liveAdmissions.map((a) =>
                voidedAdmission(a.response?.template?.recorded as Recorded),
              ),
            ];
            assertOpen(
              tenantPlan,
              voided.map((v) => v.periodStart),
            );
            const result: VoidResult = {
              voidedCount: voided.length,
              alreadyVoidedCount: voidedBefore,
              notFound: [
                ...input.eventIds.filter((id) => !known.has(`e/${id}`)),
                ...input.idempotencyKeys.filter((key) => !known.has(`k/${key}`)),
              ],
            };
            await correct(trx, actor, tenantPlan, {
              tenantId,
              kind: "void",
              requestId: input.requestId,
              reason: input.reason,
              eventIds: liveEvents.map((e) => e.event_id),
              keys: liveAdmissions.map((a) => a.idempotency_key),
              voided,
              added: [],
              resourceTypes: [...new Set(voided.map((v) => v.resourceType))].sort(),
              target: tenantId,
              result,
            });
            await remember(trx, result);
            return result;
          }),
      });
    },

    async replaceUsage(actor, raw) {
      const input = validateReplace(catalog, raw, clock.now(), deps.lateWindowMs);
      const { tenantId, resourceType } = input;
      const tenantPlan = await plans.resolve(tenantId);
      const added: UsageEvent[] = input.events.map((e) => ({
        ...e,
        periodStart: isAllocation(resourceType)
          ? ALLOCATION_PERIOD
          : periodFor(tenantPlan, e.occurTime).start,
      }));
      // The range's own periods, so a range of a closed period is refused even when empty.
      const rangePeriods = isAllocation(resourceType)
        ? []
        : [
            periodFor(tenantPlan, input.start).start,
            periodFor(tenantPlan, new Date(input.end.getTime() - 1)).start,
          ];
      assertOpen(tenantPlan, [...rangePeriods, ...added.map((e) => e.periodStart)]);
      return lease.run<ReplaceResult>({
        tenantId,
        requestId: input.requestId,
        operation: "usage.replace",
        input: {
          ...input,
          requestId: undefined,
          events: input.events.map(({ meter: _meter, ...e }) => e),
        },
        revive: (stored) => stored as ReplaceResult,
        work: (_providerKey, remember) =>
          knex.transaction(async (trx) => {
            const taken = await store.storedIds(
              trx,
              tenantId,
              added.map((e) => e.eventId),
            );
            if (taken.length > 0) {
              const stored = new Set(taken);
              throw new ValidationError(
                added.flatMap((e, i) =>
                  stored.has(e.eventId)
                    ? [
                        {
                          field: `events[${i}].event_id`,
                          description:
                            "is already stored (live or voided): a replacement event needs a new id",
                        },
                      ]
                    : [],
                ),
              );
            }
            const range = await store.lockRange(
              trx,
              tenantId,
              resourceType,
              input.start,
              input.end,
            );
            const voided = range.map((e) => voidedEvent(catalog, e));
            assertOpen(
              tenantPlan,
              voided.map((v) => v.periodStart),
            );
            const result: ReplaceResult = {
              voidedCount: range.length,
              acceptedCount: added.length,
            };
            await correct(trx, actor, tenantPlan, {
              tenantId,
              kind: "replace",
              requestId: input.requestId,
              reason: input.reason,
              eventIds: range.map((e) => e.event_id),
              keys: [],
              voided,
              added,
              resourceTypes: [resourceType],
              target: `${resourceType} ${input.start.toISOString()}..${input.end.toISOString()}`,
              result,
            });
            await remember(trx, result);
            return result;
          }),
      });
    },

    async listEvents(raw) {
      const listing = validateListing(catalog, raw);
      return fetchPage({
        scope: JSON.stringify(listing),
        pageSize: raw.pageSize,
        pageToken: raw.pageToken,
        fetch: (limit, after) => store.list(listing, limit, after),
        cursorOf: (e) => ({ time: e.occurTime, id: e.eventId }),
      });
    },
  };
}
