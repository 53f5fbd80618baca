import type { Knex } from "knex";

/**
 * Once created the first version of `tollgate_admit`, the admission batch. Functions are no
 * longer written in migrations: the current one is `src/entitlements/sql/admit.sql`, installed
 * after the migrations on every start (`src/platform/db/functions.ts`). Kept, empty, so that databases
 * that recorded it stay in step.
 */
export async function up(_knex: Knex): Promise<void> {}

export async function down(_knex: Knex): Promise<void> {}
