import { Decimal } from "decimal.js";
import type { Knex } from "knex";
import type { RequestFingerprint } from "../idempotency/request-fingerprint.js";
import type { Reservation, ReservationState } from "./entitlements.js";

/** Which counter row: one per tenant, resource and period. */
export interface CounterKey {
  tenantId: string;
  resourceType: string;
  periodStart: Date;
}

/** A counter's values. */
export interface Counter {
  used: Decimal;
  reserved: Decimal;
}

/** The stored first answer of an idempotency key. */
export interface StoredAnswer extends RequestFingerprint {
  response: unknown;
}

const ZERO: Counter = { used: new Decimal(0), reserved: new Decimal(0) };

/**
 * The entitlement queries. Each admission is a single statement, so its check and its write
 * are atomic in PostgreSQL without explicit locks: the upsert's `where` is evaluated against
 * the row as it is after any concurrent writer commits. Every method takes the connection or
 * transaction to run on.
 */
export interface EntitlementStore {
  transaction<T>(work: (trx: Knex.Transaction) => Promise<T>): Promise<T>;
  /** Adds `quantity` to `used` only if `used + reserved + quantity <= limit`; undefined if not. */
  admit(db: Knex, key: CounterKey, quantity: Decimal, limit: Decimal): Promise<Counter | undefined>;
  /** Adds `quantity` (which may be negative) to `used`, never going below zero. */
  add(db: Knex, key: CounterKey, quantity: Decimal): Promise<Counter>;
  read(db: Knex, key: CounterKey): Promise<Counter>;
  /** Several counters of one tenant in one query, keyed by resource type. */
  readMany(
    db: Knex,
    tenantId: string,
    keys: Omit<CounterKey, "tenantId">[],
  ): Promise<Map<string, Counter>>;
  /** Holds `reservation.quantity` if it fits `limit` (or always, when unlimited). */
  hold(
    db: Knex,
    reservation: Reservation,
    limit: Decimal | undefined,
  ): Promise<Counter | undefined>;
  findReservation(db: Knex, id: string, forUpdate: boolean): Promise<Reservation | undefined>;
  /** Ends a held reservation: frees its hold and records `committed` as usage, if given. */
  settle(
    db: Knex,
    reservation: Reservation,
    state: ReservationState,
    committed?: Decimal,
  ): Promise<Counter>;
  /** Expires held reservations due at `now` (of one counter, when given); returns how many. */
  expireHeld(
    db: Knex,
    now: Date,
    scope?: { tenantId: string; resourceType: string },
    limit?: number,
  ): Promise<number>;
  /** Inserts the key's record; false when the key was already used (waits for its owner). */
  claimAnswer(
    trx: Knex.Transaction,
    tenantId: string,
    key: string,
    answer: RequestFingerprint,
    now: Date,
  ): Promise<boolean>;
  findAnswer(db: Knex, tenantId: string, key: string): Promise<StoredAnswer | undefined>;
  saveAnswer(
    trx: Knex.Transaction,
    tenantId: string,
    key: string,
    response: unknown,
  ): Promise<void>;
}

/** Creates the entitlement store over the given connection. */
export function createEntitlementStore(knex: Knex): EntitlementStore {
  return {
    transaction: (work) => knex.transaction(work),

    async admit(db, key, quantity, limit) {
      const q = quantity.toFixed();
      const l = limit.toFixed();
      const result = await db.raw(
        `insert into usage_counters as c (tenant_id, resource_type, period_start, used, reserved)
         select ?, ?, ?, ?::numeric, 0 where ?::numeric <= ?::numeric
         on conflict (tenant_id, resource_type, period_start) do update
           set used = c.used + excluded.used
           where c.used + c.reserved + excluded.used <= ?::numeric
         returning used, reserved`,
        [key.tenantId, key.resourceType, key.periodStart, q, q, l, l],
      );
      return firstCounter(result.rows);
    },

    async add(db, key, quantity) {
      const result = await db.raw(
        `insert into usage_counters as c (tenant_id, resource_type, period_start, used, reserved)
         values (?, ?, ?, greatest(?::numeric, 0), 0)
         on conflict (tenant_id, resource_type, period_start) do update
           set used = greatest(c.used + ?::numeric, 0)
         returning used, reserved`,
        [key.tenantId, key.resourceType, key.periodStart, quantity.toFixed(), quantity.toFixed()],
      );
      return firstCounter(result.rows) ?? ZERO;
    },

    async read(db, key) {
      const row = await db("usage_counters")
        .where({
          tenant_id: key.tenantId,
          resource_type: key.resourceType,
          period_start: key.periodStart,
        })
        .first("used", "reserved");
      return row ? fromDbCounter(row) : ZERO;
    },

    async readMany(db, tenantId, keys) {
      const counters = new Map<string, Counter>();
      if (keys.length === 0) return counters;
      const rows = await db("usage_counters")
        .where({ tenant_id: tenantId })
        .where((q) => {
          for (const k of keys)
            q.orWhere({ resource_type: k.resourceType, period_start: k.periodStart });
        })
        .select("resource_type", "used", "reserved");
      for (const row of rows) counters.set(row.resource_type, fromDbCounter(row));
      return counters;
    },

    async hold(db, reservation, limit) {
      const q = reservation.quantity.toFixed();
      const fits = limit === undefined ? "true" : `?::numeric <= ?::numeric`;
      const stillFits =
        limit === undefined ? "true" : `c.used + c.reserved + excluded.reserved <= ?::numeric`;
      const l = limit?.toFixed();
      const result = await db.raw(
        `with counter as (
           insert into usage_counters as c (tenant_id, resource_type, period_start, used, reserved)
           select ?, ?, ?, 0, ?::numeric where ${fits}
           on conflict (tenant_id, resource_type, period_start) do update
             set reserved = c.reserved + excluded.reserved
             where ${stillFits}
           returning used, reserved
         ), held as (
           insert into reservations
             (id, tenant_id, resource_type, period_start, quantity, state, expire_time, create_time)
           select ?, ?, ?, ?, ?::numeric, 'held', ?, ? from counter
         )
         select used, reserved from counter`,
        [
          reservation.tenantId,
          reservation.resourceType,
          reservation.periodStart,
          q,
          ...(l === undefined ? [] : [q, l]),
          ...(l === undefined ? [] : [l]),
          reservation.id,
          reservation.tenantId,
          reservation.resourceType,
          reservation.periodStart,
          q,
          reservation.expireTime,
          reservation.createTime,
        ],
      );
      return firstCounter(result.rows);
    },

    async findReservation(db, id, forUpdate) {
      const query = db("reservations").where({ id }).first();
      if (forUpdate) query.forUpdate();
      const row = await query;
      return row ? fromDbReservation(row) : undefined;
    },

    async settle(db, reservation, state, committed) {
      const c = (committed ?? new Decimal(0)).toFixed();
      const result = await db.raw(
        `with settled as (
           update reservations set state = ?, committed_quantity = ?::numeric
           where id = ? and state = 'held'
           returning tenant_id, resource_type, period_start, quantity
         )
         update usage_counters c
           set reserved = greatest(c.reserved - s.quantity, 0), used = c.used + ?::numeric
           from settled s
           where c.tenant_id = s.tenant_id and c.resource_type = s.resource_type
             and c.period_start = s.period_start
         returning c.used, c.reserved`,
        [state, committed === undefined ? null : c, reservation.id, c],
      );
      return firstCounter(result.rows) ?? ZERO;
    },

    async expireHeld(db, now, scope, limit = 1000) {
      const filter = scope ? "and tenant_id = ? and resource_type = ?" : "";
      const result = await db.raw(
        `with due as (
           select id from reservations
           where state = 'held' and expire_time <= ? ${filter}
           order by expire_time limit ? for update skip locked
         ), expired as (
           update reservations r set state = 'expired' from due where r.id = due.id
           returning r.tenant_id, r.resource_type, r.period_start, r.quantity
         ), freed as (
           select tenant_id, resource_type, period_start, sum(quantity) as quantity
           from expired group by tenant_id, resource_type, period_start
         ), counters as (
           update usage_counters c set reserved = greatest(c.reserved - f.quantity, 0)
           from freed f
           where c.tenant_id = f.tenant_id and c.resource_type = f.resource_type
             and c.period_start = f.period_start
         )
         select count(*)::int as n from expired`,
        [now, ...(scope ? [scope.tenantId, scope.resourceType] : []), limit],
      );
      return (result.rows as { n: number }[])[0]?.n ?? 0;
    },

    async claimAnswer(trx, tenantId, key, answer, now) {
      const inserted = await trx("entitlement_requests")
        .insert({
          tenant_id: tenantId,
          idempotency_key: key,
          operation: answer.operation,
          fingerprint: answer.fingerprint,
          create_time: now,
        })
        .onConflict(["tenant_id", "idempotency_key"])
        .ignore()
        .returning("tenant_id");
      return inserted.length === 1;
    },

    async findAnswer(db, tenantId, key) {
      const row = await db("entitlement_requests")
        .where({ tenant_id: tenantId, idempotency_key: key })
        .first("operation", "fingerprint", "response");
      return row ?? undefined;
    },

    async saveAnswer(trx, tenantId, key, response) {
      await trx("entitlement_requests")
        .where({ tenant_id: tenantId, idempotency_key: key })
        .update({ response: JSON.stringify(response) });
    },
  };
}

function firstCounter(rows: unknown[]): Counter | undefined {
  const row = rows[0] as Record<string, unknown> | undefined;
  return row ? fromDbCounter(row) : undefined;
}

function fromDbCounter(row: Record<string, unknown>): Counter {
  return { used: new Decimal(row.used as string), reserved: new Decimal(row.reserved as string) };
}

function fromDbReservation(row: Record<string, unknown>): Reservation {
  return {
    id: row.id as string,
    tenantId: row.tenant_id as string,
    resourceType: row.resource_type as string,
    quantity: new Decimal(row.quantity as string),
    state: row.state as ReservationState,
    expireTime: row.expire_time as Date,
    committedQuantity:
      row.committed_quantity === null ? undefined : new Decimal(row.committed_quantity as string),
    createTime: row.create_time as Date,
    periodStart: row.period_start as Date,
  };
}
