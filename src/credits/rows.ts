/*
 * The credit tables as node-postgres (and PGlite, configured alike) return them: numerics as
 * exact strings, timestamps as Dates, absent values as null. Registered with knex, so queries
 * on these tables are typed and no store casts a column.
 */

/** A row of `credit_grants`. */
export interface GrantRow {
  id: string;
  tenant_id: string;
  resource_type: string;
  quantity: string;
  remaining: string;
  expire_time: Date | null;
  reason: string;
  create_time: Date;
  void_time: Date | null;
}

/** A row of `entitlement_overrides`; `limit_quantity` null means unlimited. */
export interface OverrideRow {
  tenant_id: string;
  resource_type: string;
  limit_quantity: string | null;
  expire_time: Date | null;
  create_time: Date;
  update_time: Date;
}

declare module "knex/types/tables.js" {
  interface Tables {
    credit_grants: GrantRow;
    entitlement_overrides: OverrideRow;
  }
}
