import { Decimal } from "decimal.js";
import type { Knex } from "knex";
import { reviveReservation } from "./answers.js";
import type { Reservation } from "./entitlements.js";

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
  /** Drawn from grants this period. */
  granted: Decimal;
}

/**
 * A counter's limits as the batch applies them: `allowance` (the plan's or the override's),
 * the overage `cap` of a soft limit (undefined: none) or `hard`, whether the tenant has
 * `grants` on the resource (their balance is read in the batch), the resource kind, the
 * threshold fractions to announce and the plan, for events.
 */
export interface LimitInfo {
  allowance: Decimal;
  cap: Decimal | undefined;
  hard: boolean;
  grants: boolean;
  allocation: boolean;
  thresholds: readonly Decimal[];
  planId: string;
}

/** What identifies a request behind an idempotency key, stored with its first answer. */
export interface IdempotencyClaim {
  key: string;
  operation: string;
  fingerprint: string;
}

/**
 * One call on a counter: `admit` adds `quantity` to `used` if `used + reserved + quantity`
 * stays within the ceiling of `limits` (allowance plus grants, plus the cap of a soft limit);
 * `hold` adds it to `reserved` under the same rule (always, when `limits` is undefined: nothing
 * limits the resource) and stores the reservation `hold`; `add` adds it to `used` (which never
 * goes below zero) without a check; `read` changes nothing. With `limits`, the batch also
 * settles the counter: grant draws, threshold events, the period's first denial.
 */
export interface CounterOp {
  kind: "admit" | "hold" | "add" | "read";
  key: CounterKey;
  quantity: Decimal;
  limits: LimitInfo | undefined;
  idempotency: IdempotencyClaim | undefined;
  /**
   * The call's answer in its stored JSON form, which the batch completes with the counter's
   * values (and a denial, when it does not fit) and stores as the key's first answer.
   */
  answer: Record<string, unknown>;
  hold?: { id: string; expireTime: Date; createTime: Date };
}

/** Ends a held reservation: `commit` records `quantity` (default: the held quantity). */
export interface SettleOp {
  kind: "commit" | "release";
  reservationId: string;
  quantity: Decimal | undefined;
  /** The only tenant the caller may touch; undefined for admins. */
  scope: string | undefined;
}

export type AdmissionOp = CounterOp | SettleOp;

/** Whether the op ends a reservation (its counter is known only once the batch reads it). */
export function isSettleOp(op: AdmissionOp): op is SettleOp {
  return op.kind === "commit" || op.kind === "release";
}

/**
 * What became of one call of a batch. `done`: decided and written; `replay`: its idempotency
 * key was used before (`answer` holds `operation`, `fingerprint` and `response`); `busy`: the
 * key's first call has no answer; `deadline`: dropped unstarted; `not_found`, `forbidden`,
 * `refused` (the reservation's state forbids it) and `unchanged` (already in that state) for
 * commits and releases.
 */
export interface AdmissionOutcome {
  outcome:
    | "done"
    | "replay"
    | "busy"
    | "deadline"
    | "not_found"
    | "forbidden"
    | "refused"
    | "unchanged";
  counter: Counter | undefined;
  answer: Record<string, unknown> | undefined;
  reservation: Reservation | undefined;
}

/** The entitlement queries. Every method takes the connection or transaction to run on. */
export interface EntitlementStore {
  /**
   * Decides and writes a batch in arrival order in one statement (`tollgate_admit`): one round
   * trip, one transaction, each counter written once. `budgetsMs[i]` is how long call `i`'s
   * caller still waits; a call whose budget runs out before its locks are held is dropped.
   */
  admitBatch(
    ops: AdmissionOp[],
    budgetsMs: (number | undefined)[],
    now: Date,
  ): Promise<AdmissionOutcome[]>;
  read(db: Knex, key: CounterKey): Promise<Counter>;
  /** Several counters of one tenant in one query, keyed by resource type. */
  readMany(
    db: Knex,
    tenantId: string,
    keys: Omit<CounterKey, "tenantId">[],
  ): Promise<Map<string, Counter>>;
  /** Up to `limit` counters queued for settling, oldest first, with their queue ids. */
  queuedCounters(limit: number): Promise<(CounterKey & { id: string })[]>;
  /**
   * Takes the queue entries `ids` that no other transaction holds and settles their counters
   * with the limits `limitsOf` gives (undefined: nothing limits the resource), in one
   * transaction; returns how many counters were settled.
   */
  settleQueued(
    ids: readonly string[],
    limitsOf: (key: CounterKey) => LimitInfo | undefined,
    now: Date,
  ): Promise<number>;
  /** Expires held reservations due at `now` (of one counter, when given); returns how many. */
  expireHeld(
    db: Knex,
    now: Date,
    scope?: { tenantId: string; resourceType: string },
    limit?: number,
  ): Promise<number>;
}

/** A counter with no row yet. */
export const ZERO_COUNTER: Counter = {
  used: new Decimal(0),
  reserved: new Decimal(0),
  granted: new Decimal(0),
};

/** Creates the entitlement store over the given connection. */
export function createEntitlementStore(knex: Knex): EntitlementStore {
  return {
    async admitBatch(ops, budgetsMs, now) {
      const json = JSON.stringify(ops.map((op, i) => toWireOp(op, i, budgetsMs[i])));
      const result = await knex.raw("select * from tollgate_admit(?::jsonb, ?)", [json, now]);
      return (result.rows as OutcomeRow[]).map(fromOutcomeRow);
    },

    async read(db, key) {
      const row = await db("usage_counters")
        .where({
          tenant_id: key.tenantId,
          resource_type: key.resourceType,
          period_start: key.periodStart,
        })
        .first("used", "reserved", "granted");
      return row ? fromDbCounter(row) : ZERO_COUNTER;
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
        .select("resource_type", "used", "reserved", "granted");
      for (const row of rows) counters.set(row.resource_type, fromDbCounter(row));
      return counters;
    },

    async queuedCounters(limit) {
      const rows = await knex("counter_settle_queue")
        .orderBy("id")
        .limit(limit)
        .select("id", "tenant_id", "resource_type", "period_start");
      return rows.map((row: Record<string, unknown>) => ({
        id: String(row.id),
        tenantId: row.tenant_id as string,
        resourceType: row.resource_type as string,
        periodStart: row.period_start as Date,
      }));
    },

    settleQueued(ids, limitsOf, now) {
      return knex.transaction(async (trx) => {
        const taken = await trx.raw(
          `delete from counter_settle_queue where id in (
             select id from counter_settle_queue where id = any(?::bigint[])
             for update skip locked)
           returning tenant_id, resource_type, period_start`,
          [[...ids]],
        );
        const keys = new Map<string, CounterKey>();
        for (const row of taken.rows as Record<string, unknown>[]) {
          const key = {
            tenantId: row.tenant_id as string,
            resourceType: row.resource_type as string,
            periodStart: row.period_start as Date,
          };
          keys.set(`${key.tenantId}/${key.resourceType}/${key.periodStart.getTime()}`, key);
        }
        if (keys.size === 0) return 0;
        const counters = [...keys.values()].map((key) => {
          const limits = limitsOf(key);
          return {
            t: key.tenantId,
            r: key.resourceType,
            p: key.periodStart,
            i: limits && wireLimits(limits),
          };
        });
        const result = await trx.raw("select tollgate_settle(?::jsonb, ?) as n", [
          JSON.stringify(counters),
          now,
        ]);
        return (result.rows as { n: number }[])[0]?.n ?? 0;
      });
    },

    // Skips reservations another transaction holds, and locks the counters it frees in key
    // order, as admission batches do, so the sweep never deadlocks with them.
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
         ), locked as (
           select c.tenant_id, c.resource_type, c.period_start, f.quantity
           from usage_counters c join freed f using (tenant_id, resource_type, period_start)
           order by c.tenant_id, c.resource_type, c.period_start
           for update of c
         ), counters as (
           update usage_counters c set reserved = greatest(c.reserved - l.quantity, 0)
           from locked l
           where c.tenant_id = l.tenant_id and c.resource_type = l.resource_type
             and c.period_start = l.period_start
         )
         select count(*)::int as n from expired`,
        [now, ...(scope ? [scope.tenantId, scope.resourceType] : []), limit],
      );
      return (result.rows as { n: number }[])[0]?.n ?? 0;
    },
  };
}

// The op as `tollgate_admit` reads it (field names in migrations 0007 and 0009).
function toWireOp(op: AdmissionOp, index: number, budgetMs: number | undefined) {
  const b = budgetMs === undefined ? undefined : Math.max(0, Math.floor(budgetMs));
  if (isSettleOp(op)) {
    return {
      n: index + 1,
      k: op.kind,
      id: op.reservationId,
      q: op.quantity?.toFixed(),
      s: op.scope,
      b,
    };
  }
  return {
    n: index + 1,
    k: op.kind,
    t: op.key.tenantId,
    r: op.key.resourceType,
    p: op.key.periodStart,
    q: op.quantity.toFixed(),
    ...wireLimits(op.limits),
    ik: op.idempotency?.key,
    op: op.idempotency?.operation,
    fp: op.idempotency?.fingerprint,
    a: op.answer,
    id: op.hold?.id,
    e: op.hold?.expireTime,
    c: op.hold?.createTime,
    b,
  };
}

// Limits as `tollgate_admit` and `tollgate_settle` read them (migration 0009). The flags are
// left out at their SQL defaults (hard, no grants, consumable): smaller batches.
function wireLimits(limits: LimitInfo | undefined) {
  return {
    l: limits?.allowance.toFixed(),
    x: limits?.cap?.toFixed(),
    h: limits?.hard === false ? false : undefined,
    g: limits?.grants || undefined,
    al: limits?.allocation || undefined,
    th: limits?.thresholds.map((f) => f.toFixed()),
    pl: limits?.planId,
  };
}

interface OutcomeRow {
  op_outcome: AdmissionOutcome["outcome"];
  op_used: string | null;
  op_reserved: string | null;
  op_answer: Record<string, unknown> | null;
  op_reservation: Record<string, unknown> | null;
}

function fromOutcomeRow(row: OutcomeRow): AdmissionOutcome {
  return {
    outcome: row.op_outcome,
    counter:
      row.op_used === null || row.op_reserved === null
        ? undefined
        : fromDbCounter({ used: row.op_used, reserved: row.op_reserved }),
    answer: row.op_answer ?? undefined,
    reservation: row.op_reservation ? reviveReservation(row.op_reservation) : undefined,
  };
}

function fromDbCounter(row: Record<string, unknown>): Counter {
  return {
    used: new Decimal(row.used as string),
    reserved: new Decimal(row.reserved as string),
    granted: new Decimal((row.granted as string | undefined) ?? 0),
  };
}
