import type { Knex } from "knex";

/**
 * Sends a PostgreSQL notification once `trx` has committed, and none if it rolls back.
 *
 * Notifications are sent by the application after commit, never from SQL inside the
 * transaction: on a distributed database a statement may run on a worker, whose notifications
 * never reach listeners on the coordinator, and a transaction that notified cannot take part
 * in a two-phase commit. Listeners treat notifications as hints and also poll, so one lost to
 * a crash between commit and send costs latency, never data.
 */
export function notifyAfterCommit(
  knex: Knex,
  trx: Knex.Transaction,
  channel: string,
  payload: string,
): void {
  trx.executionPromise.then(
    () => notify(knex, channel, payload),
    () => undefined,
  );
}

/** Sends a notification now, on its own: for work that has already committed. */
export async function notify(knex: Knex, channel: string, payload: string): Promise<void> {
  await knex.raw("select pg_notify(?, ?)", [channel, payload]).catch(() => undefined);
}
