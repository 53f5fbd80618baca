import { ValidationError } from "../errors/domain-error.js";
import { isIdentifier, isWithin } from "../validation/field-checks.js";
import { WIRE_TIME } from "../validation/field-rules.js";

/** The position after the last item of a newest-first page: its time and id. */
export interface Cursor {
  time: Date;
  id: string;
}

/** Page size bounds shared by every List RPC: 0 means the default. */
export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

/**
 * Encodes a keyset cursor as an opaque token bound to the query it came from (`scope`, such as
 * the tenant of the listing), so a token cannot be replayed against another query. Keyset
 * rather than offset: pages stay stable while rows are inserted.
 */
export function encodePageToken(scope: string, cursor: Cursor): string {
  const payload = JSON.stringify({ s: scope, t: cursor.time.toISOString(), i: cursor.id });
  return Buffer.from(payload).toString("base64url");
}

/**
 * Decodes a token from {@link encodePageToken}; empty means the first page. `idPattern` is
 * the shape of the listing's ids (a uuid, a sequence number), so a forged cursor of the wrong
 * type is refused here rather than by PostgreSQL.
 */
export function decodePageToken(
  scope: string,
  token: string,
  idPattern?: RegExp,
): Cursor | undefined {
  if (token === "") return undefined;
  try {
    const payload = JSON.parse(Buffer.from(token, "base64url").toString("utf8")) as unknown;
    if (typeof payload === "object" && payload !== null) {
      const { s, t, i } = payload as Record<string, unknown>;
      const time = typeof t === "string" ? new Date(t) : undefined;
      // A forged token must not carry what PostgreSQL would refuse (NUL, year 0).
      const inRange = time !== undefined && isWithin(time, WIRE_TIME);
      const idOk = typeof i === "string" && isIdentifier(i) && (idPattern?.test(i) ?? true);
      if (s === scope && idOk && inRange) {
        return { time, id: i };
      }
    }
  } catch {
    // Not base64url JSON: reported below like any other foreign token.
  }
  throw new ValidationError([
    { field: "page_token", description: "is not a token this server issued for this query" },
  ]);
}

/** One page of a newest-first listing. */
export interface Page<T> {
  items: T[];
  nextPageToken: string;
}

/**
 * Runs a keyset-paged query: fetches one row more than the page to learn whether another page
 * follows, and issues the token for it. `pageSize` must already be validated (0 to
 * {@link MAX_PAGE_SIZE}; 0 means {@link DEFAULT_PAGE_SIZE}).
 */
export async function fetchPage<T>(options: {
  scope: string;
  pageSize: number;
  pageToken: string;
  /** The shape of a cursor id, when the id column is not free text. */
  idPattern?: RegExp;
  fetch(limit: number, after: Cursor | undefined): Promise<T[]>;
  cursorOf(item: T): Cursor;
}): Promise<Page<T>> {
  const limit = options.pageSize || DEFAULT_PAGE_SIZE;
  const rows = await options.fetch(
    limit + 1,
    decodePageToken(options.scope, options.pageToken, options.idPattern),
  );
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return {
    items,
    nextPageToken:
      rows.length > limit && last ? encodePageToken(options.scope, options.cursorOf(last)) : "",
  };
}
