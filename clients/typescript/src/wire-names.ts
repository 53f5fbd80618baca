/*
 * Wire-level names this client shares with the server (the server's copy is
 * src/platform/errors/error-reasons.ts; test/contract.test.ts checks they agree), so a caller can
 * tell which failure it got without parsing messages. Copied rather than imported: the client
 * package carries no server code.
 */

/** The response header naming a domain error's machine-readable reason. */
export const ERROR_REASON_HEADER = "tollgate-error-reason";

/** The reason of billing provider (Stripe) failures: `Unavailable` or `FailedPrecondition`. */
export const BILLING_PROVIDER_REASON = "BILLING_PROVIDER";
