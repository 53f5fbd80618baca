import type { Knex } from "knex";
import type { PlanCatalog } from "../catalog/catalog.js";
import { featureValueJson, readFeatureValue } from "../catalog/features.js";
import { LIVE_STATES } from "../catalog/lifecycle.js";
import { unexpired } from "../credits/store.js";
import type { EntitlementSnapshot, FeatureOverride, LimitOverride } from "./features.js";
import type { FeatureOverrideRow } from "./rows.js";

/** What decides a tenant's entitlements at a moment, read inside a transaction. */
export interface TermsInForce {
  /** The live subscription's plan; undefined: none (the default plan). */
  planId: string | undefined;
  planVersion: number | undefined;
  features: FeatureOverride[];
  limits: LimitOverride[];
}

/** Queries over feature overrides and the announced entitlement states. */
export interface FeatureStore {
  /** A tenant's feature overrides by name; with `activeAt`, only those in force then. */
  listOverrides(tenantId: string, activeAt: Date | undefined): Promise<FeatureOverride[]>;
  findOverride(
    trx: Knex.Transaction,
    tenantId: string,
    feature: string,
  ): Promise<FeatureOverride | undefined>;
  upsertOverride(trx: Knex.Transaction, override: FeatureOverride): Promise<void>;
  deleteOverride(trx: Knex.Transaction, tenantId: string, feature: string): Promise<void>;
  /**
   * Locks the tenant's event head (creating it unnumbered) and returns the snapshot last
   * announced. The head is what every writer of the tenant's events locks after its counters,
   * so taking it here keeps one lock order and serialises announcements of one tenant.
   */
  lockState(trx: Knex.Transaction, tenantId: string): Promise<EntitlementSnapshot | undefined>;
  termsInForce(trx: Knex.Transaction, tenantId: string, now: Date): Promise<TermsInForce>;
  saveState(
    trx: Knex.Transaction,
    tenantId: string,
    snapshot: EntitlementSnapshot,
    nextChange: Date | undefined,
    now: Date,
  ): Promise<void>;
  /** Tenants whose announced state may have changed by time alone (an expiry passed). */
  dueTenants(now: Date, limit: number): Promise<string[]>;
  /** The earliest time an override in force expires for some tenant. */
  nextChange(): Promise<Date | undefined>;
}

/** Creates the feature store; `catalog` reads stored values back by each feature's type. */
export function createFeatureStore(knex: Knex, catalog: PlanCatalog): FeatureStore {
  // An override of a feature the catalog no longer declares, or of another type, is ignored.
  const fromDbOverride = (row: FeatureOverrideRow): FeatureOverride | undefined => {
    const definition = catalog.features.get(row.feature);
    const value = definition && readFeatureValue(definition, row.value);
    if (value === undefined || typeof value === "string") return undefined;
    return {
      tenantId: row.tenant_id,
      feature: row.feature,
      value,
      expireTime: row.expire_time ?? undefined,
      createTime: row.create_time,
      updateTime: row.update_time,
    };
  };
  const overridesOf = async (db: Knex | Knex.Transaction, tenantId: string, at?: Date) => {
    const query = db("feature_overrides").where({ tenant_id: tenantId }).orderBy("feature");
    if (at !== undefined) unexpired(query, at);
    return (await query).flatMap((row) => fromDbOverride(row) ?? []);
  };
  return {
    listOverrides: (tenantId, activeAt) => overridesOf(knex, tenantId, activeAt),
    async findOverride(trx, tenantId, feature) {
      const row = await trx("feature_overrides")
        .where({ tenant_id: tenantId, feature })
        .forUpdate()
        .first();
      return row && fromDbOverride(row);
    },
    async upsertOverride(trx, override) {
      await trx("feature_overrides")
        .insert({
          tenant_id: override.tenantId,
          feature: override.feature,
          value: String(featureValueJson(override.value)),
          expire_time: override.expireTime ?? null,
          create_time: override.createTime,
          update_time: override.updateTime,
        })
        .onConflict(["tenant_id", "feature"])
        .merge(["value", "expire_time", "update_time"]);
    },
    async deleteOverride(trx, tenantId, feature) {
      await trx("feature_overrides").where({ tenant_id: tenantId, feature }).delete();
    },
    async lockState(trx, tenantId) {
      await trx.raw(
        `insert into event_heads as h (tenant_id, seq) values (?, 0)
         on conflict (tenant_id) do update set seq = h.seq`,
        [tenantId],
      );
      const row = await trx("entitlement_states").where({ tenant_id: tenantId }).first("snapshot");
      return row?.snapshot as EntitlementSnapshot | undefined;
    },
    // One query after another: a transaction is one connection, which runs one at a time.
    async termsInForce(trx, tenantId, now) {
      const live = await trx("subscriptions")
        .where({ tenant_id: tenantId })
        .whereIn("state", LIVE_STATES)
        .first<{ plan_id: string; plan_version: number } | undefined>("plan_id", "plan_version");
      const features = await overridesOf(trx, tenantId, now);
      const limits = await unexpired(
        trx("entitlement_overrides").where({ tenant_id: tenantId }),
        now,
      );
      return {
        planId: live?.plan_id,
        planVersion: live?.plan_version,
        features,
        limits: limits.map((row) => ({
          resourceType: row.resource_type,
          limit: row.limit_quantity ?? undefined,
          expireTime: row.expire_time ?? undefined,
        })),
      };
    },
    async saveState(trx, tenantId, snapshot, nextChange, now) {
      await trx("entitlement_states")
        .insert({
          tenant_id: tenantId,
          snapshot: JSON.stringify(snapshot),
          next_change_time: nextChange ?? null,
          update_time: now,
        })
        .onConflict("tenant_id")
        .merge(["snapshot", "next_change_time", "update_time"]);
    },
    async nextChange() {
      const row = await knex("entitlement_states")
        .min<{ at: Date | null }>("next_change_time as at")
        .first();
      return row?.at ?? undefined;
    },
    async dueTenants(now, limit) {
      const rows = await knex("entitlement_states")
        .where("next_change_time", "<=", now)
        .orderBy("next_change_time")
        .limit(limit)
        .select("tenant_id");
      return rows.map((row) => row.tenant_id);
    },
  };
}
