import type { Knex } from "knex";
import {
  COUNTER_LIMITS_FIELDS,
  encodeComposites,
  type WireCounterLimits,
} from "../entitlements/admission-wire.js";
import type { Cursor } from "../platform/pagination/page-token.js";
import type { UsageEventRow } from "../usage/rows.js";
import type { UsageEvent } from "../usage/usage.js";
import type { StoredEvent } from "./corrections.js";

/** A counter a correction changes: its name, period and aggregation. */
export interface CounterRef {
  counter: string;
  periodStart: Date;
  aggregation: string;
}

/** A locked counter's value and, for a `latest` counter, the key of the usage it holds. */
export interface LockedCounter {
  used: string;
  latestKey: string | null;
}

/** A keyed admission as stored, with its void. */
export interface AdmissionRow {
  idempotency_key: string;
  response: { template?: { recorded?: Recorded }; decision?: { admitted?: boolean } } | null;
  void_time: Date | null;
}

/** What a keyed admission counted (`recorded` in its stored answer). */
export interface Recorded {
  counters: string[];
  periodStart: string;
  quantity: string;
  aggregation: string;
  member?: string | undefined;
}

/** Who voided what, when and why, as every voided row records it. */
export interface VoidMark {
  time: Date;
  reason: string;
  by: string;
  requestId: string;
}

/** An event listing's bounds, validated. */
export interface EventListing {
  tenantId: string;
  resourceType: string | undefined;
  start: Date | undefined;
  end: Date | undefined;
  includeVoided: boolean;
  filter: Record<string, string>;
}

/** Queries of corrections, each in the caller's transaction unless it says otherwise. */
export interface CorrectionStore {
  /** The tenant's events among `ids`, live or voided, locked until commit. */
  lockEvents(trx: Knex.Transaction, tenantId: string, ids: string[]): Promise<UsageEventRow[]>;
  /** The tenant's keyed admissions among `keys`, locked until commit. */
  lockAdmissions(trx: Knex.Transaction, tenantId: string, keys: string[]): Promise<AdmissionRow[]>;
  /** The live events of one resource with `occur_time` in `[start, end)`, locked. */
  lockRange(
    trx: Knex.Transaction,
    tenantId: string,
    resourceType: string,
    start: Date,
    end: Date,
  ): Promise<UsageEventRow[]>;
  /** Which of `ids` the tenant has stored, live or voided. */
  storedIds(trx: Knex.Transaction, tenantId: string, ids: string[]): Promise<string[]>;
  /**
   * Locks counters in key order, as every writer of counters does (creating missing ones at
   * zero, so a flush that would create one waits too), and returns them by `refKey`.
   */
  lockCounters(
    trx: Knex.Transaction,
    tenantId: string,
    refs: CounterRef[],
  ): Promise<Map<string, LockedCounter>>;
  markVoided(
    trx: Knex.Transaction,
    tenantId: string,
    eventIds: string[],
    keys: string[],
    mark: VoidMark,
  ): Promise<void>;
  /** Lowers sum and count counters by `amount` each, never below zero. */
  lower(
    trx: Knex.Transaction,
    tenantId: string,
    amounts: { ref: CounterRef; amount: string }[],
  ): Promise<void>;
  /** Sets a `max` or `latest` counter from the live usage that counts on it. */
  recount(trx: Knex.Transaction, tenantId: string, ref: CounterRef): Promise<void>;
  /** Takes voided members out of their counters' sets where no live usage names them. */
  forgetMembers(
    trx: Knex.Transaction,
    tenantId: string,
    uniqueKey: string,
    members: { ref: CounterRef; member: string }[],
  ): Promise<void>;
  /**
   * Rebuilds one resource's rollups of the given quarter hours from its live events, keeping
   * the meter's `dimensions`.
   */
  rebuildRollups(
    trx: Knex.Transaction,
    tenantId: string,
    resourceType: string,
    buckets: Date[],
    dimensions: readonly string[],
  ): Promise<void>;
  /**
   * Gives back grant draws and resolves thresholds of counters a correction lowered; returns
   * how many events that wrote.
   */
  unsettle(
    trx: Knex.Transaction,
    tenantId: string,
    limits: WireCounterLimits[],
    now: Date,
  ): Promise<number>;
  /** Stores events that are new (the caller checked their ids), to be counted after. */
  insertEvents(trx: Knex.Transaction, events: UsageEvent[]): Promise<void>;
  /** A page of events, latest `occur_time` first, on the pool. */
  list(listing: EventListing, limit: number, after: Cursor | undefined): Promise<StoredEvent[]>;
}

/** The key of a counter of one period, as {@link CorrectionStore.lockCounters} returns it. */
export function refKey(ref: Pick<CounterRef, "counter" | "periodStart">): string {
  return `${ref.counter}/${ref.periodStart.getTime()}`;
}

const VOID_COLUMNS = (mark: VoidMark) => ({
  void_time: mark.time,
  void_reason: mark.reason,
  voided_by: mark.by,
  void_request_id: mark.requestId,
});

/** Creates the corrections store over the main pool. */
export function createCorrectionStore(knex: Knex): CorrectionStore {
  return {
    async lockEvents(trx, tenantId, ids) {
      if (ids.length === 0) return [];
      return trx("usage_events")
        .where({ tenant_id: tenantId })
        .whereIn("event_id", ids)
        .orderBy("event_id")
        .forUpdate();
    },

    async lockAdmissions(trx, tenantId, keys) {
      if (keys.length === 0) return [];
      return trx("entitlement_requests")
        .where({ tenant_id: tenantId })
        .whereIn("idempotency_key", keys)
        .orderBy("idempotency_key")
        .forUpdate()
        .select("idempotency_key", "response", "void_time");
    },

    async lockRange(trx, tenantId, resourceType, start, end) {
      return trx("usage_events")
        .where({ tenant_id: tenantId, resource_type: resourceType })
        .where("occur_time", ">=", start)
        .where("occur_time", "<", end)
        .whereNull("void_time")
        .orderBy("event_id")
        .forUpdate();
    },

    async storedIds(trx, tenantId, ids) {
      if (ids.length === 0) return [];
      const rows = await trx("usage_events")
        .where({ tenant_id: tenantId })
        .whereIn("event_id", ids)
        .select("event_id");
      return rows.map((r) => r.event_id);
    },

    async lockCounters(trx, tenantId, refs) {
      const locked = new Map<string, LockedCounter>();
      if (refs.length === 0) return locked;
      const counters = refs.map((r) => r.counter);
      const periods = refs.map((r) => r.periodStart);
      await trx.raw(
        `insert into usage_counters (tenant_id, resource_type, period_start, used, reserved,
           aggregation)
         select ?::uuid, k.c, k.p, 0, 0, k.a
         from unnest(?::text[], ?::timestamptz[], ?::text[]) as k(c, p, a)
         order by 2, 3
         on conflict do nothing`,
        [tenantId, counters, periods, refs.map((r) => r.aggregation)],
      );
      const rows = await trx.raw<{
        rows: {
          resource_type: string;
          period_start: Date;
          used: string;
          latest_key: string | null;
        }[];
      }>(
        `select c.resource_type, c.period_start, c.used, c.latest_key from usage_counters c
         join unnest(?::text[], ?::timestamptz[]) as k(c, p)
           on c.resource_type = k.c and c.period_start = k.p
         where c.tenant_id = ?
         order by c.resource_type, c.period_start
         for update of c`,
        [counters, periods, tenantId],
      );
      for (const row of rows.rows) {
        locked.set(refKey({ counter: row.resource_type, periodStart: row.period_start }), {
          used: row.used,
          latestKey: row.latest_key,
        });
      }
      return locked;
    },

    async markVoided(trx, tenantId, eventIds, keys, mark) {
      if (eventIds.length > 0) {
        await trx("usage_events")
          .where({ tenant_id: tenantId })
          .whereIn("event_id", eventIds)
          .update(VOID_COLUMNS(mark));
      }
      if (keys.length > 0) {
        await trx("entitlement_requests")
          .where({ tenant_id: tenantId })
          .whereIn("idempotency_key", keys)
          .update(VOID_COLUMNS(mark));
      }
    },

    async lower(trx, tenantId, amounts) {
      if (amounts.length === 0) return;
      await trx.raw(
        `update usage_counters c set used = greatest(c.used - d.amount, 0)
         from unnest(?::text[], ?::timestamptz[], ?::numeric[]) as d(c, p, amount)
         where c.tenant_id = ? and c.resource_type = d.c and c.period_start = d.p`,
        [
          amounts.map((a) => a.ref.counter),
          amounts.map((a) => a.ref.periodStart),
          amounts.map((a) => a.amount),
          tenantId,
        ],
      );
    },

    async recount(trx, tenantId, ref) {
      await trx.raw("select tollgate_recount(?, ?, ?, ?)", [
        tenantId,
        ref.counter,
        ref.periodStart,
        ref.aggregation,
      ]);
    },

    async forgetMembers(trx, tenantId, uniqueKey, members) {
      if (members.length === 0) return;
      await trx.raw(
        "select tollgate_forget_members(?, ?::text[], ?::timestamptz[], ?::text[], ?)",
        [
          tenantId,
          members.map((m) => m.ref.counter),
          members.map((m) => m.ref.periodStart),
          members.map((m) => m.member),
          uniqueKey,
        ],
      );
    },

    async rebuildRollups(trx, tenantId, resourceType, buckets, dimensions) {
      if (buckets.length === 0) return;
      await trx.raw(
        `delete from usage_rollups
         where tenant_id = ? and resource_type = ? and bucket_start = any(?::timestamptz[])`,
        [tenantId, resourceType, buckets],
      );
      // The same rows a flush writes: per quarter hour and values of the meter's dimensions,
      // aggregated exactly, the latest value by time then event id.
      await trx.raw(
        `insert into usage_rollups (tenant_id, resource_type, bucket_start, attributes, quantity,
           events, max, latest, latest_time, latest_key, kept)
         select e.tenant_id, e.resource_type, b.bucket,
           (select coalesce(jsonb_object_agg(a.key, a.value), '{}') from jsonb_each(e.attributes) a
            where a.key = any(?::text[])) as dims,
           sum(e.quantity), count(*), max(e.quantity),
           (array_agg(e.quantity order by e.occur_time desc, e.event_id desc))[1],
           max(e.occur_time),
           (array_agg(e.event_id order by e.occur_time desc, e.event_id desc))[1], ?::text[]
         from unnest(?::timestamptz[]) as b(bucket)
         join usage_events e on e.tenant_id = ? and e.resource_type = ?
           and e.occur_time >= b.bucket and e.occur_time < b.bucket + interval '15 minutes'
           and e.void_time is null
         group by 1, 2, 3, 4`,
        [[...dimensions], [...dimensions], buckets, tenantId, resourceType],
      );
    },

    async unsettle(trx, tenantId, limits, now) {
      if (limits.length === 0) return 0;
      const result = await trx.raw<{ rows: { n: number | null }[] }>(
        `select sum(tollgate_unsettle_locked(?, l, ?))::int as n
         from unnest(?::tollgate_counter_limits[]) as l`,
        [tenantId, now, encodeComposites(COUNTER_LIMITS_FIELDS, limits)],
      );
      return result.rows[0]?.n ?? 0;
    },

    async insertEvents(trx, events) {
      if (events.length === 0) return;
      await trx("usage_events").insert(
        events.map((e) => ({
          tenant_id: e.tenantId,
          event_id: e.eventId,
          resource_type: e.resourceType,
          quantity: e.quantity,
          occur_time: e.occurTime,
          attributes: JSON.stringify(e.attributes),
          period_start: e.periodStart,
        })) as never,
      );
    },

    async list(listing, limit, after) {
      const query = knex("usage_events")
        .where({ tenant_id: listing.tenantId })
        .orderBy([
          { column: "occur_time", order: "desc" },
          { column: "event_id", order: "desc" },
        ])
        .limit(limit);
      if (listing.resourceType !== undefined) query.where("resource_type", listing.resourceType);
      if (listing.start !== undefined) query.where("occur_time", ">=", listing.start);
      if (listing.end !== undefined) query.where("occur_time", "<", listing.end);
      if (!listing.includeVoided) query.whereNull("void_time");
      if (Object.keys(listing.filter).length > 0) {
        query.whereRaw("attributes @> ?::jsonb", [JSON.stringify(listing.filter)]);
      }
      if (after !== undefined) {
        query.whereRaw("(occur_time, event_id) < (?, ?)", [after.time, after.id]);
      }
      const rows: UsageEventRow[] = await query;
      return rows.map((row) => ({
        eventId: row.event_id,
        tenantId: row.tenant_id,
        resourceType: row.resource_type,
        quantity: row.quantity,
        occurTime: new Date(row.occur_time),
        attributes: row.attributes,
        periodStart: new Date(row.period_start),
        void:
          row.void_time === null
            ? undefined
            : {
                time: new Date(row.void_time),
                reason: row.void_reason ?? "",
                by: row.voided_by ?? "",
              },
      }));
    },
  };
}
