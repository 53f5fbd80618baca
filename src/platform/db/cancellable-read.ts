import type { Knex } from "knex";
import { DeadlineExceededError, ResourceExhaustedError } from "../errors/domain-error.js";

/** Where a bounded read runs, and how it is cancelled. */
export interface ReadPools {
  /** The pool the read runs on; its connections carry a `statement_timeout`. */
  pool: Knex;
  /** Another pool, to send the cancel from; the same as `pool` on PGlite, which cannot cancel. */
  canceller: Knex;
  /** The pool's statement timeout, for the message a caller reads when a read outlives it. */
  timeoutMs: number;
}

// PostgreSQL's query_canceled: a statement timeout, or pg_cancel_backend.
const QUERY_CANCELED = "57014";

/**
 * Runs a read whose cost the caller chooses on the report pool, and stops it in PostgreSQL
 * (not only in this process) when the caller goes away: a cancelled call must not leave its
 * query running. A read that outlives the statement timeout is answered `ResourceExhausted`,
 * telling the caller to ask for less.
 */
export async function runCancellableRead<T>(
  pools: ReadPools,
  signal: AbortSignal | undefined,
  work: (trx: Knex.Transaction) => Promise<T>,
): Promise<T> {
  const cancellable = pools.canceller !== pools.pool;
  try {
    return await pools.pool.transaction(
      async (trx) => {
        if (!cancellable || signal === undefined) return work(trx);
        const { rows } = await trx.raw<{ rows: { pid: number }[] }>(
          "select pg_backend_pid() as pid",
        );
        const pid = rows[0]?.pid ?? 0;
        const cancel = () => {
          // Typed: a distributed database adds pg_cancel_backend(bigint) for its global ids.
          pools.canceller.raw("select pg_cancel_backend(?::int)", [pid]).catch(() => undefined);
        };
        if (signal.aborted) cancel();
        signal.addEventListener("abort", cancel, { once: true });
        try {
          return await work(trx);
        } finally {
          signal.removeEventListener("abort", cancel);
        }
      },
      { readOnly: true },
    );
  } catch (error) {
    if ((error as { code?: unknown }).code !== QUERY_CANCELED) throw error;
    if (signal?.aborted) {
      throw new DeadlineExceededError("the caller went away; the read was cancelled");
    }
    throw new ResourceExhaustedError(
      `the read ran longer than ${pools.timeoutMs / 1000} s and was stopped; ask for a shorter range or a coarser granularity`,
    );
  }
}
