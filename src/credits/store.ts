import { Decimal } from "decimal.js";
import type { Knex } from "knex";
import type { Grant, Override, TenantAdjustments } from "./credits.js";
import type { GrantRow, OverrideRow } from "./rows.js";

/** Queries over grants and overrides. */
export interface CreditStore {
  /** Overrides in force and resources with active grants at `now`. */
  adjustments(tenantId: string, now: Date): Promise<TenantAdjustments>;
  insertGrant(trx: Knex.Transaction, grant: Grant): Promise<void>;
  /**
   * The tenant a grant belongs to; undefined when there is no such grant (or it is not
   * `tenantId`'s, when given: then the lookup goes to that tenant's shard alone).
   */
  grantTenant(id: string, tenantId?: string): Promise<string | undefined>;
  /** Locks the grant until commit; undefined when there is none. */
  lockGrant(trx: Knex.Transaction, tenantId: string, id: string): Promise<Grant | undefined>;
  voidGrant(trx: Knex.Transaction, tenantId: string, id: string, now: Date): Promise<void>;
  listGrants(tenantId: string, activeAt: Date | undefined): Promise<Grant[]>;
  /** What active grants add per resource: remaining for consumables, quantity for allocations. */
  grantRooms(
    db: Knex,
    tenantId: string,
    allocations: ReadonlySet<string>,
    now: Date,
  ): Promise<Map<string, Decimal>>;
  findOverride(
    trx: Knex.Transaction,
    tenantId: string,
    resourceType: string,
  ): Promise<Override | undefined>;
  upsertOverride(trx: Knex.Transaction, override: Override): Promise<void>;
  /** A tenant's overrides by resource type; with `activeAt`, only those in force then. */
  listOverrides(tenantId: string, activeAt: Date | undefined): Promise<Override[]>;
  deleteOverride(trx: Knex.Transaction, tenantId: string, resourceType: string): Promise<void>;
  /**
   * Re-arms the settle watch of the tenant's counters of a resource: its allowance changed,
   * so thresholds may now lie below where the counter was told to look.
   */
  rearmCounters(trx: Knex.Transaction, tenantId: string, resourceType: string): Promise<void>;
  /** Grants expired by `now` whose expiry is not announced yet: a read over every tenant. */
  dueExpiries(now: Date, limit: number): Promise<Grant[]>;
  /** The earliest expiry after `now` of a grant not voided. */
  nextExpiry(now: Date): Promise<Date | undefined>;
}

// What a grant's id follows in the dedupe key of its `grant.expired` event.
const EXPIRY_KEY_PREFIX = "grant.expired/";

/** The dedupe key of a grant's `grant.expired` event: announced once per grant. */
export function expiryKey(grantId: string): string {
  return `${EXPIRY_KEY_PREFIX}${grantId}`;
}

/** Creates the credit store over the given connection. */
export function createCreditStore(knex: Knex): CreditStore {
  return {
    async adjustments(tenantId, now) {
      const [overrides, grants] = await Promise.all([
        unexpired(knex("entitlement_overrides").where({ tenant_id: tenantId }), now),
        active(knex("credit_grants").where({ tenant_id: tenantId }), now)
          .where("remaining", ">", 0)
          .groupBy("resource_type")
          .select<{ resource_type: string; expire_time: Date | null }[]>(
            "resource_type",
            knex.raw("min(expire_time) as expire_time"),
          ),
      ]);
      const expiries = [...overrides, ...grants]
        .map((row) => row.expire_time)
        .filter((t): t is Date => t !== null)
        .map((t) => t.getTime());
      return {
        overrides: new Map(overrides.map((row) => [row.resource_type, fromDbOverride(row)])),
        grantResources: new Set(grants.map((row) => row.resource_type)),
        validUntil: expiries.length === 0 ? undefined : new Date(Math.min(...expiries)),
      };
    },
    async insertGrant(trx, grant) {
      await trx("credit_grants").insert({
        id: grant.id,
        tenant_id: grant.tenantId,
        resource_type: grant.resourceType,
        quantity: grant.quantity.toFixed(),
        remaining: grant.remaining.toFixed(),
        expire_time: grant.expireTime ?? null,
        reason: grant.reason,
        create_time: grant.createTime,
      });
    },
    async grantTenant(id, tenantId) {
      const query = knex("credit_grants").where({ id });
      if (tenantId !== undefined) query.where({ tenant_id: tenantId });
      const row = await query.first("tenant_id");
      return row?.tenant_id;
    },
    async lockGrant(trx, tenantId, id) {
      const row = await trx("credit_grants").where({ tenant_id: tenantId, id }).forUpdate().first();
      return row && fromDbGrant(row);
    },
    async voidGrant(trx, tenantId, id, now) {
      await trx("credit_grants").where({ tenant_id: tenantId, id }).update({ void_time: now });
    },
    async listGrants(tenantId, activeAt) {
      const query = knex("credit_grants")
        .where({ tenant_id: tenantId })
        .orderBy([
          { column: "create_time", order: "desc" },
          { column: "id", order: "desc" },
        ]);
      if (activeAt !== undefined) active(query, activeAt).where("remaining", ">", 0);
      return (await query).map(fromDbGrant);
    },
    async grantRooms(db, tenantId, allocations, now) {
      const rows = await active(db("credit_grants").where({ tenant_id: tenantId }), now)
        .groupBy("resource_type")
        .select<{ resource_type: string; remaining: string; quantity: string }[]>(
          "resource_type",
          db.raw("sum(remaining)::text as remaining"),
          db.raw("sum(quantity)::text as quantity"),
        );
      return new Map(
        rows.map((row) => [
          row.resource_type,
          new Decimal(allocations.has(row.resource_type) ? row.quantity : row.remaining),
        ]),
      );
    },
    async findOverride(trx, tenantId, resourceType) {
      const row = await trx("entitlement_overrides")
        .where({ tenant_id: tenantId, resource_type: resourceType })
        .forUpdate()
        .first();
      return row && fromDbOverride(row);
    },
    async listOverrides(tenantId, activeAt) {
      const query = knex("entitlement_overrides")
        .where({ tenant_id: tenantId })
        .orderBy("resource_type");
      if (activeAt !== undefined) unexpired(query, activeAt);
      return (await query).map(fromDbOverride);
    },
    async upsertOverride(trx, override) {
      await trx("entitlement_overrides")
        .insert({
          tenant_id: override.tenantId,
          resource_type: override.resourceType,
          limit_quantity: override.limit?.toFixed() ?? null,
          expire_time: override.expireTime ?? null,
          create_time: override.createTime,
          update_time: override.updateTime,
        })
        .onConflict(["tenant_id", "resource_type"])
        .merge(["limit_quantity", "expire_time", "update_time"]);
    },
    async deleteOverride(trx, tenantId, resourceType) {
      await trx("entitlement_overrides")
        .where({ tenant_id: tenantId, resource_type: resourceType })
        .delete();
    },
    async rearmCounters(trx, tenantId, resourceType) {
      await trx("usage_counters")
        .where({ tenant_id: tenantId, resource_type: resourceType })
        .update({ watch_from: "0" });
    },
    async dueExpiries(now, limit) {
      const rows = await knex("credit_grants")
        .whereNull("void_time")
        .where("expire_time", "<=", now)
        .whereNotExists((q) =>
          q
            .from("events as e")
            .whereRaw("e.tenant_id = credit_grants.tenant_id")
            .whereRaw("e.dedupe_key = ? || credit_grants.id", [EXPIRY_KEY_PREFIX]),
        )
        .orderBy("expire_time")
        .limit(limit);
      return rows.map(fromDbGrant);
    },
    async nextExpiry(now) {
      const row = await knex("credit_grants")
        .whereNull("void_time")
        .where("expire_time", ">", now)
        .min<{ at: Date | null }>("expire_time as at")
        .first();
      return row?.at ?? undefined;
    },
  };
}

/** Overrides and grants alike apply until their expiry, if they have one. */
export function unexpired<R extends { expire_time: Date | null }, T>(
  query: Knex.QueryBuilder<R, T>,
  now: Date,
): Knex.QueryBuilder<R, T> {
  return query.where((w) => w.whereNull("expire_time").orWhere("expire_time", ">", now));
}

/** Grants in force: neither voided nor expired. */
function active<T>(
  query: Knex.QueryBuilder<GrantRow, T>,
  now: Date,
): Knex.QueryBuilder<GrantRow, T> {
  return unexpired(query.whereNull("void_time"), now);
}

function fromDbGrant(row: GrantRow): Grant {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    resourceType: row.resource_type,
    quantity: new Decimal(row.quantity),
    remaining: new Decimal(row.remaining),
    expireTime: row.expire_time ?? undefined,
    reason: row.reason,
    createTime: row.create_time,
    voidTime: row.void_time ?? undefined,
  };
}

function fromDbOverride(row: OverrideRow): Override {
  return {
    tenantId: row.tenant_id,
    resourceType: row.resource_type,
    limit: row.limit_quantity === null ? undefined : new Decimal(row.limit_quantity),
    expireTime: row.expire_time ?? undefined,
    createTime: row.create_time,
    updateTime: row.update_time,
  };
}
