import { deadlineExceeded } from "../platform/calls/budget.js";
import {
  assertSameRequest,
  fingerprintRequest,
  type RequestFingerprint,
} from "../platform/crypto/request-fingerprint.js";
import { UnavailableError } from "../platform/errors/domain-error.js";
import type { IdempotencyClaim } from "./admission-wire.js";
import type { AdmissionOutcome } from "./store.js";

/** The request behind an idempotency key, fingerprinted only when there is a key. */
export function claimOf(
  idempotencyKey: string,
  operation: string,
  input: unknown,
): IdempotencyClaim | undefined {
  return idempotencyKey === ""
    ? undefined
    : { key: idempotencyKey, ...fingerprintRequest(operation, input) };
}

/**
 * The answer of a queued call: its own, or the first answer of its idempotency key (for the
 * same request only: another request under the key is refused). A key whose first call is
 * still running answers `Unavailable`, so the caller retries rather than records twice.
 */
export function answerOf<T>(
  outcome: AdmissionOutcome,
  claim: RequestFingerprint | undefined,
  revive: (stored: unknown) => T,
): T {
  const answer = outcome.answer as Record<string, unknown>;
  switch (outcome.outcome) {
    case "replay":
      // Only a keyed call can replay, so the claim is there.
      assertSameRequest(
        "idempotency_key",
        answer as unknown as RequestFingerprint,
        claim as RequestFingerprint,
      );
      return revive(answer.response);
    case "busy":
      throw new UnavailableError("the first call with this idempotency_key is still running");
    case "deadline":
      throw deadlineExceeded();
    default:
      return revive(answer);
  }
}
