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

/**
 * The reason of a change refused because the billing period it touches is closed (its grace
 * window after the period's end has passed): `FailedPrecondition`.
 */
export const PERIOD_CLOSED_REASON = "PERIOD_CLOSED";
