import { Decimal } from "decimal.js";
import type { Knex } from "knex";
import type pg from "pg";
import { resourceOfCounter } from "../catalog/meters.js";
import type { EventLog } from "../events/log.js";
import {
  ADMISSION_OP_FIELDS,
  COUNTER_LIMITS_FIELDS,
  encodeComposites,
  type IdempotencyClaim,
  type LimitInfo,
  type WireDecision,
  type WireOp,
} from "./admission-wire.js";
import { type Json, renderAnswer, renderStored } from "./answers.js";
import type { Reservation } from "./entitlements.js";
import type { CounterRow, ReservationRow, SettleQueueRow } from "./rows.js";

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
  /**
   * The resource's meter: how the counter aggregates, the member a `unique_count` call
   * counts, and the other counters (same period) the call counts on and must fit on too:
   * its total and dimension limits besides `key`'s. Undefined: a plain sum on one counter.
   */
  meter?: {
    aggregation: string;
    member: string | undefined;
    parts: { resourceType: string; limits: LimitInfo | undefined }[];
  };
}

/**
 * Ends a held reservation: `commit` records `quantity` (default: the held quantity). The
 * service has read the reservation (`findReservation`) and checked the caller may touch it,
 * so the op names its counter; the batch decides against the row it locks.
 */
export interface ReservationEndOp {
  kind: "commit" | "release";
  key: CounterKey;
  reservation: Reservation;
  quantity: Decimal | undefined;
}

export type AdmissionOp = CounterOp | ReservationEndOp;

/** Whether the op ends a reservation (its counter is known only once the batch reads it). */
export function endsReservation(op: AdmissionOp): op is ReservationEndOp {
  return op.kind === "commit" || op.kind === "release";
}

/**
 * What became of one call of a batch. `done`: decided and written; `replay`: its idempotency
 * key was used before (`answer` holds `operation`, `fingerprint` and `response`); `busy`: the
 * key's first call has no answer; `deadline`: dropped unstarted; `not_found`, `refused` (the
 * reservation's state forbids it) and `unchanged` (already in that state) for commits and
 * releases.
 */
export interface AdmissionOutcome {
  outcome: WireDecision["outcome"];
  counter: Counter | undefined;
  answer: Record<string, unknown> | undefined;
  reservation: Reservation | undefined;
}

/** The entitlement queries. Every method takes the connection or transaction to run on. */
export interface EntitlementStore {
  /**
   * Decides and writes a batch in arrival order in one statement (`tollgate_admit_batch`, or
   * `tollgate_admit` for one tenant): one round trip, one transaction, each counter written
   * once.
   * `budgetsMs[i]` is how long call `i`'s caller still waits; a call whose budget runs out
   * before its locks are held is dropped.
   */
  admitBatch(
    ops: AdmissionOp[],
    budgetsMs: (number | undefined)[],
    now: Date,
  ): Promise<AdmissionOutcome[]>;
  read(db: Knex, key: CounterKey): Promise<Counter>;
  /**
   * What each rolling window holds now, by the database's clock: the entries younger than
   * its length (the counter's `used` is that only as of its last admission).
   */
  windowUsed(
    db: Knex,
    tenantId: string,
    windows: readonly { resourceType: string; windowMs: number }[],
  ): Promise<Map<string, Decimal>>;
  /**
   * Reads a counter and whether `quantity` more would fit by the batch's own rule
   * (`tollgate_fits`), under a ceiling of `base` plus, with `plusDrawn`, what the counter has
   * drawn from grants (undefined: no limit).
   */
  readFit(
    db: Knex,
    key: CounterKey,
    quantity: Decimal,
    ceiling: { base: Decimal; plusDrawn: boolean } | undefined,
    meter?: { aggregation: string; member: string | undefined },
  ): Promise<{ counter: Counter; fits: boolean }>;
  /**
   * A reservation as stored, or undefined: within `tenantId` when the caller names it (routed
   * to its shard), else looked up on every shard.
   */
  findReservation(db: Knex, id: string, tenantId?: string): Promise<Reservation | undefined>;
  /** Several counters of one tenant in one query, keyed by resource type. */
  readMany(
    db: Knex,
    tenantId: string,
    keys: Omit<CounterKey, "tenantId">[],
  ): Promise<Map<string, Counter>>;
  /**
   * Up to `limit` counters queued for settling, with their queue ids: a read over every
   * tenant, each tenant's then settled on its own by {@link settleQueued}.
   */
  queuedCounters(limit: number): Promise<(CounterKey & { id: string })[]>;
  /**
   * Takes one tenant's queue entries `ids` that no other transaction holds and settles their
   * counters with the limits `limitsOf` gives (undefined: nothing limits the resource), in a
   * transaction of that tenant alone; returns how many counters were settled.
   */
  settleQueued(
    tenantId: string,
    ids: readonly string[],
    limitsOf: (key: CounterKey) => LimitInfo | undefined,
    now: Date,
  ): Promise<number>;
  /** Up to `limit` tenants with held reservations due at `now`: a read over every tenant. */
  tenantsWithExpiredHolds(now: Date, limit: number): Promise<string[]>;
  /** The earliest expiry of a held reservation: when the expiry sweep next has work. */
  nextHoldExpiry(): Promise<Date | undefined>;
  /**
   * Expires one tenant's held reservations due at `now` (of one resource, when given), up to
   * `limit`; returns how many.
   */
  expireHeld(
    db: Knex,
    now: Date,
    scope: { tenantId: string; resourceType?: string },
    limit?: number,
  ): Promise<number>;
}

const ADMIT_TENANT = {
  name: "tollgate_admit",
  text: "select * from tollgate_admit($1, $2::tollgate_admission_op[], $3)",
};
const ADMIT_BATCH = {
  name: "tollgate_admit_batch",
  text: "select * from tollgate_admit_batch($1::uuid[], $2::int[], $3::int[], $4::tollgate_admission_op[], $5)",
};

/** A counter with no row yet. */
export const ZERO_COUNTER: Counter = {
  used: new Decimal(0),
  reserved: new Decimal(0),
  granted: new Decimal(0),
};

/** Creates the entitlement store over the given connection. */
export function createEntitlementStore(
  knex: Knex,
  kind: "postgres" | "pglite",
  events: Pick<EventLog, "announce" | "announceAfterCommit">,
  distributed: boolean,
): EntitlementStore {
  // On PostgreSQL the two admission statements are prepared once per connection (named), so
  // a batch costs neither a parse nor a plan; PGlite goes through knex.
  const run = async (
    statement: { name: string; text: string },
    values: Knex.RawBinding[],
  ): Promise<WireDecision[]> => {
    if (kind === "pglite") {
      const sql = statement.text.replace(/\$\d+/g, "?");
      return (await knex.raw<{ rows: WireDecision[] }>(sql, values)).rows;
    }
    const connection = (await knex.client.acquireConnection()) as pg.ClientBase;
    try {
      return (await connection.query<WireDecision>({ ...statement, values })).rows;
    } finally {
      await knex.client.releaseConnection(connection);
    }
  };
  return {
    async admitBatch(ops, budgetsMs, now) {
      const groups = byTenant(ops);
      // Each group's wire ops: a call on several counters sends one op per counter.
      const shares = groups.map((g) =>
        g.indexes.flatMap((i) => toWireOps(ops[i] as AdmissionOp, i, budgetsMs[i])),
      );
      const encoded = encodeComposites(ADMISSION_OP_FIELDS, shares.flat());
      // A distributed database gets one tenant's share per statement, which it runs on the
      // tenant's node (`tollgate_admit`, a distributed function); a single node gets every
      // share in one statement, whose fast path takes the simple ones together.
      const [only] = groups;
      const rows =
        distributed && groups.length === 1 && only
          ? await run(ADMIT_TENANT, [only.tenantId, encoded, now])
          : await run(ADMIT_BATCH, [
              groups.map((g) => g.tenantId),
              ...boundsOf(shares),
              encoded,
              now,
            ]);
      // The batch has committed: if it wrote events, wake the streams.
      if (rows.some((row) => row.emitted)) void events.announce();
      const outcomes: AdmissionOutcome[] = new Array(ops.length);
      for (const row of rows) {
        const index = row.position - 1;
        outcomes[index] = outcomeOf(ops[index] as AdmissionOp, row);
      }
      return outcomes;
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

    // As the batch decides (tollgate_meter_fold): a member counted before always fits, and
    // a maximum or latest value fits when it is itself within the ceiling.
    async readFit(db, key, quantity, ceiling, meter) {
      // A member is stored only with its counter, so it is found through the counter's key.
      const result = await db.raw<{ rows: (CounterFields & { fits: boolean | null })[] }>(
        `select coalesce(c.used, 0) as used, coalesce(c.reserved, 0) as reserved,
           coalesce(c.granted, 0) as granted,
           case
             when m.member is not null then true
             when k.aggregation in ('max', 'latest') then tollgate_fits(0, 0, k.quantity, k.ceiling)
             else tollgate_fits(coalesce(c.used, 0), coalesce(c.reserved, 0), k.quantity,
               k.ceiling)
           end as fits
         from (select 1) one
         left join usage_counters c
           on c.tenant_id = ? and c.resource_type = ? and c.period_start = ?
         left join meter_members m
           on m.tenant_id = c.tenant_id and m.resource_type = c.resource_type
             and m.period_start = c.period_start and m.member = ?
         cross join lateral (select ?::text as aggregation, ?::numeric as quantity,
           ?::numeric + case when ? then coalesce(c.granted, 0) else 0 end as ceiling) k`,
        [
          key.tenantId,
          key.resourceType,
          key.periodStart,
          meter?.member ?? null,
          meter?.aggregation ?? "sum",
          quantity.toFixed(),
          ceiling?.base.toFixed() ?? null,
          ceiling?.plusDrawn ?? false,
        ],
      );
      const [row] = result.rows;
      return { counter: row ? fromDbCounter(row) : ZERO_COUNTER, fits: row?.fits === true };
    },

    async findReservation(db, id, tenantId) {
      const query = db("reservations").where({ id });
      if (tenantId !== undefined) query.where({ tenant_id: tenantId });
      const row = await query.first();
      return row ? fromDbReservation(row) : undefined;
    },

    async windowUsed(db, tenantId, windows) {
      const used = new Map<string, Decimal>();
      if (windows.length === 0) return used;
      const rows = await db("window_entries")
        .where({ tenant_id: tenantId })
        .where((q) => {
          for (const w of windows) {
            q.orWhere((inner) =>
              inner
                .where({ resource_type: w.resourceType })
                .whereRaw("admit_time > clock_timestamp() - ? * interval '1 millisecond'", [
                  w.windowMs,
                ]),
            );
          }
        })
        .groupBy("resource_type")
        .select<{ resource_type: string; used: string }[]>(
          "resource_type",
          db.raw("sum(quantity) as used"),
        );
      for (const row of rows) used.set(row.resource_type, new Decimal(row.used));
      return used;
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
        .limit(limit)
        .select("id", "tenant_id", "resource_type", "period_start");
      return rows.map((row) => ({
        id: String(row.id),
        tenantId: row.tenant_id,
        resourceType: row.resource_type,
        periodStart: row.period_start,
      }));
    },

    settleQueued(tenantId, ids, limitsOf, now) {
      return knex.transaction(async (trx) => {
        const taken = await trx.raw<{ rows: Omit<SettleQueueRow, "id">[] }>(
          `delete from counter_settle_queue where tenant_id = ? and id in (
             select id from counter_settle_queue where tenant_id = ? and id = any(?::uuid[])
             for update skip locked)
           returning tenant_id, resource_type, period_start`,
          [tenantId, tenantId, [...ids]],
        );
        const keys = new Map<string, CounterKey>();
        for (const row of taken.rows) {
          const key = { tenantId, resourceType: row.resource_type, periodStart: row.period_start };
          keys.set(`${key.resourceType}/${key.periodStart.getTime()}`, key);
        }
        if (keys.size === 0) return 0;
        const rows = [...keys.values()].sort(compareKeys).map((key) => {
          const limits = limitsOf(key);
          return {
            resourceType: key.resourceType,
            periodStart: key.periodStart,
            allowance: limits?.allowance,
            allocation: limits?.allocation ?? false,
            thresholds: limits?.thresholds ?? [],
            planId: limits?.planId ?? "",
          };
        });
        const result = await trx.raw<{ rows: { n: number }[] }>(
          "select tollgate_settle(?, ?::tollgate_counter_limits[], ?) as n",
          [tenantId, encodeComposites(COUNTER_LIMITS_FIELDS, rows), now],
        );
        const settled = result.rows[0]?.n ?? 0;
        // Settling may cross thresholds: wake the streams once this commits.
        if (settled > 0) events.announceAfterCommit(trx);
        return settled;
      });
    },

    async nextHoldExpiry() {
      const row = await knex("reservations")
        .where({ state: "held" })
        .min<{ at: Date | null }>("expire_time as at")
        .first();
      return row?.at ?? undefined;
    },

    async tenantsWithExpiredHolds(now, limit) {
      const rows = await knex("reservations")
        .distinct("tenant_id")
        .where({ state: "held" })
        .where("expire_time", "<=", now)
        .limit(limit);
      return rows.map((row) => row.tenant_id);
    },

    // Skips reservations another transaction holds, and locks the counters it frees in key
    // order, as admission batches do, so the sweep never deadlocks with them.
    async expireHeld(db, now, scope, limit = 1000) {
      const resource =
        scope.resourceType === undefined ? "" : "and (resource_type = ? or ? = any(parts))";
      const result = await db.raw<{ rows: { n: number }[] }>(
        `with due as (
           select id from reservations
           where tenant_id = ? and state = 'held' and expire_time <= ? ${resource}
           order by expire_time limit ? for update skip locked
         ), expired as (
           update reservations r set state = 'expired' from due
           where r.tenant_id = ? and r.id = due.id
           returning r.tenant_id, r.resource_type, r.parts, r.period_start, r.quantity
         ), freed as (
           select e.tenant_id, n.name as resource_type, e.period_start,
             sum(e.quantity) as quantity
           from expired e cross join lateral unnest(array[e.resource_type] || e.parts) n(name)
           group by 1, 2, 3
         ), locked as (
           select c.tenant_id, c.resource_type, c.period_start, f.quantity
           from usage_counters c join freed f using (tenant_id, resource_type, period_start)
           where c.tenant_id = ?
           order by c.tenant_id, c.resource_type, c.period_start
           for update of c
         ), counters as (
           update usage_counters c set reserved = greatest(c.reserved - l.quantity, 0)
           from locked l
           where c.tenant_id = ? and c.tenant_id = l.tenant_id
             and c.resource_type = l.resource_type and c.period_start = l.period_start
         )
         select count(*)::int as n from expired`,
        [
          scope.tenantId,
          now,
          ...(scope.resourceType === undefined ? [] : [scope.resourceType, scope.resourceType]),
          limit,
          scope.tenantId,
          scope.tenantId,
          scope.tenantId,
        ],
      );
      return result.rows[0]?.n ?? 0;
    },
  };
}

// Tenants in id order, each with its ops' indexes in arrival order.
function byTenant(ops: readonly AdmissionOp[]): { tenantId: string; indexes: number[] }[] {
  const groups = new Map<string, number[]>();
  for (const [i, op] of ops.entries()) {
    const indexes = groups.get(op.key.tenantId);
    if (indexes) indexes.push(i);
    else groups.set(op.key.tenantId, [i]);
  }
  return [...groups]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([tenantId, indexes]) => ({ tenantId, indexes }));
}

// Each share's 1-based first and last index in the tenant-ordered wire op array.
function boundsOf(shares: WireOp[][]): [number[], number[]] {
  const first: number[] = [];
  const last: number[] = [];
  let next = 1;
  for (const share of shares) {
    first.push(next);
    next += share.length;
    last.push(next - 1);
  }
  return [first, last];
}

function compareKeys(a: CounterKey, b: CounterKey): number {
  if (a.tenantId !== b.tenantId) return a.tenantId < b.tenantId ? -1 : 1;
  if (a.resourceType !== b.resourceType) return a.resourceType < b.resourceType ? -1 : 1;
  return a.periodStart.getTime() - b.periodStart.getTime();
}

// The op as `tollgate_admit` reads it (`admission-wire.ts`): one wire op per counter the call
// counts on, its first carrying the key, answer and hold. Only a keyed call sends its answer
// template: the batch stores it with the decision; every other answer is rendered here.
function toWireOps(op: AdmissionOp, index: number, budgetMs: number | undefined): WireOp[] {
  const budget = budgetMs === undefined ? undefined : Math.max(0, Math.floor(budgetMs));
  const common = {
    position: index + 1,
    kind: op.kind,
    resourceType: op.key.resourceType,
    periodStart: op.key.periodStart,
    quantity: op.quantity,
    budgetMs: budget,
    part: 0,
  };
  // A call on several counters sends its other parts after the first: a hold ending on each
  // of its counters (the first finds the reservation, the others follow its outcome), or a
  // call on its total and dimension limits.
  const [first, parts]: [WireOp, { resourceType: string; limits: LimitInfo | undefined }[]] =
    endsReservation(op)
      ? [
          {
            ...common,
            limits: undefined,
            idempotency: undefined,
            answerTemplate: undefined,
            reservationId: op.reservation.id,
            hold: undefined,
            aggregation: "sum",
            member: undefined,
          },
          op.reservation.parts.map((resourceType) => ({ resourceType, limits: undefined })),
        ]
      : [
          {
            ...common,
            limits: op.limits,
            idempotency: op.idempotency,
            answerTemplate: op.idempotency ? op.answer : undefined,
            reservationId: op.hold?.id,
            hold: op.hold,
            aggregation: op.meter?.aggregation ?? "sum",
            member: op.meter?.member,
          },
          op.meter?.parts ?? [],
        ];
  return [
    first,
    ...parts.map(
      (part, i): WireOp => ({
        ...first,
        resourceType: part.resourceType,
        limits: part.limits,
        idempotency: undefined,
        answerTemplate: undefined,
        reservationId: undefined,
        hold: undefined,
        part: i + 1,
      }),
    ),
  ];
}

function outcomeOf(op: AdmissionOp, row: WireDecision): AdmissionOutcome {
  const counter =
    row.used === null || row.reserved === null
      ? undefined
      : fromDbCounter({ used: row.used, reserved: row.reserved });
  if (row.outcome === "replay" && row.replay) {
    return {
      outcome: "replay",
      counter,
      answer: { ...row.replay, response: renderStored(row.replay.response) },
      reservation: undefined,
    };
  }
  if (endsReservation(op)) {
    return {
      outcome: row.outcome,
      counter,
      answer: undefined,
      reservation:
        row.reservation_state === null
          ? undefined
          : {
              ...op.reservation,
              state: row.reservation_state,
              committedQuantity:
                row.committed_quantity === null ? undefined : new Decimal(row.committed_quantity),
            },
    };
  }
  // A window's timing is the batch's own, shown on the first answer and not stored with a key.
  const timing = row.window_time && {
    windowTiming: {
      decisionTime: row.window_time.toISOString(),
      resetTime: row.reset_time?.toISOString(),
      retryTime: row.retry_time?.toISOString(),
    },
  };
  return {
    outcome: row.outcome,
    counter,
    answer:
      row.outcome === "done"
        ? {
            ...renderAnswer(op.answer as Json, {
              admitted: row.admitted ?? undefined,
              used: row.used ?? undefined,
              reserved: row.reserved ?? undefined,
              granted: row.granted ?? undefined,
              grantRemaining: row.grant_remaining ?? undefined,
              ceiling: row.ceiling ?? undefined,
            }),
            ...timing,
          }
        : undefined,
    reservation: undefined,
  };
}

function fromDbReservation(row: ReservationRow): Reservation {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    resourceType: resourceOfCounter(row.resource_type),
    counter: row.resource_type,
    parts: row.parts,
    quantity: new Decimal(row.quantity),
    state: row.state,
    expireTime: row.expire_time,
    committedQuantity:
      row.committed_quantity == null ? undefined : new Decimal(row.committed_quantity),
    createTime: row.create_time,
    periodStart: row.period_start,
  };
}

/** What a counter read selects; the batch's decision carries no `granted` (zero then). */
type CounterFields = Pick<CounterRow, "used" | "reserved"> & Partial<Pick<CounterRow, "granted">>;

function fromDbCounter(row: CounterFields): Counter {
  return {
    used: new Decimal(row.used),
    reserved: new Decimal(row.reserved),
    granted: new Decimal(row.granted ?? 0),
  };
}
