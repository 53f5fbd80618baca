import type { Knex } from "knex";
import type { DeliveryState } from "./webhooks.js";

/*
 * The webhook tables as the drivers return them, registered with knex so the store casts no
 * column. Updates may set times from the database's clock (`now()`), hence `Knex.Raw`.
 */

/** A row of `webhook_endpoints`, secrets included. */
export interface EndpointRow {
  id: string;
  url: string;
  types: string[];
  description: string;
  enabled: boolean;
  disabled_reason: string;
  secret: string;
  /** The secret before the last rotation, valid until `previous_secret_expire_time`. */
  previous_secret: string | null;
  previous_secret_expire_time: Date | null;
  create_time: Date;
  update_time: Date;
}

/** A row of `webhook_deliveries`: one event to one endpoint. */
export interface DeliveryRow {
  tenant_id: string;
  id: string;
  endpoint_id: string;
  event_id: string;
  state: DeliveryState;
  attempts: number;
  next_attempt_time: Date;
  /** Set while a dispatcher holds the delivery. */
  lease_until: Date | null;
  last_status_code: number | null;
  last_error: string;
  create_time: Date;
  update_time: Date;
}

/** A row of `webhook_attempts`: one try of a delivery. */
export interface AttemptRow {
  tenant_id: string;
  delivery_id: string;
  attempt: number;
  status_code: number | null;
  error: string;
  duration_ms: number;
  create_time: Date;
}

/** Columns an update may set from SQL rather than from a value. */
export type Computed<R, K extends keyof R> = Partial<Omit<R, K>> & {
  [P in K]?: R[P] | Knex.Raw | Knex.Ref<string, Record<string, string>>;
};

declare module "knex/types/tables.js" {
  interface Tables {
    webhook_endpoints: Knex.CompositeTableType<
      EndpointRow,
      Omit<EndpointRow, "previous_secret" | "previous_secret_expire_time">,
      Computed<EndpointRow, "update_time" | "previous_secret">
    >;
    webhook_deliveries: Knex.CompositeTableType<
      DeliveryRow,
      DeliveryRow,
      Computed<DeliveryRow, "update_time" | "next_attempt_time">
    >;
    webhook_attempts: AttemptRow;
  }
}
