import type { Knex } from "knex";

/*
 * The audit table as the drivers return it (timestamps as Dates, jsonb parsed, absent values
 * as null), registered with knex so the store casts no column.
 */

/** A row of `audit_events`. */
export interface AuditEventRow {
  id: string;
  actor: string;
  action: string;
  tenant_id: string;
  target: string;
  request_id: string;
  create_time: Date;
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
}

/**
 * What an insert gives: the database makes the id and defaults the rest but the actor and the
 * action; jsonb goes in as text.
 */
type NewAuditEventRow = Pick<AuditEventRow, "actor" | "action"> &
  Partial<Pick<AuditEventRow, "tenant_id" | "target" | "request_id" | "create_time">> & {
    before?: string | null;
    after?: string | null;
  };

declare module "knex/types/tables.js" {
  interface Tables {
    audit_events: Knex.CompositeTableType<AuditEventRow, NewAuditEventRow>;
  }
}
