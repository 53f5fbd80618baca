import { createHash, randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type { Knex } from "knex";
import type { Clock } from "../platform/clock/clock.js";
import {
  assertSameRequest,
  fingerprintRequest,
  type RequestFingerprint,
} from "../platform/crypto/request-fingerprint.js";
import { UnavailableError } from "../platform/errors/domain-error.js";
import type { Logger } from "../platform/observability/logger.js";
import type { BillingStore } from "./store.js";

/** Records a mutation's result under its request id, inside the mutation's transaction. */
export type Remember<T> = (trx: Knex.Transaction, result: T) => Promise<void>;

/** One billing mutation, as the lease runs it. */
export interface LeasedMutation<T> {
  tenantId: string;
  /** The caller's idempotency key; empty means the call is not deduplicated. */
  requestId: string;
  /** The audit action, such as `subscription.create`; a request id is bound to one. */
  operation: string;
  /** The normalized input; a request id reused with different input is refused. */
  input: unknown;
  /** Rebuilds the stored first result of a repeated request. */
  revive(stored: unknown): T;
  /**
   * Does the work. `idempotencyKey` goes to the provider so its side is deduplicated too;
   * `remember` must be called inside the transaction that commits the change.
   */
  work(idempotencyKey: string, remember: Remember<T>): Promise<T>;
}

/** Runs billing mutations once per request id and one at a time per tenant. */
export interface MutationLease {
  run<T>(mutation: LeasedMutation<T>): Promise<T>;
}

/** Options of {@link createMutationLease}. */
export interface MutationLeaseOptions {
  /**
   * How long a lease lasts if its holder dies. A live holder renews it every third of this
   * while its mutation runs, so a provider call that outlives it (stripe-node retrying a slow
   * call) still keeps every other mutation of the tenant out.
   */
  leaseTtlMs?: number;
  /** How long a mutation waits for another one on the same tenant before `Unavailable`. */
  waitMs?: number;
}

/**
 * Makes billing mutations safe to retry and to race, on any number of replicas. A repeated
 * `request_id` replays the first result. Mutations of one tenant run one at a time under a
 * database lease held across the provider call, so two concurrent subscribes cannot both
 * reach the provider (and charge twice): the second waits, then sees the first's result.
 * A lease rather than a transaction-scoped lock, so no transaction stays open during a
 * network call, and so it works on single-connection PGlite too.
 */
export function createMutationLease(
  store: BillingStore,
  clock: Clock,
  logger: Logger,
  options: MutationLeaseOptions = {},
): MutationLease {
  const leaseTtlMs = options.leaseTtlMs ?? 60_000;
  const waitMs = options.waitMs ?? 15_000;

  const replay = async <T>(mutation: LeasedMutation<T>, request: RequestFingerprint) => {
    if (mutation.requestId === "") return undefined;
    const prior = await store.findRequest(mutation.tenantId, mutation.requestId);
    if (prior === undefined) return undefined;
    assertSameRequest("request_id", prior, request);
    return { result: mutation.revive(prior.response) };
  };

  const acquire = async (tenantId: string, holder: string) => {
    const deadline = Date.now() + waitMs;
    for (let pause = 10; ; pause = Math.min(pause * 2, 250)) {
      if (await store.tryAcquireLease(tenantId, holder, leaseTtlMs)) return;
      if (Date.now() + pause > deadline) {
        throw new UnavailableError(
          `another billing change for tenant ${tenantId} is still in progress; retry shortly`,
        );
      }
      await sleep(pause);
    }
  };

  // Renews the lease until stopped. A renewal that fails (database down) is retried at the
  // next beat; one that finds the lease taken can only be reported, since the provider call
  // cannot be recalled.
  const keepLease = (tenantId: string, holder: string) => {
    const beat = setInterval(() => {
      store.renewLease(tenantId, holder, leaseTtlMs).then(
        (held) => {
          if (!held) logger.error({ tenantId }, "billing lease lost while its mutation ran");
        },
        (error: unknown) => logger.warn({ err: error, tenantId }, "billing lease renewal failed"),
      );
    }, leaseTtlMs / 3);
    return () => clearInterval(beat);
  };

  return {
    async run(mutation) {
      const request = fingerprintRequest(mutation.operation, mutation.input);
      const early = await replay(mutation, request);
      if (early) return early.result;
      const holder = randomUUID();
      await acquire(mutation.tenantId, holder);
      const stopRenewing = keepLease(mutation.tenantId, holder);
      try {
        // A retry of the same request may have finished while this one waited.
        const late = await replay(mutation, request);
        if (late) return late.result;
        const idempotencyKey =
          mutation.requestId === ""
            ? randomUUID()
            : providerIdempotencyKey(mutation.tenantId, mutation.operation, mutation.requestId);
        return await mutation.work(idempotencyKey, async (trx, result) => {
          if (mutation.requestId === "") return;
          await store.insertRequest(
            trx,
            mutation.tenantId,
            mutation.requestId,
            { ...request, response: result },
            clock.now(),
          );
        });
      } finally {
        stopRenewing();
        // If the database is unreachable the release fails too; the lease then simply
        // expires, and the mutation's own error is the one worth reporting.
        await store.releaseLease(mutation.tenantId, holder).catch(() => undefined);
      }
    },
  };
}

// Stripe takes idempotency keys of at most 255 characters, sent as an HTTP header (visible
// ASCII only).
const PROVIDER_KEY_MAX = 255;
const VISIBLE_ASCII = /^[\x21-\x7e]*$/;

/**
 * The provider's idempotency key for a request id: readable
 * (`tollgate:<tenant>:<operation>:<request_id>`) when that fits the provider's rules, otherwise
 * the same prefix with a SHA-256 of the request id, so every request id the API accepts (up
 * to 255 characters of any script) maps to one valid, stable key.
 */
export function providerIdempotencyKey(
  tenantId: string,
  operation: string,
  requestId: string,
): string {
  const readable = `tollgate:${tenantId}:${operation}:${requestId}`;
  if (readable.length <= PROVIDER_KEY_MAX && VISIBLE_ASCII.test(readable)) return readable;
  const digest = createHash("sha256").update(requestId, "utf8").digest("base64url");
  return `tollgate:${tenantId}:${operation}:sha256~${digest}`;
}
