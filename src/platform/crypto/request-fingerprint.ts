import { createHash } from "node:crypto";
import { ValidationError } from "../errors/domain-error.js";

/** What identifies a request behind an idempotency key: its operation and its input. */
export interface RequestFingerprint {
  operation: string;
  fingerprint: string;
}

/** Fingerprints a request's normalized input, stored with the first answer of its key. */
export function fingerprintRequest(operation: string, input: unknown): RequestFingerprint {
  return {
    operation,
    fingerprint: createHash("sha256").update(JSON.stringify(input)).digest("hex"),
  };
}

/**
 * Refuses a key reused for a different request, as Stripe does: replaying the first answer
 * to a request that asked for something else would silently do the wrong thing.
 */
export function assertSameRequest(
  field: string,
  prior: RequestFingerprint,
  current: RequestFingerprint,
): void {
  if (prior.operation !== current.operation || prior.fingerprint !== current.fingerprint) {
    throw new ValidationError([
      { field, description: `was already used for a different request (${prior.operation})` },
    ]);
  }
}
