import type { Interceptor } from "@connectrpc/connect";
import type { Knex } from "knex";
import { ResourceExhaustedError } from "../platform/errors/domain-error.js";
import { kPrincipal } from "../platform/server/request-context.js";
import { BILLING_MUTATIONS } from "./policy.js";

/** Options of {@link createRateLimitInterceptor}: a token bucket per API key. */
export interface RateLimitOptions {
  /** Tokens added per minute: the sustained rate of billing mutations per key. */
  perMinute: number;
  /** Bucket capacity: how many mutations a key may make in a burst. */
  burst: number;
}

/**
 * Rate-limits billing mutations per API key with a token bucket kept in PostgreSQL, so a
 * key's limit is one limit across all replicas rather than one per process. Each take is a
 * single upsert that refills by elapsed time and spends a token only if one is there; a
 * refused call gets `ResourceExhausted` with the time until the next token as `retry-after`.
 * (The well-known Node limiters offer fixed windows in Postgres or token buckets in memory,
 * not both; this is the 20-line statement that does.)
 */
export function createRateLimitInterceptor(knex: Knex, options: RateLimitOptions): Interceptor {
  const perSecond = options.perMinute / 60;
  // The refill up to `at`. The upsert's time is the one it proposes to insert (`excluded`):
  // a distributed database copies the bucket table to every node and applies each change there,
  // so the change may name no clock of its own.
  const refilled = (at: string) =>
    `least(?::numeric, b.tokens + extract(epoch from ${at} - b.update_time) * ?::numeric)`;
  const take = async (key: string): Promise<number | undefined> => {
    const result = await knex.raw<{ rows: { tokens: string }[] }>(
      `insert into rate_limit_buckets as b (key, tokens, update_time)
       values (?, ?::numeric - 1, now())
       on conflict (key) do update
         set tokens = ${refilled("excluded.update_time")} - 1, update_time = excluded.update_time
         where ${refilled("excluded.update_time")} >= 1
       returning tokens`,
      [key, options.burst, options.burst, perSecond, options.burst, perSecond],
    );
    if (result.rows.length === 1) return undefined;
    const available = await knex.raw<{ rows: { available: string }[] }>(
      `select ${refilled("now()")} as available from rate_limit_buckets b where key = ?`,
      [options.burst, perSecond, key],
    );
    const tokens = Number(available.rows[0]?.available ?? 0);
    return Math.ceil(((1 - tokens) / perSecond) * 1000);
  };
  return (next) => async (req) => {
    if (BILLING_MUTATIONS.has(`${req.service.typeName}/${req.method.name}`)) {
      const key = req.contextValues.get(kPrincipal).actor;
      const retryAfterMs = await take(`billing:${key}`);
      if (retryAfterMs !== undefined) {
        throw new ResourceExhaustedError(
          `billing mutation rate limit reached for ${key}; retry in ${Math.ceil(retryAfterMs / 1000)}s`,
          retryAfterMs,
        );
      }
    }
    return next(req);
  };
}
