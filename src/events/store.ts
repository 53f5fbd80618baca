import type { Knex } from "knex";
import type { TollgateEvent } from "./events.js";
import type { EventRow } from "./rows.js";

/** A filter over the event log: one tenant (or all) and some types (or all). */
export interface EventFilter {
  tenantId: string | undefined;
  types: readonly string[];
}

/**
 * A place in the event log. Within a tenant, `seq` alone orders events (commit order). Across
 * tenants the log is merged by (`time`, `tenantId`, `seq`): `time` is the start of the
 * transaction that wrote the event, and the merge reads only below the watermark (see
 * {@link EventStore.watermark}), where no event can still appear.
 */
export interface EventPosition {
  /** Microseconds since the Unix epoch, exact (a JavaScript date keeps only milliseconds). */
  micros: string;
  tenantId: string;
  seq: string;
}

/**
 * Queries over the event log. Events are written by `tollgate_emit` through the domains'
 * transactions (`log.ts`); this store reads them.
 */
export interface EventStore {
  /** Newest first, strictly before `before` when given. */
  list(
    filter: EventFilter,
    limit: number,
    before: EventPosition | undefined,
  ): Promise<TollgateEvent[]>;
  /** Oldest first, strictly after `after`: one tenant's by `seq`; every tenant's merged by time. */
  after(filter: EventFilter, after: EventPosition, limit: number): Promise<TollgateEvent[]>;
  /**
   * An event's position; undefined when there is no such event. With a tenant the lookup goes
   * to that tenant's shard; without one (an admin's cross-tenant stream) it asks every shard.
   */
  find(eventId: string, tenantId: string | undefined): Promise<EventPosition | undefined>;
  /** The position of a tenant's newest event; seq "0" when it has none. */
  latest(tenantId: string): Promise<EventPosition>;
  /**
   * The time below which no event can still be committed: the start of the oldest transaction
   * open on any node (an event's time is its transaction's start), or now when none is. It is
   * read in a statement of its own, before the events it bounds, so a transaction that ends
   * between the two is seen by the second.
   */
  watermark(): Promise<string>;
}

/**
 * How far apart the clocks of a distributed database's nodes may be (NTP keeps them within
 * milliseconds): the cross-tenant stream lags by this much there, and nothing on one node.
 */
const CLOCK_ALLOWANCE_MS = 1_000;

/** The position before every event. */
export const LOG_START: EventPosition = {
  micros: "0",
  tenantId: "00000000-0000-0000-0000-000000000000",
  seq: "0",
};

// An event's time in exact microseconds, and such a number back as a time.
const MICROS = "(extract(epoch from create_time) * 1000000)::bigint::text";
const AT_MICROS = "(timestamptz 'epoch' + ?::bigint * interval '1 microsecond')";

/** Creates the event store; `distributed` reads the watermark from every node (Citus). */
export function createEventStore(knex: Knex, options: { distributed: boolean }): EventStore {
  const filtered = (filter: EventFilter) => {
    const query = knex("events").select("*", knex.raw(`${MICROS} as micros`));
    if (filter.tenantId !== undefined) query.where({ tenant_id: filter.tenantId });
    if (filter.types.length > 0) query.whereIn("type", [...filter.types]);
    return query;
  };
  const activity = options.distributed ? "citus_stat_activity" : "pg_stat_activity";
  // Nodes stamp events by their own clocks: the watermark stays below by what they may differ.
  const allowanceMs = options.distributed ? CLOCK_ALLOWANCE_MS : 0;
  return {
    async list(filter, limit, before) {
      const query = filtered(filter).limit(limit);
      if (filter.tenantId !== undefined) {
        query.orderBy("seq", "desc");
        if (before !== undefined) query.where("seq", "<", before.seq);
      } else {
        query.orderBy([
          { column: "create_time", order: "desc" },
          { column: "tenant_id", order: "desc" },
          { column: "seq", order: "desc" },
        ]);
        if (before !== undefined) {
          query.whereRaw(`(create_time, tenant_id, seq) < (${AT_MICROS}, ?::uuid, ?)`, [
            before.micros,
            before.tenantId,
            before.seq,
          ]);
        }
      }
      return (await query).map(fromDbEvent);
    },
    async after(filter, after, limit) {
      const query = filtered(filter).limit(limit);
      if (filter.tenantId !== undefined) {
        query.where("seq", ">", after.seq).orderBy("seq");
      } else {
        query
          .whereRaw(`(create_time, tenant_id, seq) > (${AT_MICROS}, ?::uuid, ?)`, [
            after.micros,
            after.tenantId,
            after.seq,
          ])
          .orderBy(["create_time", "tenant_id", "seq"]);
      }
      return (await query).map(fromDbEvent);
    },
    async find(eventId, tenantId) {
      const query = knex("events").where({ id: eventId });
      if (tenantId !== undefined) query.where({ tenant_id: tenantId });
      const row = await query.first<{ micros: string; tenant_id: string; seq: string }>(
        knex.raw(`${MICROS} as micros`),
        "tenant_id",
        "seq",
      );
      return row && { micros: row.micros, tenantId: row.tenant_id, seq: String(row.seq) };
    },
    async latest(tenantId) {
      const row = await knex("event_heads").where({ tenant_id: tenantId }).first("seq");
      return { micros: "0", tenantId, seq: String(row?.seq ?? 0) };
    },
    async watermark() {
      // Client backends only: autovacuum and Citus's own daemons hold transactions too, but
      // never write events. This reader's own statement counts, which caps it at now.
      const result = await knex.raw<{ rows: { micros: string }[] }>(
        `select ((extract(epoch from coalesce(min(xact_start), statement_timestamp())) * 1000
           - ?) * 1000)::bigint::text as micros
         from ${activity}
         where datname = current_database() and backend_type = 'client backend'
           and xact_start is not null`,
        [allowanceMs],
      );
      return result.rows[0]?.micros ?? "0";
    },
  };
}

function fromDbEvent(row: EventRow & { micros: string }): TollgateEvent {
  return {
    id: row.id,
    seq: String(row.seq),
    micros: row.micros,
    type: row.type,
    tenantId: row.tenant_id,
    data: row.data,
    createTime: row.create_time,
  };
}
