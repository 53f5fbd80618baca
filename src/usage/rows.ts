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
  /** When the event was voided (VoidUsage, ReplaceUsage); null while it counts. */
  void_time: Date | null;
  void_reason: string | null;
  /** Who voided it: an API key prefix. */
  voided_by: string | null;
  void_request_id: string | null;
}

/**
 * A row of `usage_rollups`: the events of one resource with the same attributes in one
 * quarter hour, aggregated (`max`, and `latest` with the time and id of its event).
 */
export interface UsageRollupRow {
  tenant_id: string;
  resource_type: string;
  bucket_start: Date;
  attributes: Record<string, string>;
  quantity: string;
  events: string;
  max: string;
  latest: string;
  latest_time: Date;
  latest_key: string;
  /** The attribute names `attributes` kept (the meter's dimensions); null: every one. */
  kept: string[] | null;
}

declare module "knex/types/tables.js" {
  interface Tables {
    usage_events: UsageEventRow;
    usage_rollups: UsageRollupRow;
  }
}
