import type { Knex } from "knex";
import type { EventRow } from "../events/rows.js";
import type { Cursor } from "../platform/pagination/page-token.js";
import type { Computed, DeliveryRow, EndpointRow } from "./rows.js";
import type {
  ClaimedDelivery,
  Delivery,
  DeliveryAttempt,
  DeliveryState,
  WebhookEndpoint,
} from "./webhooks.js";

/** An endpoint as stored, with its secrets. */
export interface StoredEndpoint extends WebhookEndpoint {
  secret: string;
}

/** How an attempt ended, and what becomes of the delivery. */
export interface AttemptOutcome {
  attempt: DeliveryAttempt;
  state: DeliveryState;
  /** Delay until the next attempt, when `state` is pending. */
  retryInMs: number | undefined;
  /** Set when the receiver asked to stop (410): the endpoint is disabled with this reason. */
  disableReason: string | undefined;
}

/** Queries over endpoints, deliveries and attempts. */
export interface WebhookStore {
  insertEndpoint(endpoint: StoredEndpoint): Promise<void>;
  listEndpoints(): Promise<WebhookEndpoint[]>;
  findEndpoint(id: string): Promise<WebhookEndpoint | undefined>;
  updateEndpoint(
    id: string,
    patch: Partial<Pick<WebhookEndpoint, "url" | "types" | "description" | "enabled">>,
  ): Promise<WebhookEndpoint | undefined>;
  deleteEndpoint(id: string): Promise<boolean>;
  /** Installs a new secret; the old one signs too until `previousUntil`. */
  rotateSecret(
    id: string,
    secret: string,
    previousUntil: Date,
  ): Promise<WebhookEndpoint | undefined>;
  listDeliveries(endpointId: string, limit: number, after: Cursor | undefined): Promise<Delivery[]>;
  /** Makes a delivery due now, whatever its state; undefined when there is none. */
  retryDelivery(id: string): Promise<Delivery | undefined>;
  /**
   * Claims up to `limit` due deliveries of enabled endpoints that no other replica holds,
   * counting the attempt and leasing them for `leaseMs`, so no attempt is made twice. Finds
   * the tenants with due deliveries first, then claims each tenant's in a statement of its own:
   * no statement locks the rows of several tenants.
   */
  claimDue(limit: number, leaseMs: number): Promise<ClaimedDelivery[]>;
  /** Records an attempt's outcome, unless the lease was lost (another replica took over). */
  recordAttempt(delivery: ClaimedDelivery, outcome: AttemptOutcome): Promise<void>;
  /** Milliseconds until the earliest pending delivery of an enabled endpoint is due. */
  nextDueInMs(): Promise<number | undefined>;
  /** Gives a claimed delivery back without counting the attempt (shutdown). */
  release(delivery: ClaimedDelivery): Promise<void>;
}

/** Creates the webhook store. */
export function createWebhookStore(knex: Knex): WebhookStore {
  const withAttempts = async (rows: ListedDeliveryRow[]): Promise<Delivery[]> => {
    if (rows.length === 0) return [];
    const attempts = await knex("webhook_attempts")
      .whereIn(
        ["tenant_id", "delivery_id"],
        rows.map((r) => [r.tenant_id, r.id]),
      )
      .orderBy(["delivery_id", "attempt"]);
    return rows.map((row) => ({
      id: row.id,
      endpointId: row.endpoint_id,
      eventId: row.event_id,
      eventType: row.event_type,
      state: row.state,
      attemptCount: row.attempts,
      nextAttemptTime: row.state === "pending" ? row.next_attempt_time : undefined,
      lastStatusCode: row.last_status_code ?? undefined,
      lastError: row.last_error,
      createTime: row.create_time,
      attempts: attempts
        .filter((a) => a.delivery_id === row.id)
        .map((a) => ({
          attempt: a.attempt,
          statusCode: a.status_code ?? undefined,
          error: a.error,
          durationMs: a.duration_ms,
          createTime: a.create_time,
        })),
    }));
  };
  // Joined on the tenant too, so each shard joins its own rows.
  const deliveries = () =>
    knex("webhook_deliveries as d")
      .join("events as ev", (on) =>
        on.on("ev.tenant_id", "d.tenant_id").andOn("ev.id", "d.event_id"),
      )
      .select<ListedDeliveryRow[]>("d.*", "ev.type as event_type");
  const claimTenant = async (tenantId: string, limit: number, leaseMs: number) => {
    const result = await knex.raw<{ rows: ClaimedRow[] }>(
      `with due as (
         select d.id from webhook_deliveries d
         join webhook_endpoints e on e.id = d.endpoint_id and e.enabled
         where d.tenant_id = ? and d.state = 'pending' and d.next_attempt_time <= now()
           and (d.lease_until is null or d.lease_until < now())
         order by d.next_attempt_time
         limit ?
         for update of d skip locked
       ), claimed as (
         update webhook_deliveries d
         set attempts = d.attempts + 1, lease_until = now() + ? * interval '1 millisecond',
           update_time = now()
         from due where d.tenant_id = ? and d.id = due.id
         returning d.tenant_id, d.id, d.attempts, d.event_id, d.endpoint_id
       )
       select c.*, ev.type, ev.data, ev.create_time, e.url, e.secret, e.previous_secret,
         e.previous_secret_expire_time > now() as previous_valid
       from claimed c
       join events ev on ev.tenant_id = ? and ev.id = c.event_id
       join webhook_endpoints e on e.id = c.endpoint_id`,
      [tenantId, limit, leaseMs, tenantId, tenantId],
    );
    return result.rows;
  };
  return {
    async insertEndpoint(endpoint) {
      await knex("webhook_endpoints").insert({
        id: endpoint.id,
        url: endpoint.url,
        types: endpoint.types,
        description: endpoint.description,
        enabled: endpoint.enabled,
        disabled_reason: endpoint.disabledReason,
        secret: endpoint.secret,
        create_time: endpoint.createTime,
        update_time: endpoint.updateTime,
      });
    },
    async listEndpoints() {
      const rows = await knex("webhook_endpoints")
        .orderBy(["create_time", "id"])
        .select(...ENDPOINT_COLUMNS);
      return rows.map(fromDbEndpoint);
    },
    async findEndpoint(id) {
      const row = await knex("webhook_endpoints")
        .where({ id })
        .first(...ENDPOINT_COLUMNS);
      return row && fromDbEndpoint(row);
    },
    async updateEndpoint(id, patch) {
      const changes: Computed<EndpointRow, "update_time"> = { update_time: knex.fn.now() };
      if (patch.url !== undefined) changes.url = patch.url;
      if (patch.types !== undefined) changes.types = patch.types;
      if (patch.description !== undefined) changes.description = patch.description;
      if (patch.enabled !== undefined) {
        changes.enabled = patch.enabled;
        changes.disabled_reason = patch.enabled ? "" : "disabled by an operator";
      }
      const [row] = await knex("webhook_endpoints")
        .where({ id })
        .update(changes)
        .returning([...ENDPOINT_COLUMNS]);
      return row && fromDbEndpoint(row);
    },
    async deleteEndpoint(id) {
      return (await knex("webhook_endpoints").where({ id }).delete()) === 1;
    },
    async rotateSecret(id, secret, previousUntil) {
      const [row] = await knex("webhook_endpoints")
        .where({ id })
        .update({
          previous_secret: knex.ref("secret"),
          previous_secret_expire_time: previousUntil,
          secret,
          update_time: knex.fn.now(),
        })
        .returning([...ENDPOINT_COLUMNS]);
      return row && fromDbEndpoint(row);
    },
    async listDeliveries(endpointId, limit, after) {
      const query = deliveries()
        .where("d.endpoint_id", endpointId)
        .orderBy([
          { column: "d.create_time", order: "desc" },
          { column: "d.id", order: "desc" },
        ])
        .limit(limit);
      if (after !== undefined)
        query.whereRaw("(d.create_time, d.id) < (?, ?)", [after.time, after.id]);
      return withAttempts(await query);
    },
    async retryDelivery(id) {
      // The id alone names no tenant: found on every shard, then changed on its own.
      const found = await knex("webhook_deliveries").where({ id }).first("tenant_id");
      if (found === undefined) return undefined;
      const key = { tenant_id: found.tenant_id, id };
      const updated = await knex("webhook_deliveries").where(key).update({
        state: "pending",
        next_attempt_time: knex.fn.now(),
        lease_until: null,
        update_time: knex.fn.now(),
      });
      if (updated === 0) return undefined;
      return (
        await withAttempts(await deliveries().where("d.tenant_id", key.tenant_id).where("d.id", id))
      )[0];
    },
    async claimDue(limit, leaseMs) {
      const tenants = await knex("webhook_deliveries as d")
        .join("webhook_endpoints as e", "e.id", "d.endpoint_id")
        .where("e.enabled", true)
        .where("d.state", "pending")
        .whereRaw("d.next_attempt_time <= now()")
        .whereRaw("(d.lease_until is null or d.lease_until < now())")
        .distinct("d.tenant_id")
        .limit(limit);
      const rows: ClaimedRow[] = [];
      for (const { tenant_id } of tenants) {
        if (rows.length >= limit) break;
        rows.push(...(await claimTenant(tenant_id, limit - rows.length, leaseMs)));
      }
      return rows.map((row) => ({
        id: row.id,
        tenantId: row.tenant_id,
        attempt: row.attempts,
        eventId: row.event_id,
        eventType: row.type,
        eventTime: row.create_time,
        data: row.data,
        endpointId: row.endpoint_id,
        url: row.url,
        secrets: [
          row.secret,
          ...(row.previous_valid === true && row.previous_secret !== null
            ? [row.previous_secret]
            : []),
        ],
      }));
    },
    async recordAttempt(delivery, outcome) {
      await knex.transaction(async (trx) => {
        const updated = await trx("webhook_deliveries")
          .where({ tenant_id: delivery.tenantId, id: delivery.id, attempts: delivery.attempt })
          .update({
            state: outcome.state,
            next_attempt_time:
              outcome.retryInMs === undefined
                ? trx.fn.now()
                : trx.raw("now() + ? * interval '1 millisecond'", [outcome.retryInMs]),
            lease_until: null,
            last_status_code: outcome.attempt.statusCode ?? null,
            last_error: outcome.attempt.error,
            update_time: trx.fn.now(),
          });
        if (updated === 0) return;
        await trx("webhook_attempts").insert({
          tenant_id: delivery.tenantId,
          delivery_id: delivery.id,
          attempt: outcome.attempt.attempt,
          status_code: outcome.attempt.statusCode ?? null,
          error: outcome.attempt.error,
          duration_ms: outcome.attempt.durationMs,
          create_time: outcome.attempt.createTime,
        });
        if (outcome.disableReason !== undefined) {
          await trx("webhook_endpoints").where({ id: delivery.endpointId }).update({
            enabled: false,
            disabled_reason: outcome.disableReason,
            update_time: trx.fn.now(),
          });
        }
      });
    },
    async nextDueInMs() {
      const result = await knex.raw<{ rows: { ms: string | null }[] }>(
        `select extract(epoch from min(greatest(d.next_attempt_time, d.lease_until)) - now())
           * 1000 as ms
         from webhook_deliveries d
         join webhook_endpoints e on e.id = d.endpoint_id and e.enabled
         where d.state = 'pending'`,
      );
      const ms = result.rows[0]?.ms;
      return ms == null ? undefined : Math.max(0, Number(ms));
    },
    async release(delivery) {
      await knex("webhook_deliveries")
        .where({ tenant_id: delivery.tenantId, id: delivery.id, attempts: delivery.attempt })
        .update({ attempts: delivery.attempt - 1, lease_until: null });
    },
  };
}

/** The endpoint columns a listing shows: never the secrets. */
const ENDPOINT_COLUMNS = [
  "id",
  "url",
  "types",
  "description",
  "enabled",
  "disabled_reason",
  "create_time",
  "update_time",
] as const;

/** A delivery as listed: its row and its event's type. */
type ListedDeliveryRow = DeliveryRow & { event_type: string };

/** A delivery as `claimDue` returns it: with its event and its endpoint's address and secrets. */
type ClaimedRow = Pick<DeliveryRow, "tenant_id" | "id" | "attempts" | "event_id" | "endpoint_id"> &
  Pick<EventRow, "type" | "data" | "create_time"> &
  Pick<EndpointRow, "url" | "secret" | "previous_secret"> & { previous_valid: boolean | null };

function fromDbEndpoint(
  row: Pick<EndpointRow, (typeof ENDPOINT_COLUMNS)[number]>,
): WebhookEndpoint {
  return {
    id: row.id,
    url: row.url,
    types: row.types,
    description: row.description,
    enabled: row.enabled,
    disabledReason: row.disabled_reason,
    createTime: row.create_time,
    updateTime: row.update_time,
  };
}
