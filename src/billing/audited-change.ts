import { Decimal } from "decimal.js";
import type { Knex } from "knex";
import type { AuditStore } from "../audit/store.js";
import type { Actor } from "../platform/calls/actor.js";
import type { Clock } from "../platform/clock/clock.js";
import type { MutationLease } from "./mutation-lease.js";

/** One change of what a tenant is given beyond its plan (a grant, an override, a price). */
export interface AuditedChange<T> {
  actor: Actor;
  tenantId: string;
  requestId: string;
  /** The audit action, for example `grant.create`. */
  operation: string;
  /** What the request asked for: a retry that asks for something else is refused. */
  input: unknown;
  revive(stored: unknown): T;
  /** Makes the change in `trx`, naming its target and the object before and after. */
  work(
    trx: Knex.Transaction,
    now: Date,
  ): Promise<{ result: T; target: string; before: unknown; after: unknown }>;
}

/** What {@link createAuditedChanges} is built from. */
export interface AuditedChangeDeps {
  knex: Knex;
  lease: MutationLease;
  audit: AuditStore;
  clock: Clock;
  /** Tells every replica's plan cache that a tenant's terms changed, inside `trx`. */
  announce(trx: Knex.Transaction, tenantId: string): Promise<void>;
  /** Drops this replica's cached terms of a tenant, after commit. */
  invalidate(tenantId: string): void;
}

/**
 * Runs changes of a tenant's terms once per request id (a retry replays the first answer; a
 * concurrent one waits for the tenant's billing lease, then replays), each in one transaction
 * with its audit row and the plan caches' notice, so nothing is given twice and every replica
 * sees the change.
 */
export function createAuditedChanges(
  deps: AuditedChangeDeps,
): <T>(change: AuditedChange<T>) => Promise<T> {
  const { knex, lease, audit, clock } = deps;
  return <T>(change: AuditedChange<T>) =>
    lease.run<T>({
      ...change,
      work: async (_providerKey, remember) => {
        const result = await knex.transaction(async (trx) => {
          const now = clock.now();
          const { result: done, target, before, after } = await change.work(trx, now);
          await audit.insert(trx, {
            actor: change.actor.id,
            action: change.operation,
            tenantId: change.tenantId,
            target,
            requestId: change.requestId,
            createTime: now,
            before: before === undefined ? undefined : storedForm(before),
            after: after === undefined ? undefined : storedForm(after),
          });
          await deps.announce(trx, change.tenantId);
          await remember(trx, done);
          return done;
        });
        deps.invalidate(change.tenantId);
        return result;
      },
    });
}

/**
 * An object as the audit trail and the stored answers keep it: decimals as plain strings (a
 * replacer sees values after `toJSON`, so the holder's own field is checked), times as ISO
 * strings.
 */
export function storedForm(value: unknown): Record<string, unknown> {
  return JSON.parse(
    JSON.stringify(value, function (this: Record<string, unknown>, key, v) {
      const field = this[key];
      return field instanceof Decimal ? field.toFixed() : v;
    }),
  ) as Record<string, unknown>;
}
