import type { Knex } from "knex";

/*
 * The event log as the drivers return it (`seq`, a bigint, as an exact string; jsonb parsed),
 * registered with knex so the store casts no column.
 */

/** A row of `events`. */
export interface EventRow {
  id: string;
  seq: string;
  tenant_id: string;
  type: string;
  data: Record<string, unknown>;
  dedupe_key: string | null;
  create_time: Date;
}

declare module "knex/types/tables.js" {
  interface Tables {
    // Events are written by `tollgate_emit` in SQL only; the store reads them.
    events: Knex.CompositeTableType<EventRow, never, never>;
    // A tenant's latest event number, advanced by `tollgate_emit`.
    event_heads: Knex.CompositeTableType<{ tenant_id: string; seq: string }, never, never>;
  }
}
