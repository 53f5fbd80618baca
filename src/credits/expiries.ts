import type { Knex } from "knex";
import type { EventLog } from "../events/log.js";
import type { Clock } from "../platform/clock/clock.js";
import type { TimeJob } from "../platform/tasks/periodic.js";
import { type CreditStore, expiryKey } from "./store.js";

/**
 * Announces each grant's expiry once, as `grant.expired`, in a transaction of its tenant that
 * also re-arms the tenant's counters of the resource (the allowance shrank, so thresholds it
 * had passed below may now be crossed, which the settle sweep then announces) and tells every
 * replica's plan cache. An expired grant stops counting at its expiry whether or not this has
 * run: admissions read expiry times themselves. Every replica may run it: the event's dedupe
 * key lets one transaction per grant through.
 */
export function createGrantExpiries(deps: {
  knex: Knex;
  store: CreditStore;
  events: EventLog;
  clock: Clock;
  announce(trx: Knex.Transaction, tenantId: string): Promise<void>;
  invalidate(tenantId: string): void;
}): TimeJob {
  const { store, clock } = deps;
  return {
    name: "grant-expiries",
    nextDue: () => store.nextExpiry(clock.now()),
    async run(limit) {
      let announced = 0;
      for (const grant of await store.dueExpiries(clock.now(), limit)) {
        const emitted = await deps.knex.transaction(async (trx) => {
          await store.rearmCounters(trx, grant.tenantId, grant.resourceType);
          const id = await deps.events.emit(trx, {
            tenantId: grant.tenantId,
            type: "grant.expired",
            data: {
              grant_id: grant.id,
              tenant_id: grant.tenantId,
              resource_type: grant.resourceType,
              quantity: grant.quantity.toFixed(),
              remaining: grant.remaining.toFixed(),
              expire_time: grant.expireTime?.toISOString(),
            },
            dedupeKey: expiryKey(grant.id),
          });
          if (id !== undefined) await deps.announce(trx, grant.tenantId);
          return id !== undefined;
        });
        if (emitted) {
          deps.invalidate(grant.tenantId);
          announced++;
        }
      }
      return announced;
    },
  };
}
