import type { Knex } from "knex";

/** The NOTIFY channel on which a moved test clock is announced, with its offset. */
export const TEST_CLOCK_CHANNEL = "tollgate_test_clock";

/** The stored test clock: one row holding how far business time runs ahead. */
export interface TestClockStore {
  /** The stored offset in milliseconds; 0 before the clock was first moved. */
  offset(): Promise<number>;
  /**
   * Raises the offset to `offsetMs` and tells every replica; the stored offset wins when it is
   * larger already (another replica moved further). Resolves to the offset now stored.
   */
  raise(offsetMs: number, now: Date): Promise<number>;
}

/** Creates the test clock store over `knex`. */
export function createTestClockStore(knex: Knex): TestClockStore {
  const offset = async (db: Knex) => {
    const row = await db("test_clock")
      .where({ id: 1 })
      .first<{ offset_ms: string } | undefined>("offset_ms");
    return Number(row?.offset_ms ?? 0);
  };
  return {
    offset: () => offset(knex),
    raise: (offsetMs, now) =>
      knex.transaction(async (trx) => {
        await trx.raw(
          `insert into test_clock as c (id, offset_ms, update_time) values (1, ?, ?)
           on conflict (id) do update set offset_ms = excluded.offset_ms,
             update_time = excluded.update_time
           where c.offset_ms < excluded.offset_ms`,
          [Math.round(offsetMs), now],
        );
        const stored = await offset(trx);
        await trx.raw("select pg_notify(?, ?)", [TEST_CLOCK_CHANNEL, String(stored)]);
        return stored;
      }),
  };
}
