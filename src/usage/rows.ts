/*
 * Usage events as the drivers return them, registered with knex so queries on the table are
 * typed. Flushes write them with COPY or from JSON in SQL, so only reads go through knex.
 */

/** A row of `usage_events`: stored once per `(tenant_id, event_id)`. */
export interface UsageEventRow {
  tenant_id: string;
  event_id: string;
  resource_type: string;
  quantity: string;
  occur_time: Date;
  attributes: Record<string, string>;
  /** The counter period the event counted in. */
  period_start: Date;
  ingest_time: Date;
}

declare module "knex/types/tables.js" {
  interface Tables {
    usage_events: UsageEventRow;
  }
}
