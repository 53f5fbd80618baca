/*
 * The price override table as node-postgres returns it: timestamps as Dates, jsonb parsed,
 * absent values as null. Registered with knex, so queries on it are typed.
 */

/** A row of `price_overrides`. */
export interface PriceOverrideRow {
  tenant_id: string;
  id: string;
  resource_type: string;
  pricing: Record<string, unknown> | string;
  currency: string;
  start_time: Date;
  end_time: Date | null;
  create_time: Date;
  delete_time: Date | null;
  provider_price_id: string | null;
  provider_phase: "none" | "applied" | "restored";
}

declare module "knex/types/tables.js" {
  interface Tables {
    price_overrides: PriceOverrideRow;
  }
}
