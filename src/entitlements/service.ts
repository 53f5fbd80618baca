import { randomUUID } from "node:crypto";
import { Decimal } from "decimal.js";
import type { Knex } from "knex";
import { ceilingOf, type PlanCatalog } from "../catalog/catalog.js";
import { countersOf } from "../catalog/meters.js";
import type { CreditStore } from "../credits/store.js";
import type { Actor } from "../platform/calls/actor.js";
import { assertLive, type CallBudget, deadlineExceeded } from "../platform/calls/budget.js";
import type { Clock } from "../platform/clock/clock.js";
import { groupByTenant } from "../platform/db/tenants.js";
import {
  FailedPreconditionError,
  NotFoundError,
  ValidationError,
} from "../platform/errors/domain-error.js";
import { validateTenantId } from "../platform/validation/field-rules.js";
import type { AdmissionQueue } from "./admissions.js";
import {
  describeCheck,
  reviveCheckResult,
  reviveEntitlement,
  reviveReserveResult,
  storedEntitlement,
  storedReservation,
} from "./answers.js";
import type {
  CheckResult,
  Entitlement,
  Reservation,
  ReservationResult,
  ReserveResult,
  ResourceRequest,
  TenantPlan,
} from "./entitlements.js";
import {
  type RawResourceRequest,
  validateCommit,
  validateKeyedRequest,
  validateRelease,
  validateResourceRequest,
} from "./inputs.js";
import { createLimitRules } from "./limits.js";
import { answerOf, claimOf } from "./outcomes.js";
import type { PlanCache } from "./plan-cache.js";
import { type Counter, type CounterKey, type EntitlementStore, ZERO_COUNTER } from "./store.js";

const DEFAULT_TTL_SECONDS = 300;

/** The answer of a check-style call for a resource the plan does not have, before its counter. */
const NOT_IN_PLAN = { allowed: false, denialReason: "resource_not_in_plan" } as const;

type KeyedRequest = RawResourceRequest & { idempotencyKey: string };

/**
 * What an idempotency key's fingerprint covers: the request, with its dimensions only when it
 * has some, so keys stored before meters existed still match their retries.
 */
function claimInput({ dimensions, member, ...rest }: ResourceRequest) {
  return Object.keys(dimensions).length > 0 || member !== undefined
    ? { ...rest, dimensions, member }
    : rest;
}

/**
 * Answers "may this tenant do this now?" and records usage within the plan's limits. Every
 * call that writes takes the caller's {@link CallBudget}: a call whose caller has given up is
 * not started and records nothing.
 */
export interface EntitlementService {
  check(actor: Actor, raw: RawResourceRequest): Promise<CheckResult>;
  checkAndRecord(actor: Actor, raw: KeyedRequest, budget: CallBudget): Promise<CheckResult>;
  recordUsage(actor: Actor, raw: KeyedRequest, budget: CallBudget): Promise<Entitlement>;
  getEntitlements(
    actor: Actor,
    tenantId: string,
  ): Promise<{ planId: string; entitlements: Entitlement[] }>;
  reserve(
    actor: Actor,
    raw: KeyedRequest & { ttlSeconds: number },
    budget: CallBudget,
  ): Promise<ReserveResult>;
  commitReservation(
    actor: Actor,
    raw: { reservationId: string; actualQuantity: string; tenantId: string },
    budget: CallBudget,
  ): Promise<ReservationResult>;
  releaseReservation(
    actor: Actor,
    raw: { reservationId: string; tenantId: string },
    budget: CallBudget,
  ): Promise<ReservationResult>;
  /** Frees up to `limit` expired holds; returns how many. */
  expireDue(limit: number): Promise<number>;
  /**
   * Settles up to `limit` queued counters (changed by ingestion or reservation commits, whose
   * batches did not know their limits): grant draws and threshold events; returns how many.
   */
  settleQueued(limit: number): Promise<number>;
}

/** What the entitlement service is built from. */
export interface EntitlementServiceDeps {
  knex: Knex;
  store: EntitlementStore;
  admissions: AdmissionQueue;
  plans: PlanCache;
  catalog: PlanCatalog;
  clock: Clock;
  /** Reads grant balances for answers that do not go through the batch. */
  credits: Pick<CreditStore, "grantRooms">;
}

/**
 * Creates the entitlement service. Limits come from the tenant's plan (cached) and are
 * resolved before anything is queued; every write then goes through the admission queue,
 * whose batches decide calls in arrival order, atomically with storing the first answer of
 * each idempotency key. Expired reservations never cause a denial: the batch frees them first.
 */
export function createEntitlementService(deps: EntitlementServiceDeps): EntitlementService {
  const { knex, store, admissions, plans, catalog, clock, credits } = deps;
  const allocations = new Set(
    [...catalog.resourceKinds].filter(([, kind]) => kind === "allocation").map(([type]) => type),
  );

  const { limitOf, resourcesOf, counterKeyOf, entitlementOf, limitInfoOf } = createLimitRules(
    catalog,
    () => clock.now(),
  );

  // What active grants add per resource, read only for resources that have some.
  const roomsOf = async (tenantPlan: TenantPlan, tenantId: string, resourceTypes: string[]) =>
    resourceTypes.some((r) => tenantPlan.adjustments.grantResources.has(r))
      ? credits.grantRooms(knex, tenantId, allocations, clock.now())
      : new Map<string, Decimal>();

  // Resolves the plan and the resource's place in it, for every check-style call, before
  // anything is queued or a transaction opens. A call counts on its resource's total and on
  // each dimension limit its values select; the answer shows the most specific limit in
  // force (a dimension limit, else the total), and the call fits only where all of them let it.
  const prepare = async (req: ResourceRequest) => {
    const tenantPlan = await plans.resolve(req.tenantId);
    const meter = catalog.meterOf(req.resourceType);
    const release =
      catalog.resourceKinds.get(req.resourceType) === "allocation" && req.quantity.isNegative();
    const all = countersOf(meter, req.dimensions).map((name) => {
      const { limit } = limitOf(tenantPlan, name);
      // A soft limit admits up to its cap, so the cap, not the allowance, is what denies.
      const ceiling = limit && ceilingOf(limit);
      return { name, limit, ceiling, limits: limitInfoOf(tenantPlan, limit) };
    });
    const total = all[0] as (typeof all)[number];
    // A resource the plan does not have counts on nothing: its total is read alone.
    const inPlan = total.limit !== undefined;
    const counters = inPlan ? all : [total];
    const limited = counters.filter((c) => c.ceiling !== undefined);
    const first =
      counters
        .slice(1)
        .reverse()
        .find((c) => c.limit?.limit !== undefined) ?? total;
    // A count counts each call once, a unique_count its member once.
    const quantity =
      meter.aggregation === "count" || meter.aggregation === "unique_count"
        ? new Decimal(1)
        : req.quantity;
    return {
      tenantPlan,
      counters,
      quantity,
      key: counterKeyOf(tenantPlan, { tenantId: req.tenantId, resourceType: first.name }),
      // Not in the plan: nothing is recorded; no ceiling, or an allocation's release: no check.
      kind: !inPlan ? "read" : limited.length === 0 || release ? "add" : "admit",
      limits: first.limits,
      meter:
        meter.aggregation === "sum" && counters.length === 1
          ? undefined
          : {
              aggregation: meter.aggregation,
              member: req.member,
              parts: counters
                .filter((c) => c !== first)
                .map((c) => ({ resourceType: c.name, limits: c.limits })),
            },
      entitlement: entitlementTemplate(tenantPlan, first.name),
      // What a keyed admission counted, stored with its answer so VoidUsage can undo it.
      recorded: {
        counters: counters.map((c) => c.name),
        periodStart: counterKeyOf(tenantPlan, req).periodStart.toISOString(),
        quantity: quantity.toFixed(),
        aggregation: meter.aggregation,
        member: req.member,
      },
    } as const;
  };

  // The stored form of each resource's entitlement without its counter, kept per cached plan
  // (a tenant's plan object lives as long as its cache entry) instead of built per call.
  const templates = new WeakMap<TenantPlan, Map<string, Record<string, unknown>>>();
  const entitlementTemplate = (tenantPlan: TenantPlan, resourceType: string) => {
    let byResource = templates.get(tenantPlan);
    if (byResource === undefined) {
      byResource = new Map();
      templates.set(tenantPlan, byResource);
    }
    let template = byResource.get(resourceType);
    if (template === undefined) {
      template = storedEntitlement(entitlementOf(tenantPlan, resourceType, ZERO_COUNTER));
      byResource.set(resourceType, template);
    }
    return template;
  };

  // Ends a reservation through the batch: read first, so the op names its counter (and its
  // tenant's group); another tenant's reservation is answered exactly as one that does not
  // exist, so ids cannot be probed across tenants.
  const endReservation = async (
    actor: Actor,
    reservationId: string,
    kind: "commit" | "release",
    quantity: Decimal | undefined,
    budget: CallBudget,
    named: string | undefined,
  ): Promise<ReservationResult> => {
    // A tenant key's tenant, or the one the caller named, sends the lookup to that tenant's
    // rows alone (its shard); an admin call naming only the id looks on every shard.
    const found = await store.findReservation(knex, reservationId, actor.tenantId ?? named);
    if (
      found === undefined ||
      (actor.tenantId !== undefined && actor.tenantId !== found.tenantId)
    ) {
      throw new NotFoundError(`reservation ${reservationId} not found`);
    }
    const key = {
      tenantId: found.tenantId,
      resourceType: found.counter,
      periodStart: found.periodStart,
    };
    const outcome = await admissions.submit({ kind, key, reservation: found, quantity }, budget);
    const verb = kind === "commit" ? "committed" : "released";
    const { reservation, counter } = outcome;
    switch (outcome.outcome) {
      case "deadline":
        throw deadlineExceeded();
      case "not_found":
        throw new NotFoundError(`reservation ${reservationId} not found`);
      case "refused": {
        const { id, state } = reservation as Reservation;
        throw new FailedPreconditionError(
          `reservation ${id} is ${state === "held" ? "expired" : state} and cannot be ${verb}`,
        );
      }
    }
    const done = reservation as Reservation;
    const tenantPlan = await plans.resolve(done.tenantId);
    const [stored, rooms] = await Promise.all([
      store.read(knex, key),
      roomsOf(tenantPlan, done.tenantId, [done.counter]),
    ]);
    // The batch's own figures for used and reserved; the row for what was drawn.
    const now = { ...(counter as Counter), granted: stored.granted };
    return {
      reservation: done,
      entitlement: entitlementOf(tenantPlan, done.counter, now, rooms.get(done.counter)),
    };
  };

  return {
    async check(_actor, raw) {
      const req = validateResourceRequest(catalog, raw, "check");
      const { tenantPlan, counters, quantity, key, kind } = await prepare(req);
      const names = counters.map((c) => c.name);
      const rooms = await roomsOf(tenantPlan, req.tenantId, names);
      const fit = {
        aggregation: catalog.meterOf(req.resourceType).aggregation,
        member: req.member,
      };
      let fitsAll = true;
      let shown = ZERO_COUNTER;
      for (const { name, ceiling: planCeiling } of counters) {
        const at = { ...key, resourceType: name };
        // The ceiling the batch would apply (the entitlement's limit: a consumable's grants
        // drawn this period are on the counter row); whether the call fits is the database's
        // rule, the one the batch applies.
        const base = kind === "admit" ? planCeiling?.plus(rooms.get(name) ?? 0) : undefined;
        const ceiling = base && {
          base,
          plusDrawn: catalog.resourceKinds.get(req.resourceType) !== "allocation",
        };
        const windowMs = limitOf(tenantPlan, name).limit?.window;
        const readFit = async () => {
          if (windowMs === undefined) return store.readFit(knex, at, quantity, ceiling, fit);
          // A window's counter holds what its last admission left, so what its window holds
          // now is read instead; nothing is ever held on a window or drawn from its grants.
          const windows = [{ resourceType: name, windowMs }];
          const used = (await store.windowUsed(knex, req.tenantId, windows)).get(name);
          const counter = { ...ZERO_COUNTER, used: used ?? new Decimal(0) };
          return {
            counter,
            fits: ceiling === undefined || counter.used.plus(quantity).lte(ceiling.base),
          };
        };
        let { counter, fits } = await readFit();
        if (
          !fits &&
          windowMs === undefined &&
          (await store.expireHeld(knex, clock.now(), at)) > 0
        ) {
          ({ counter, fits } = await readFit());
        }
        if (name === key.resourceType) shown = counter;
        fitsAll &&= fits;
      }
      const verdict = kind === "read" ? "not_in_plan" : fitsAll ? "allowed" : "denied";
      return describeCheck(
        entitlementOf(tenantPlan, key.resourceType, shown, rooms.get(key.resourceType)),
        req.quantity,
        verdict,
      );
    },

    async checkAndRecord(_actor, raw, budget) {
      assertLive(budget);
      const req = validateKeyedRequest(catalog, raw, "record");
      const { key, kind, limits, entitlement, quantity, meter, recorded } = await prepare(req);
      const claim = claimOf(raw.idempotencyKey, "check_and_record", claimInput(req));
      const answer =
        kind === "read"
          ? { ...NOT_IN_PLAN, entitlement }
          : { allowed: true, entitlement, recorded };
      const outcome = await admissions.submit(
        {
          kind,
          key,
          quantity,
          limits,
          idempotency: claim,
          answer,
          meter,
        },
        budget,
      );
      return answerOf(outcome, claim, (stored) => reviveCheckResult(stored, req.quantity));
    },

    async recordUsage(_actor, raw, budget) {
      assertLive(budget);
      const req = validateKeyedRequest(catalog, raw, "record");
      const { key, kind, limits, entitlement, quantity, meter, recorded } = await prepare(req);
      if (limits?.windowMs !== undefined && quantity.isNegative()) {
        throw new ValidationError([
          {
            field: "quantity",
            description: `${req.resourceType} is counted over a rolling window, whose units leave it by themselves; it takes no negative quantity`,
          },
        ]);
      }
      const claim = claimOf(raw.idempotencyKey, "record_usage", claimInput(req));
      const outcome = await admissions.submit(
        {
          kind: kind === "read" ? "read" : "add",
          key,
          quantity,
          limits,
          meter,
          idempotency: claim,
          answer: kind === "read" ? entitlement : { ...entitlement, recorded },
        },
        budget,
      );
      return answerOf(outcome, claim, reviveEntitlement);
    },

    async getEntitlements(_actor, rawTenantId) {
      const tenantId = validateTenantId(rawTenantId);
      const tenantPlan = await plans.resolve(tenantId);
      const resources = resourcesOf(tenantPlan);
      const keys = resources.map((resourceType) =>
        counterKeyOf(tenantPlan, { tenantId, resourceType }),
      );
      const [counters, rooms] = await Promise.all([
        store.readMany(knex, tenantId, keys),
        roomsOf(tenantPlan, tenantId, resources),
      ]);
      const windows = resources.flatMap((resourceType) => {
        const windowMs = limitOf(tenantPlan, resourceType).limit?.window;
        return windowMs === undefined ? [] : [{ resourceType, windowMs }];
      });
      const held = await store.windowUsed(knex, tenantId, windows);
      return {
        planId: tenantPlan.plan.id,
        entitlements: resources.map((r) => {
          const counter = counters.get(r) ?? ZERO_COUNTER;
          // A window's usage is what its window holds now, not what its counter last kept.
          const windowed = windows.some((w) => w.resourceType === r);
          const used = windowed ? (held.get(r) ?? new Decimal(0)) : counter.used;
          return entitlementOf(tenantPlan, r, { ...counter, used }, rooms.get(r));
        }),
      };
    },

    async reserve(_actor, raw, budget) {
      assertLive(budget);
      const req = validateKeyedRequest(catalog, raw, "hold", raw.ttlSeconds);
      const { key, kind, limits, entitlement, quantity, meter } = await prepare(req);
      if (limits?.windowMs !== undefined) {
        throw new ValidationError([
          {
            field: "resource_type",
            description: `${req.resourceType} is counted over a rolling window, which cannot be reserved; use CheckAndRecord`,
          },
        ]);
      }
      const claim = claimOf(raw.idempotencyKey, "reserve", {
        ...claimInput(req),
        ttl: raw.ttlSeconds,
      });
      const now = clock.now();
      const hold: Reservation = {
        id: randomUUID(),
        tenantId: req.tenantId,
        resourceType: req.resourceType,
        quantity,
        state: "held",
        expireTime: new Date(now.getTime() + (raw.ttlSeconds || DEFAULT_TTL_SECONDS) * 1000),
        committedQuantity: undefined,
        createTime: now,
        periodStart: key.periodStart,
        counter: key.resourceType,
        parts: meter?.parts.map((p) => p.resourceType) ?? [],
      };
      const outcome = await admissions.submit(
        kind === "read"
          ? {
              kind,
              key,
              quantity: req.quantity,
              limits: undefined,
              idempotency: claim,
              answer: { ...NOT_IN_PLAN, entitlement },
            }
          : {
              kind: "hold",
              key,
              quantity,
              limits,
              meter,
              idempotency: claim,
              answer: { allowed: true, entitlement, reservation: storedReservation(hold) },
              hold,
            },
        budget,
      );
      return answerOf(outcome, claim, (stored) => reviveReserveResult(stored, req.quantity));
    },

    async commitReservation(actor, raw, budget) {
      assertLive(budget);
      const { quantity, tenantId } = validateCommit(raw);
      return endReservation(actor, raw.reservationId, "commit", quantity, budget, tenantId);
    },

    async releaseReservation(actor, raw, budget) {
      assertLive(budget);
      const { tenantId } = validateRelease(raw);
      return endReservation(actor, raw.reservationId, "release", undefined, budget, tenantId);
    },

    // Each tenant's holds in a transaction of its own: no statement locks several tenants.
    async expireDue(limit) {
      const now = clock.now();
      let expired = 0;
      for (const tenantId of await store.tenantsWithExpiredHolds(now, limit)) {
        expired += await store.expireHeld(knex, now, { tenantId }, limit - expired);
        if (expired >= limit) break;
      }
      return expired;
    },

    // Limits are resolved before the transaction opens: on single-connection PGlite the plan
    // lookup could not run while the settle transaction holds the connection.
    async settleQueued(limit) {
      const queued = await store.queuedCounters(limit);
      if (queued.length === 0) return 0;
      const groups = groupByTenant(queued);
      const resolved = new Map(
        await Promise.all(groups.map(async ([t]) => [t, await plans.resolve(t)] as const)),
      );
      const limitsOf = (key: CounterKey) => {
        const tenantPlan = resolved.get(key.tenantId) as TenantPlan;
        return limitInfoOf(tenantPlan, limitOf(tenantPlan, key.resourceType).limit);
      };
      // One tenant per transaction, in tenant order, as admission batches lock.
      let settled = 0;
      for (const [tenantId, own] of groups) {
        const ids = own.map((q) => q.id);
        settled += await store.settleQueued(tenantId, ids, limitsOf, clock.now());
      }
      return settled;
    },
  };
}
