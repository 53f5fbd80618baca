/*
 * The feature tables as node-postgres returns them: timestamps as Dates, absent values as
 * null. Registered with knex, so queries on these tables are typed.
 */

/** A row of `feature_overrides`; `value` as the request wrote it. */
export interface FeatureOverrideRow {
  tenant_id: string;
  feature: string;
  value: string;
  expire_time: Date | null;
  create_time: Date;
  update_time: Date;
}

/** A row of `entitlement_states`: what the tenant was last announced to be entitled to. */
export interface EntitlementStateRow {
  tenant_id: string;
  snapshot: unknown;
  next_change_time: Date | null;
  update_time: Date;
}

declare module "knex/types/tables.js" {
  interface Tables {
    feature_overrides: FeatureOverrideRow;
    entitlement_states: EntitlementStateRow;
  }
}
