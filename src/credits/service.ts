import { randomBytes } from "node:crypto";
import { Decimal } from "decimal.js";
import type { Knex } from "knex";
import type { AuditStore } from "../audit/store.js";
import { createAuditedChanges } from "../billing/audited-change.js";
import type { MutationLease } from "../billing/mutation-lease.js";
import type { PlanCatalog } from "../catalog/catalog.js";
import type { Actor } from "../platform/calls/actor.js";
import type { Clock } from "../platform/clock/clock.js";
import { FailedPreconditionError, NotFoundError } from "../platform/errors/domain-error.js";
import { validateTenantId } from "../platform/validation/field-rules.js";
import type { Grant, Override } from "./credits.js";
import {
  type RawGrant,
  type RawOverride,
  type RawTarget,
  targetOf,
  validateGrant,
  validateGrantRef,
  validateOverride,
  validateOverrideTarget,
} from "./inputs.js";
import type { CreditStore } from "./store.js";

/** Grants and overrides: what an operator gives one tenant beyond its plan. Admin only. */
export interface CreditService {
  grantCredits(actor: Actor, raw: RawGrant): Promise<Grant>;
  listGrants(tenantId: string, includeExpired: boolean): Promise<Grant[]>;
  voidGrant(actor: Actor, raw: { grantId: string; requestId: string }): Promise<Grant>;
  setOverride(actor: Actor, raw: RawOverride): Promise<Override>;
  listOverrides(tenantId: string, includeExpired: boolean): Promise<Override[]>;
  deleteOverride(actor: Actor, raw: RawTarget): Promise<Override>;
}

/** What the credit service is built from. */
export interface CreditServiceDeps {
  knex: Knex;
  store: CreditStore;
  /**
   * Billing's mutation lease: a request id's first answer is replayed, and changes of one tenant run
   * one at a time, billing mutations included.
   */
  lease: MutationLease;
  audit: AuditStore;
  catalog: PlanCatalog;
  clock: Clock;
  /** Tells every replica's plan cache that a tenant's limits changed, inside `trx`. */
  announce(trx: Knex.Transaction, tenantId: string): Promise<void>;
  /** Drops this replica's cached limits of a tenant, after commit. */
  invalidate(tenantId: string): void;
}

/**
 * Creates the credit service. Every change runs in one transaction with its audit row, the
 * change notice for the plan caches and, when the caller gave a `request_id`, the stored first
 * answer, under billing's mutation lease: a retry replays the first answer (a concurrent one
 * waits for the tenant's lease, then replays), so a grant is never given twice.
 */
export function createCreditService(deps: CreditServiceDeps): CreditService {
  const { store, catalog, clock } = deps;

  const once = createAuditedChanges(deps);

  return {
    async grantCredits(actor, wire) {
      const { tenantId, quantity } = validateGrant(catalog, wire, clock.now());
      const raw = targetOf(wire);
      const input = {
        tenantId,
        resourceType: raw.resourceType,
        quantity: quantity.toFixed(),
        expireTime: raw.expireTime?.toISOString(),
        reason: raw.reason,
      };
      return once<Grant>({
        actor,
        tenantId,
        requestId: raw.requestId,
        operation: "grant.create",
        input,
        revive: reviveGrant,
        work: async (trx, now) => {
          const grant: Grant = {
            id: `grt_${randomBytes(12).toString("hex")}`,
            tenantId,
            resourceType: raw.resourceType,
            quantity,
            remaining: quantity,
            expireTime: raw.expireTime,
            reason: raw.reason,
            createTime: now,
            voidTime: undefined,
          };
          await store.insertGrant(trx, grant);
          return { result: grant, target: grant.id, before: undefined, after: grant };
        },
      });
    },

    async listGrants(rawTenantId, includeExpired) {
      const tenantId = validateTenantId(rawTenantId);
      return store.listGrants(tenantId, includeExpired ? undefined : clock.now());
    },

    async listOverrides(rawTenantId, includeExpired) {
      const tenantId = validateTenantId(rawTenantId);
      return store.listOverrides(tenantId, includeExpired ? undefined : clock.now());
    },

    async voidGrant(actor, raw) {
      validateGrantRef(raw);
      // A tenant key names the grant's shard; an admin's id alone is looked up on every one.
      const tenantId = await store.grantTenant(raw.grantId, actor.tenantId);
      if (tenantId === undefined) throw new NotFoundError(`grant ${raw.grantId} not found`);
      return once<Grant>({
        actor,
        tenantId,
        requestId: raw.requestId,
        operation: "grant.void",
        input: raw.grantId,
        revive: reviveGrant,
        work: async (trx, now) => {
          const before = (await store.lockGrant(trx, tenantId, raw.grantId)) as Grant;
          if (before.voidTime !== undefined) {
            throw new FailedPreconditionError(`grant ${raw.grantId} is already voided`);
          }
          await store.voidGrant(trx, tenantId, raw.grantId, now);
          const after = { ...before, voidTime: now };
          return { result: after, target: before.id, before, after };
        },
      });
    },

    async setOverride(actor, wire) {
      const { tenantId, limit } = validateOverride(catalog, wire, clock.now());
      const raw = targetOf(wire);
      return once<Override>({
        actor,
        tenantId,
        requestId: raw.requestId,
        operation: "override.set",
        input: {
          tenantId,
          resourceType: raw.resourceType,
          limit: limit?.toFixed(),
          expireTime: raw.expireTime?.toISOString(),
        },
        revive: reviveOverride,
        work: async (trx, now) => {
          const before = await store.findOverride(trx, tenantId, raw.resourceType);
          const after: Override = {
            tenantId,
            resourceType: raw.resourceType,
            limit,
            expireTime: raw.expireTime,
            createTime: before?.createTime ?? now,
            updateTime: now,
          };
          await store.upsertOverride(trx, after);
          await store.rearmCounters(trx, tenantId, raw.resourceType);
          return { result: after, target: raw.resourceType, before, after };
        },
      });
    },

    async deleteOverride(actor, wire) {
      const tenantId = validateOverrideTarget(catalog, wire);
      const raw = targetOf(wire);
      return once<Override>({
        actor,
        tenantId,
        requestId: raw.requestId,
        operation: "override.delete",
        input: { tenantId, resourceType: raw.resourceType },
        revive: reviveOverride,
        work: async (trx) => {
          const before = await store.findOverride(trx, tenantId, raw.resourceType);
          if (before === undefined) {
            throw new NotFoundError(`tenant ${tenantId} has no override for ${raw.resourceType}`);
          }
          await store.deleteOverride(trx, tenantId, raw.resourceType);
          await store.rearmCounters(trx, tenantId, raw.resourceType);
          return { result: before, target: raw.resourceType, before, after: undefined };
        },
      });
    },
  };
}

const time = (value: unknown) => (value == null ? undefined : new Date(value as string));
const decimal = (value: unknown) => (value == null ? undefined : new Decimal(value as string));

function reviveGrant(stored: unknown): Grant {
  const g = stored as Record<string, unknown>;
  return {
    ...(g as unknown as Grant),
    quantity: new Decimal(g.quantity as string),
    remaining: new Decimal(g.remaining as string),
    expireTime: time(g.expireTime),
    createTime: new Date(g.createTime as string),
    voidTime: time(g.voidTime),
  };
}

function reviveOverride(stored: unknown): Override {
  const o = stored as Record<string, unknown>;
  return {
    ...(o as unknown as Override),
    limit: decimal(o.limit),
    expireTime: time(o.expireTime),
    createTime: new Date(o.createTime as string),
    updateTime: new Date(o.updateTime as string),
  };
}
