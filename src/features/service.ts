import { Decimal } from "decimal.js";
import type { Knex } from "knex";
import type { AuditStore } from "../audit/store.js";
import { createAuditedChanges } from "../billing/audited-change.js";
import type { MutationLease } from "../billing/mutation-lease.js";
import type { PlanCatalog } from "../catalog/catalog.js";
import type { TenantPlan } from "../entitlements/entitlements.js";
import type { Actor } from "../platform/calls/actor.js";
import type { Clock } from "../platform/clock/clock.js";
import { NotFoundError } from "../platform/errors/domain-error.js";
import { validateTenantId } from "../platform/validation/field-rules.js";
import type { EntitlementAnnouncer } from "./announcer.js";
import { type FeatureOverride, featuresOf, isEnabled, type TenantFeature } from "./features.js";
import {
  type RawFeatureCheck,
  type RawFeatureOverride,
  type RawFeatureTarget,
  validateFeatureCheck,
  validateFeatureOverride,
  validateFeatureTarget,
} from "./inputs.js";
import type { FeatureStore } from "./store.js";

/** A tenant's features and its feature overrides. */
export interface FeatureService {
  getFeatures(tenantId: string): Promise<{ planId: string; features: TenantFeature[] }>;
  checkFeature(raw: RawFeatureCheck): Promise<{ enabled: boolean; feature: TenantFeature }>;
  setOverride(actor: Actor, raw: RawFeatureOverride): Promise<FeatureOverride>;
  deleteOverride(actor: Actor, raw: RawFeatureTarget): Promise<FeatureOverride>;
  listOverrides(tenantId: string, includeExpired: boolean): Promise<FeatureOverride[]>;
  /** Announces the tenants whose overrides expired since; returns how many it looked at. */
  announceExpiries(limit: number): Promise<number>;
}

/** What the feature service is built from. */
export interface FeatureServiceDeps {
  knex: Knex;
  store: FeatureStore;
  /** The lookup pool's store, for reads that must not queue behind writes. */
  lookups: FeatureStore;
  lease: MutationLease;
  audit: AuditStore;
  catalog: PlanCatalog;
  clock: Clock;
  announcer: EntitlementAnnouncer;
  /** The plan that governs a tenant now (the entitlements' plan cache). */
  planOf(tenantId: string): Promise<TenantPlan>;
  /** Tells every replica a tenant's terms changed, inside `trx` (announces them too). */
  announce(trx: Knex.Transaction, tenantId: string): Promise<void>;
  /** Drops this replica's cached terms of a tenant, after commit. */
  invalidate(tenantId: string): void;
}

/**
 * Creates the feature service. Values are read at the business clock's now (a test clock moves
 * overrides past their expiry); overrides change under billing's per-tenant lease, audited and
 * idempotent, like limit overrides, and each change is announced as `entitlement.updated` in its
 * transaction.
 */
export function createFeatureService(deps: FeatureServiceDeps): FeatureService {
  const { store, lookups, catalog, clock } = deps;
  const once = createAuditedChanges(deps);
  const features = async (tenantId: string) => {
    const [{ plan }, overrides] = await Promise.all([
      deps.planOf(tenantId),
      lookups.listOverrides(tenantId, clock.now()),
    ]);
    return { planId: plan.id, features: featuresOf(catalog, plan, overrides) };
  };
  return {
    getFeatures: (rawTenantId) => features(validateTenantId(rawTenantId)),

    async checkFeature(raw) {
      const tenantId = validateFeatureCheck(catalog, raw);
      const all = await features(tenantId);
      const feature = all.features.find((f) => f.name === raw.feature) as TenantFeature;
      return { enabled: isEnabled(catalog, feature), feature };
    },

    async listOverrides(rawTenantId, includeExpired) {
      const tenantId = validateTenantId(rawTenantId);
      return lookups.listOverrides(tenantId, includeExpired ? undefined : clock.now());
    },

    async setOverride(actor, raw) {
      const { tenantId, value } = validateFeatureOverride(catalog, raw, clock.now());
      return once<FeatureOverride>({
        actor,
        tenantId,
        requestId: raw.requestId,
        operation: "feature_override.set",
        input: {
          tenantId,
          feature: raw.feature,
          value: raw.value,
          expireTime: raw.expireTime?.toISOString(),
        },
        revive: reviveOverride,
        work: async (trx, now) => {
          const before = await store.findOverride(trx, tenantId, raw.feature);
          const after: FeatureOverride = {
            tenantId,
            feature: raw.feature,
            value,
            expireTime: raw.expireTime,
            createTime: before?.createTime ?? now,
            updateTime: now,
          };
          await store.upsertOverride(trx, after);
          return { result: after, target: raw.feature, before, after };
        },
      });
    },

    async deleteOverride(actor, raw) {
      const tenantId = validateFeatureTarget(catalog, raw);
      return once<FeatureOverride>({
        actor,
        tenantId,
        requestId: raw.requestId,
        operation: "feature_override.delete",
        input: { tenantId, feature: raw.feature },
        revive: reviveOverride,
        work: async (trx) => {
          const before = await store.findOverride(trx, tenantId, raw.feature);
          if (before === undefined) {
            throw new NotFoundError(
              `tenant ${tenantId} has no override for feature ${raw.feature}`,
            );
          }
          await store.deleteOverride(trx, tenantId, raw.feature);
          return { result: before, target: raw.feature, before, after: undefined };
        },
      });
    },

    async announceExpiries(limit) {
      const due = await store.dueTenants(clock.now(), limit);
      for (const tenantId of due) {
        await deps.knex.transaction((trx) => deps.announcer.refresh(trx, tenantId));
        deps.invalidate(tenantId);
      }
      return due.length;
    },
  };
}

// A stored answer back to an override: its value by the feature's type, its times as Dates.
function reviveOverride(stored: unknown): FeatureOverride {
  const o = stored as Record<string, unknown>;
  const value = o.value as { type: string; value: unknown };
  return {
    tenantId: o.tenantId as string,
    feature: o.feature as string,
    value: (value.type === "number"
      ? { type: "number", value: new Decimal(value.value as string) }
      : value) as FeatureOverride["value"],
    expireTime: o.expireTime == null ? undefined : new Date(o.expireTime as string),
    createTime: new Date(o.createTime as string),
    updateTime: new Date(o.updateTime as string),
  };
}
