import type { Knex } from "knex";
import { notify } from "../platform/db/notify.js";
import { EVENTS_CHANNEL } from "./events.js";
import type { EventWakeup } from "./wakeup.js";

/** An event as the domain that causes it writes it. */
export interface NewEvent {
  tenantId: string;
  type: string;
  data: Record<string, unknown>;
  /** Makes the event happen once per tenant and key; undefined: no dedupe. */
  dedupeKey?: string;
}

/**
 * The write side of the event log, for the domains whose changes are events. An event is
 * written by the code that makes the change, in its transaction (`tollgate_emit`, which numbers
 * it within its tenant and queues its webhook deliveries), and readers on every replica are
 * woken once that transaction commits: there are no triggers and no NOTIFY from SQL.
 */
export interface EventLog {
  /** Appends an event within `trx`; undefined when its dedupe key was used before. */
  emit(trx: Knex.Transaction, event: NewEvent): Promise<string | undefined>;
  /** Wakes readers after a committed statement that wrote events itself (admission batches). */
  announce(): Promise<void>;
  /** Wakes readers once `trx`, which may have written events in SQL, commits; not if it fails. */
  announceAfterCommit(trx: Knex.Transaction): void;
}

/** Creates the event log's writer; `wakeup` is this replica's, rung without a round trip. */
export function createEventLog(knex: Knex, wakeup: EventWakeup): EventLog {
  const announce = async () => {
    wakeup.notify();
    await notify(knex, EVENTS_CHANNEL, "");
  };
  const announceAfterCommit = (trx: Knex.Transaction) => {
    trx.executionPromise.then(announce, () => undefined);
  };
  return {
    async emit(trx, event) {
      const result = await trx.raw<{ rows: { id: string | null }[] }>(
        "select tollgate_emit(?, ?, ?::jsonb, ?) as id",
        [event.tenantId, event.type, JSON.stringify(event.data), event.dedupeKey ?? null],
      );
      const id = result.rows[0]?.id ?? undefined;
      if (id !== undefined) announceAfterCommit(trx);
      return id;
    },
    announce,
    announceAfterCommit,
  };
}
