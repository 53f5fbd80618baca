import type { Knex } from "knex";
import type { TollgateEvent } from "./events.js";
import type { EventRow } from "./rows.js";

/** A filter over the event log: one tenant (or all) and some types (or all). */
export interface EventFilter {
  tenantId: string | undefined;
  types: readonly string[];
}

/** Queries over the event log. Events are written only by `tollgate_emit` (migration 0009). */
export interface EventStore {
  /** Newest first, strictly before `beforeSeq` when given. */
  list(filter: EventFilter, limit: number, beforeSeq: string | undefined): Promise<TollgateEvent[]>;
  /** Oldest first, strictly after `afterSeq`. */
  after(filter: EventFilter, afterSeq: string, limit: number): Promise<TollgateEvent[]>;
  /** The position of an event and its tenant; undefined when there is no such event. */
  find(eventId: string): Promise<{ seq: string; tenantId: string | undefined } | undefined>;
  /** The position of the newest committed event; "0" when there is none. */
  latestSeq(): Promise<string>;
  /**
   * Announces `subscription.trial_will_end` for trials ending within `horizonMs` of `now`,
   * once per subscription and trial end; returns how many were announced.
   */
  announceTrialEnds(now: Date, horizonMs: number, limit: number): Promise<number>;
}

/** Creates the event store. */
export function createEventStore(knex: Knex): EventStore {
  const filtered = (filter: EventFilter) => {
    const query = knex("events");
    if (filter.tenantId !== undefined) query.where({ tenant_id: filter.tenantId });
    if (filter.types.length > 0) query.whereIn("type", [...filter.types]);
    return query;
  };
  return {
    async list(filter, limit, beforeSeq) {
      const query = filtered(filter).orderBy("seq", "desc").limit(limit);
      if (beforeSeq !== undefined) query.where("seq", "<", beforeSeq);
      return (await query).map(fromDbEvent);
    },
    async after(filter, afterSeq, limit) {
      const rows = await filtered(filter).where("seq", ">", afterSeq).orderBy("seq").limit(limit);
      return rows.map(fromDbEvent);
    },
    async find(eventId) {
      const row = await knex("events").where({ id: eventId }).first("seq", "tenant_id");
      return row && { seq: String(row.seq), tenantId: row.tenant_id ?? undefined };
    },
    async latestSeq() {
      const row = await knex("events").max<{ seq: string | null }>("seq as seq").first();
      return String(row?.seq ?? 0);
    },
    async announceTrialEnds(now, horizonMs, limit) {
      const result = await knex.raw<{ rows: { id: string | null }[] }>(
        `select tollgate_emit(x.tenant_id, 'subscription.trial_will_end',
           tollgate_subscription_data(x), d.key) as id
         from subscriptions x
         cross join lateral (select 'subscription.trial_will_end/' || x.id || '/'
           || extract(epoch from x.trial_end_time)::bigint as key) d
         where x.state = 'trialing' and x.trial_end_time > ? and x.trial_end_time <= ?
           and not exists (select 1 from events e where e.dedupe_key = d.key)
         limit ?`,
        [now, new Date(now.getTime() + horizonMs), limit],
      );
      return result.rows.filter((r) => r.id !== null).length;
    },
  };
}

function fromDbEvent(row: EventRow): TollgateEvent {
  return {
    id: row.id,
    seq: String(row.seq),
    type: row.type,
    tenantId: row.tenant_id ?? undefined,
    data: row.data,
    createTime: row.create_time,
  };
}
