/**
 * Transport-neutral errors thrown by domain code. They say what went wrong in business terms;
 * `src/platform/server/error-interceptor.ts` is the one place that turns them into Connect codes, so
 * services never import anything from the transport.
 */

/** One problem with one input field, reported together with all others of the same call. */
export interface FieldViolation {
  /** The field path as the caller spelled it, for example `events[3].quantity`. */
  field: string;
  description: string;
}

/** Base class of every expected failure; anything else is an internal error. */
export abstract class DomainError extends Error {
  abstract readonly kind: DomainErrorKind;
  /**
   * A stable machine-readable reason within the kind (as google.rpc.ErrorInfo has), sent to
   * clients as the `tollgate-error-reason` header, for example `BILLING_PROVIDER`.
   */
  readonly reason?: string;
}

/** The kinds of domain error, each mapped to exactly one transport code. */
export type DomainErrorKind =
  | "validation"
  | "not_found"
  | "already_exists"
  | "failed_precondition"
  | "unauthenticated"
  | "permission_denied"
  | "resource_exhausted"
  | "unavailable"
  | "deadline_exceeded";

/** Input failed validation; carries every field violation at once. */
export class ValidationError extends DomainError {
  override name = "ValidationError";
  readonly kind = "validation";
  constructor(readonly violations: FieldViolation[]) {
    super(violations.map((v) => `${v.field}: ${v.description}`).join("; "));
  }
}

/** The named object does not exist (or is not visible to the caller). */
export class NotFoundError extends DomainError {
  override name = "NotFoundError";
  readonly kind = "not_found";
}

/** A create collided with an existing object, such as a second customer for a tenant. */
export class AlreadyExistsError extends DomainError {
  override name = "AlreadyExistsError";
  readonly kind = "already_exists";
}

/** The object's current state forbids the operation, such as cancelling a canceled subscription. */
export class FailedPreconditionError extends DomainError {
  override name = "FailedPreconditionError";
  readonly kind = "failed_precondition";
}

/** The caller presented no valid credentials. */
export class UnauthenticatedError extends DomainError {
  override name = "UnauthenticatedError";
  readonly kind = "unauthenticated";
}

/** The caller is known but may not act on this tenant or operation. */
export class PermissionDeniedError extends DomainError {
  override name = "PermissionDeniedError";
  readonly kind = "permission_denied";
}

/** A rate limit, a full buffer or a size bound was hit; `retryAfterMs` hints when to retry. */
export class ResourceExhaustedError extends DomainError {
  override name = "ResourceExhaustedError";
  readonly kind = "resource_exhausted";
  constructor(
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

/** A dependency (database, billing provider) is down; the caller may retry the same request. */
export class UnavailableError extends DomainError {
  override name = "UnavailableError";
  readonly kind = "unavailable";
}

/**
 * The caller's deadline passed (or the caller went away) before the work started or before
 * it could commit, so nothing was done: a retry does the work once.
 */
export class DeadlineExceededError extends DomainError {
  override name = "DeadlineExceededError";
  readonly kind = "deadline_exceeded";
}
