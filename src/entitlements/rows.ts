import type { Knex } from "knex";
import type { ReservationState } from "./entitlements.js";

/*
 * The entitlement tables as the drivers return them (numerics as exact strings, timestamps as
 * Dates), registered with knex so the store casts no column. The admission and settle
 * functions write them; the store reads them and the queue.
 */

/** A row of `usage_counters`: one resource's usage in one period. */
export interface CounterRow {
  tenant_id: string;
  resource_type: string;
  period_start: Date;
  used: string;
  reserved: string;
  /** Drawn from grants this period. */
  granted: string;
  /** `used` as the settle sweep last saw it: thresholds between the two are announced. */
  settled_used: string;
  alerted: string;
  denied: boolean;
  watch_from: string | null;
  /** How the counter aggregates (`sum`, `count`, `unique_count`, `max`, `latest`). */
  aggregation: string;
  /** A `latest` counter's usage time and key (event id) of the value it holds. */
  latest_time: Date | null;
  latest_key: string | null;
}

/** A row of `meter_members`: a member a `unique_count` counter has counted in a period. */
export interface MemberRow {
  tenant_id: string;
  resource_type: string;
  period_start: Date;
  member: string;
}

/** A row of `reservations`: a hold on a counter until it is committed, released or expires. */
export interface ReservationRow {
  id: string;
  tenant_id: string;
  resource_type: string;
  period_start: Date;
  quantity: string;
  state: ReservationState;
  expire_time: Date;
  committed_quantity: string | null;
  create_time: Date;
  /** The other counters (same period) the hold sits on: the resource's total, its dimension limits. */
  parts: string[];
}

/** A row of `counter_settle_queue`: a counter changed by a call that did not know its limits. */
export interface SettleQueueRow {
  /** A random UUID: the queue has no order, so no sequence numbers it. */
  id: string;
  tenant_id: string;
  resource_type: string;
  period_start: Date;
}

declare module "knex/types/tables.js" {
  interface Tables {
    usage_counters: CounterRow;
    reservations: ReservationRow;
    meter_members: MemberRow;
    counter_settle_queue: Knex.CompositeTableType<SettleQueueRow, Omit<SettleQueueRow, "id">>;
  }
}
