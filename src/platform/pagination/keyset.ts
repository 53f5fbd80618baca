import type { Knex } from "knex";
import type { Cursor } from "./page-token.js";

/**
 * Limits a query to one page of a newest-first listing: ordered by `(create_time, id)`
 * descending and starting after the cursor, which is the keyset every such listing's page
 * token carries. Each listed table has an index in that order.
 */
export function newestFirst<T extends Knex.QueryBuilder>(
  query: T,
  limit: number,
  after: Cursor | undefined,
): T {
  query
    .orderBy([
      { column: "create_time", order: "desc" },
      { column: "id", order: "desc" },
    ])
    .limit(limit);
  if (after !== undefined) query.whereRaw("(create_time, id) < (?, ?)", [after.time, after.id]);
  return query;
}
