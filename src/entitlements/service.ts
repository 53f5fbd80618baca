import { randomUUID } from "node:crypto";
import { Decimal } from "decimal.js";
import type { Knex } from "knex";
import { assertTenantAccess } from "../auth/policy.js";
import type { Actor } from "../auth/principal.js";
import type { PlanCatalog, PlanLimit } from "../billing/catalog.js";
import type { Clock } from "../clock/clock.js";
import {
  FailedPreconditionError,
  NotFoundError,
  UnavailableError,
} from "../errors/domain-error.js";
import { assertSameRequest, fingerprintRequest } from "../idempotency/request-fingerprint.js";
import { parseQuantity } from "../validation/decimal.js";
import { createFieldChecks } from "../validation/field-checks.js";
import { reviveCheckResult, reviveEntitlement, reviveReserveResult } from "./answers.js";
import type {
  CheckResult,
  Entitlement,
  ReservationResult,
  ReservationState,
  ReserveResult,
  ResourceRequest,
  TenantPlan,
} from "./entitlements.js";
import { checkIdempotencyKey, type RawResourceRequest, validateResourceRequest } from "./inputs.js";
import { ALLOCATION_PERIOD } from "./periods.js";
import type { PlanCache } from "./plan-cache.js";
import type { Counter, CounterKey, EntitlementStore } from "./store.js";

const DEFAULT_TTL_SECONDS = 300;

/** Answers "may this tenant do this now?" and records usage within the plan's limits. */
export interface EntitlementService {
  check(actor: Actor, raw: RawResourceRequest): Promise<CheckResult>;
  checkAndRecord(
    actor: Actor,
    raw: RawResourceRequest & { idempotencyKey: string },
  ): Promise<CheckResult>;
  recordUsage(
    actor: Actor,
    raw: RawResourceRequest & { idempotencyKey: string },
  ): Promise<Entitlement>;
  getEntitlements(
    actor: Actor,
    tenantId: string,
  ): Promise<{ planId: string; entitlements: Entitlement[] }>;
  reserve(
    actor: Actor,
    raw: RawResourceRequest & { ttlSeconds: number; idempotencyKey: string },
  ): Promise<ReserveResult>;
  commitReservation(
    actor: Actor,
    raw: { reservationId: string; actualQuantity: string },
  ): Promise<ReservationResult>;
  releaseReservation(actor: Actor, raw: { reservationId: string }): Promise<ReservationResult>;
  /** Frees up to `limit` expired holds; returns how many. */
  expireDue(limit: number): Promise<number>;
}

/** What the entitlement service is built from. */
export interface EntitlementServiceDeps {
  knex: Knex;
  store: EntitlementStore;
  plans: PlanCache;
  catalog: PlanCatalog;
  clock: Clock;
}

/**
 * Creates the entitlement service. Limits come from the tenant's plan (cached); every
 * admission is one conditional upsert on the counter row, so a check and its record are a
 * single atomic step. When a call does not fit, holds that have expired are freed and it is
 * tried once more, so expired reservations never cause a denial. An idempotency key wraps the
 * call in a transaction that stores its first answer with its effect.
 */
export function createEntitlementService(deps: EntitlementServiceDeps): EntitlementService {
  const { knex, store, plans, catalog, clock } = deps;

  const keyOf = (tp: TenantPlan, req: Omit<ResourceRequest, "quantity">): CounterKey => ({
    tenantId: req.tenantId,
    resourceType: req.resourceType,
    periodStart:
      catalog.resourceKinds.get(req.resourceType) === "allocation"
        ? ALLOCATION_PERIOD
        : tp.periodStart,
  });

  const view = (tp: TenantPlan, resourceType: string, counter: Counter): Entitlement => {
    const limit = tp.plan.limits.find((l) => l.resourceType === resourceType);
    return {
      resourceType,
      kind: catalog.resourceKinds.get(resourceType) ?? "consumable",
      limit: limit?.limit ?? (limit ? undefined : new Decimal(0)),
      used: counter.used,
      reserved: counter.reserved,
      periodStart: tp.periodStart,
      periodEnd: tp.periodEnd,
      planId: tp.plan.id,
    };
  };

  // Runs a limited write; when it does not fit and the counter holds reservations, frees the
  // expired ones and tries once more. Returns the counter, and whether the write happened.
  const withinLimit = async (
    db: Knex,
    key: CounterKey,
    attempt: () => Promise<Counter | undefined>,
  ): Promise<{ counter: Counter; written: boolean }> => {
    const first = await attempt();
    if (first) return { counter: first, written: true };
    const current = await store.read(db, key);
    if (current.reserved.isZero() || (await store.expireHeld(db, clock.now(), key)) === 0) {
      return { counter: current, written: false };
    }
    const retried = await attempt();
    return retried
      ? { counter: retried, written: true }
      : { counter: await store.read(db, key), written: false };
  };

  // Resolves the plan and the resource's place in it, for every check-style call. Always
  // before any transaction opens: a call holding a pooled connection must never wait for a
  // second one, or a burst of such calls deadlocks the pool.
  const prepare = async (req: ResourceRequest) => {
    const tp = await plans.resolve(req.tenantId);
    const limit: PlanLimit | undefined = tp.plan.limits.find(
      (l) => l.resourceType === req.resourceType,
    );
    const release =
      catalog.resourceKinds.get(req.resourceType) === "allocation" && req.quantity.isNegative();
    return { tp, limit, key: keyOf(tp, req), unchecked: limit?.limit === undefined || release };
  };

  const once = async <T>(
    tenantId: string,
    idempotencyKey: string,
    operation: string,
    input: unknown,
    revive: (stored: unknown) => T,
    work: (db: Knex) => Promise<T>,
  ): Promise<T> => {
    if (idempotencyKey === "") return work(knex);
    const request = fingerprintRequest(operation, input);
    return store.transaction(async (trx) => {
      const claimed = await store.claimAnswer(trx, tenantId, idempotencyKey, request, clock.now());
      if (!claimed) {
        const prior = await store.findAnswer(trx, tenantId, idempotencyKey);
        if (prior?.response == null)
          throw new UnavailableError("the first call with this idempotency_key is still running");
        assertSameRequest("idempotency_key", prior, request);
        return revive(prior.response);
      }
      const result = await work(trx);
      await store.saveAnswer(trx, tenantId, idempotencyKey, result);
      return result;
    });
  };

  const validateWithKey = (
    raw: RawResourceRequest & { idempotencyKey: string },
    use: "record" | "hold",
    ttl?: number,
  ) => {
    const checks = createFieldChecks();
    checkIdempotencyKey(checks, raw.idempotencyKey);
    if (ttl !== undefined) checks.intRange("ttl_seconds", ttl, 0, 86_400);
    return validateResourceRequest(catalog, raw, use, checks);
  };

  const loadReservation = async (trx: Knex, actor: Actor, reservationId: string) => {
    const reservation = await store.findReservation(trx, reservationId, true);
    if (reservation === undefined)
      throw new NotFoundError(`reservation ${reservationId} not found`);
    assertTenantAccess(actor, reservation.tenantId);
    return reservation;
  };

  const reservationIdChecks = (reservationId: string) => {
    const checks = createFieldChecks();
    checks.uuid("reservation_id", reservationId);
    return checks;
  };

  return {
    async check(_actor, raw) {
      const req = validateResourceRequest(catalog, raw, "check");
      const { tp, limit, key, unchecked } = await prepare(req);
      let counter = await store.read(knex, key);
      const over = () => !unchecked && limit !== undefined && !fits(counter, req.quantity, limit);
      if (over() && (await store.expireHeld(knex, clock.now(), key)) > 0) {
        counter = await store.read(knex, key);
      }
      return decide(view(tp, req.resourceType, counter), req.quantity, limit === undefined, over());
    },

    async checkAndRecord(_actor, raw) {
      const req = validateWithKey(raw, "record");
      const { tp, limit, key, unchecked } = await prepare(req);
      return once(
        req.tenantId,
        raw.idempotencyKey,
        "check_and_record",
        req,
        reviveCheckResult,
        async (db) => {
          if (limit === undefined)
            return decide(
              view(tp, req.resourceType, await store.read(db, key)),
              req.quantity,
              true,
              false,
            );
          if (unchecked)
            return decide(
              view(tp, req.resourceType, await store.add(db, key, req.quantity)),
              req.quantity,
              false,
              false,
            );
          const { counter, written } = await withinLimit(db, key, () =>
            store.admit(db, key, req.quantity, limit.limit as Decimal),
          );
          return decide(view(tp, req.resourceType, counter), req.quantity, false, !written);
        },
      );
    },

    async recordUsage(_actor, raw) {
      const req = validateWithKey(raw, "record");
      const { tp, key } = await prepare(req);
      return once(
        req.tenantId,
        raw.idempotencyKey,
        "record_usage",
        req,
        reviveEntitlement,
        async (db) => view(tp, req.resourceType, await store.add(db, key, req.quantity)),
      );
    },

    async getEntitlements(_actor, rawTenantId) {
      const checks = createFieldChecks();
      checks.uuid("tenant_id", rawTenantId);
      checks.throwIfAny();
      const tenantId = rawTenantId.toLowerCase();
      const tp = await plans.resolve(tenantId);
      const keys = tp.plan.limits.map((l) => keyOf(tp, { tenantId, resourceType: l.resourceType }));
      const counters = await store.readMany(knex, tenantId, keys);
      return {
        planId: tp.plan.id,
        entitlements: tp.plan.limits.map((l) =>
          view(
            tp,
            l.resourceType,
            counters.get(l.resourceType) ?? { used: new Decimal(0), reserved: new Decimal(0) },
          ),
        ),
      };
    },

    async reserve(_actor, raw) {
      const req = validateWithKey(raw, "hold", raw.ttlSeconds);
      const { tp, limit, key } = await prepare(req);
      return once(
        req.tenantId,
        raw.idempotencyKey,
        "reserve",
        { ...req, ttl: raw.ttlSeconds },
        reviveReserveResult,
        async (db) => {
          if (limit === undefined) {
            return {
              ...decide(
                view(tp, req.resourceType, await store.read(db, key)),
                req.quantity,
                true,
                false,
              ),
              reservation: undefined,
            };
          }
          const now = clock.now();
          const reservation = {
            id: randomUUID(),
            tenantId: req.tenantId,
            resourceType: req.resourceType,
            quantity: req.quantity,
            state: "held" as const,
            expireTime: new Date(now.getTime() + (raw.ttlSeconds || DEFAULT_TTL_SECONDS) * 1000),
            committedQuantity: undefined,
            createTime: now,
            periodStart: key.periodStart,
          };
          const { counter, written } = await withinLimit(db, key, () =>
            store.hold(db, reservation, limit.limit),
          );
          const result = decide(view(tp, req.resourceType, counter), req.quantity, false, !written);
          return { ...result, reservation: written ? reservation : undefined };
        },
      );
    },

    async commitReservation(actor, raw) {
      const checks = reservationIdChecks(raw.reservationId);
      const actual =
        raw.actualQuantity === ""
          ? undefined
          : parseQuantity(checks, "actual_quantity", raw.actualQuantity, "non-negative");
      checks.throwIfAny();
      const { reservation, counter } = await store.transaction(async (trx) => {
        const found = await loadReservation(trx, actor, raw.reservationId);
        const amount = actual ?? found.quantity;
        if (found.state === "committed" && found.committedQuantity?.equals(amount)) {
          return { reservation: found, counter: await store.read(trx, found) };
        }
        if (found.state !== "held" || found.expireTime.getTime() <= clock.now().getTime()) {
          const state = found.state === "held" ? "expired" : found.state;
          throw new FailedPreconditionError(
            `reservation ${found.id} is ${state} and cannot be committed`,
          );
        }
        const settled = await store.settle(trx, found, "committed", amount);
        return {
          reservation: { ...found, state: "committed" as const, committedQuantity: amount },
          counter: settled,
        };
      });
      const tp = await plans.resolve(reservation.tenantId);
      return { reservation, entitlement: view(tp, reservation.resourceType, counter) };
    },

    async releaseReservation(actor, raw) {
      reservationIdChecks(raw.reservationId).throwIfAny();
      const { reservation, counter } = await store.transaction(async (trx) => {
        const found = await loadReservation(trx, actor, raw.reservationId);
        if (found.state === "committed") {
          throw new FailedPreconditionError(
            `reservation ${found.id} is committed and cannot be released`,
          );
        }
        if (found.state !== "held")
          return { reservation: found, counter: await store.read(trx, found) };
        const state: ReservationState =
          found.expireTime.getTime() <= clock.now().getTime() ? "expired" : "released";
        const settled = await store.settle(trx, found, state);
        return { reservation: { ...found, state }, counter: settled };
      });
      const tp = await plans.resolve(reservation.tenantId);
      return { reservation, entitlement: view(tp, reservation.resourceType, counter) };
    },

    expireDue: (limit) => store.expireHeld(knex, clock.now(), undefined, limit),
  };
}

function fits(counter: Counter, quantity: Decimal, limit: PlanLimit): boolean {
  return (
    limit.limit === undefined || counter.used.plus(counter.reserved).plus(quantity).lte(limit.limit)
  );
}

function decide(
  entitlement: Entitlement,
  quantity: Decimal,
  notInPlan: boolean,
  denied: boolean,
): CheckResult {
  const { resourceType, used, reserved, limit, planId } = entitlement;
  if (notInPlan) {
    return {
      allowed: false,
      reason: `${resourceType} is not part of the ${planId} plan`,
      denialReason: "resource_not_in_plan",
      entitlement,
    };
  }
  const standing =
    limit === undefined
      ? `${used} used, unlimited`
      : `${used} of ${limit} used, ${reserved} reserved`;
  return denied
    ? {
        allowed: false,
        reason: `${resourceType} limit of the ${planId} plan reached: ${standing}; ${quantity} more does not fit`,
        denialReason: "limit_exceeded",
        entitlement,
      }
    : {
        allowed: true,
        reason: `${resourceType}: ${standing}`,
        denialReason: undefined,
        entitlement,
      };
}
