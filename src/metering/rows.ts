import type { Knex } from "knex";

/*
 * The meter outbox as the drivers return it (numerics as exact strings, timestamps as Dates),
 * registered with knex so the store casts no column.
 */

/** A row of `meter_positions`: how much of a counter's period the provider has been told. */
export interface PositionRow {
  tenant_id: string;
  resource_type: string;
  period_start: Date;
  reported: string;
  /** Deltas written so far: numbers each delta, so its identifier is unique. */
  reports: number;
}

/** A row of `meter_reports`: one meter event, sent once under its identifier. */
export interface ReportRow {
  identifier: string;
  tenant_id: string;
  resource_type: string;
  period_start: Date;
  customer_id: string;
  event_name: string;
  value: string;
  event_time: Date;
  state: "pending" | "sent" | "failed";
  attempts: number;
  next_attempt_time: Date;
  first_attempt_time: Date | null;
  sent_time: Date | null;
  last_error: string | null;
  create_time: Date;
}

type ReportUpdate = Partial<Omit<ReportRow, "attempts" | "first_attempt_time">> & {
  attempts?: Knex.Raw;
  first_attempt_time?: Knex.Raw;
};

declare module "knex/types/tables.js" {
  interface Tables {
    meter_positions: PositionRow;
    meter_reports: Knex.CompositeTableType<
      ReportRow,
      Omit<ReportRow, "attempts" | "first_attempt_time" | "sent_time" | "last_error">,
      ReportUpdate
    >;
  }
}
