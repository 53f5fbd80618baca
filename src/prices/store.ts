import type { Knex } from "knex";
import { type Pricing, pricingToJson } from "../catalog/pricing.js";
import { type RawPricing, readPricing } from "../catalog/pricing-rules.js";
import { inForce, type PeriodPrices, type PriceOverride } from "./prices.js";
import type { PriceOverrideRow } from "./rows.js";

/** Where an override stands at the billing provider. */
export type ProviderPhase = PriceOverrideRow["provider_phase"];

/** Queries over price overrides. */
export interface PriceStore {
  insert(trx: Knex.Transaction, override: PriceOverride): Promise<void>;
  /**
   * Locks and returns the tenant's overrides of `counter` whose time overlaps
   * `[start, end)` (end undefined: open), deleted ones left out.
   */
  overlapping(
    trx: Knex.Transaction,
    tenantId: string,
    counter: string,
    start: Date,
    end: Date | undefined,
  ): Promise<PriceOverride[]>;
  /** Locks one override until commit; undefined when the tenant has no such one. */
  lock(trx: Knex.Transaction, tenantId: string, id: string): Promise<PriceOverride | undefined>;
  markDeleted(trx: Knex.Transaction, tenantId: string, id: string, now: Date): Promise<void>;
  /** A tenant's overrides by start time; with `now`, only those not ended by then. */
  list(tenantId: string, now: Date | undefined): Promise<PriceOverride[]>;
  /** The overrides in force at `at`, by counter. */
  inForceAt(tenantId: string, at: Date): Promise<PeriodPrices>;
  /**
   * Overrides whose phase at the provider lags `now`: started but not applied, or ended but
   * not restored; oldest start first, across tenants (unlocked: `lockForSync` decides).
   */
  lagging(now: Date, limit: number): Promise<{ tenantId: string; id: string }[]>;
  /** Locks one override for a sync unless another replica holds it; with its phase. */
  lockForSync(
    trx: Knex.Transaction,
    tenantId: string,
    id: string,
  ): Promise<{ override: PriceOverride; phase: ProviderPhase } | undefined>;
  setPhase(
    trx: Knex.Transaction,
    tenantId: string,
    id: string,
    phase: ProviderPhase,
    providerPriceId: string | undefined,
  ): Promise<void>;
}

/** Creates the store over a connection (the lookup pool for reads on hot paths). */
export function createPriceStore(knex: Knex): PriceStore {
  const live = (db: Knex | Knex.Transaction, tenantId: string) =>
    db("price_overrides").where({ tenant_id: tenantId }).whereNull("delete_time");
  return {
    async insert(trx, o) {
      await trx("price_overrides").insert({
        tenant_id: o.tenantId,
        id: o.id,
        resource_type: o.counter,
        pricing: JSON.stringify(pricingToJson(o.pricing)),
        currency: o.currency,
        start_time: o.startTime,
        end_time: o.endTime ?? null,
        create_time: o.createTime,
      });
    },
    async overlapping(trx, tenantId, counter, start, end) {
      const query = live(trx, tenantId)
        .where({ resource_type: counter })
        .where((q) => q.whereNull("end_time").orWhere("end_time", ">", start));
      if (end !== undefined) query.where("start_time", "<", end);
      return (await query.forUpdate()).map(fromRow);
    },
    async lock(trx, tenantId, id) {
      const row = await trx("price_overrides")
        .where({ tenant_id: tenantId, id })
        .forUpdate()
        .first();
      return row && fromRow(row);
    },
    async markDeleted(trx, tenantId, id, now) {
      await trx("price_overrides").where({ tenant_id: tenantId, id }).update({ delete_time: now });
    },
    async list(tenantId, now) {
      const query = knex("price_overrides").where({ tenant_id: tenantId });
      if (now !== undefined) {
        query
          .whereNull("delete_time")
          .where((q) => q.whereNull("end_time").orWhere("end_time", ">", now));
      }
      return (await query.orderBy([{ column: "start_time" }, { column: "id" }])).map(fromRow);
    },
    async lagging(now, limit) {
      const ended = (q: Knex.QueryBuilder) =>
        q.where("end_time", "<=", now).orWhere("delete_time", "<=", now);
      return (
        await knex("price_overrides")
          .where((q) =>
            q
              .where((n) => n.where({ provider_phase: "none" }).where("start_time", "<=", now))
              .orWhere((a) => a.whereIn("provider_phase", ["none", "applied"]).where(ended)),
          )
          .orderBy("start_time")
          .limit(limit)
          .select("tenant_id", "id")
      ).map((row) => ({ tenantId: row.tenant_id, id: row.id }));
    },
    async lockForSync(trx, tenantId, id) {
      const row = await trx("price_overrides")
        .where({ tenant_id: tenantId, id })
        .forUpdate()
        .skipLocked()
        .first();
      return row && { override: fromRow(row), phase: row.provider_phase };
    },
    async setPhase(trx, tenantId, id, phase, providerPriceId) {
      await trx("price_overrides")
        .where({ tenant_id: tenantId, id })
        .update({ provider_phase: phase, provider_price_id: providerPriceId ?? null });
    },
    async inForceAt(tenantId, at) {
      const rows = await knex("price_overrides")
        .where({ tenant_id: tenantId })
        .where("start_time", "<=", at)
        .where((q) => q.whereNull("end_time").orWhere("end_time", ">", at))
        .where((q) => q.whereNull("delete_time").orWhere("delete_time", ">", at));
      const overrides = rows.map(fromRow).filter((o) => inForce(o, at));
      return new Map(overrides.map((o) => [o.counter, o]));
    },
  };
}

/** An override from its row; the stored price was checked when it was set. */
export function fromRow(row: PriceOverrideRow): PriceOverride {
  const json = typeof row.pricing === "string" ? JSON.parse(row.pricing) : row.pricing;
  return {
    id: row.id,
    tenantId: row.tenant_id,
    counter: row.resource_type,
    pricing: readPricing(json as RawPricing, row.currency, "price_overrides.pricing")
      .pricing as Pricing,
    currency: row.currency,
    startTime: row.start_time,
    endTime: row.end_time ?? undefined,
    createTime: row.create_time,
    deleteTime: row.delete_time ?? undefined,
    providerPriceId: row.provider_price_id ?? undefined,
  };
}
