import { Code, ConnectError } from "@connectrpc/connect";
import { DenialReason } from "./gen/tollgate/v1/entitlement_service_pb.js";
import { BILLING_PROVIDER_REASON, ERROR_REASON_HEADER } from "./wire-names.js";

const ENTITLEMENT_HEADERS = {
  resource: "tollgate-entitlement-resource",
  limit: "tollgate-entitlement-limit",
  used: "tollgate-entitlement-used",
  reason: "tollgate-entitlement-denial-reason",
} as const;

/** What an entitlement denial carries, for messages and for deciding what to do next. */
export interface EntitlementDenial {
  resourceType: string;
  /** The limit as a decimal string; empty when the resource is unlimited. */
  limit: string;
  /** Usage recorded so far, as a decimal string. */
  used: string;
  /** A sentence for people. */
  reason: string;
  /**
   * The machine reason, the same enum a check result carries: `DenialReason.LIMIT_EXCEEDED`,
   * `DenialReason.RESOURCE_NOT_IN_PLAN`, … (`DenialReason[value]` names it).
   */
  denialReason: DenialReason;
}

/**
 * A check was not allowed. It is a `ConnectError` with code `ResourceExhausted`, so thrown from
 * a Connect handler (for example by the entitlement interceptor) it reaches the caller as that
 * code, with the denial in response headers that {@link fromConnectError} reads back.
 */
export class EntitlementEnforcementError extends ConnectError {
  // ConnectError's own instanceof check only knows ConnectError itself; subclasses use the
  // prototype chain. (The name stays "ConnectError", which Connect's duck typing relies on.)
  static override [Symbol.hasInstance](value: unknown): boolean {
    return Function.prototype[Symbol.hasInstance].call(EntitlementEnforcementError, value);
  }
  readonly resourceType: string;
  readonly limit: string;
  readonly used: string;
  readonly reason: string;
  readonly denialReason: DenialReason;
  /** The HTTP status an Express-style error handler may answer with: 402 Payment Required. */
  readonly status = 402;

  constructor(denial: EntitlementDenial) {
    const metadata = new Headers({
      [ENTITLEMENT_HEADERS.resource]: denial.resourceType,
      [ENTITLEMENT_HEADERS.limit]: denial.limit,
      [ENTITLEMENT_HEADERS.used]: denial.used,
      // By name on the wire, so a reader without the enum still understands it.
      [ENTITLEMENT_HEADERS.reason]: DenialReason[denial.denialReason] ?? "",
    });
    super(denial.reason, Code.ResourceExhausted, metadata);
    this.resourceType = denial.resourceType;
    this.limit = denial.limit;
    this.used = denial.used;
    this.reason = denial.reason;
    this.denialReason = denial.denialReason;
  }
}

/**
 * The billing provider (Stripe) failed. `retryable` failures (`Unavailable`) may be retried
 * with the same `request_id`; the others (`FailedPrecondition`: a declined card, an invalid
 * request at the provider) need a change first.
 */
export class BillingProviderError extends ConnectError {
  static override [Symbol.hasInstance](value: unknown): boolean {
    return Function.prototype[Symbol.hasInstance].call(BillingProviderError, value);
  }
  get retryable(): boolean {
    return this.code === Code.Unavailable;
  }
}

/**
 * Turns a Connect error from Tollgate (or from a service using the entitlement interceptor)
 * into the SDK's own error when it is one: an entitlement denial becomes
 * {@link EntitlementEnforcementError}, a billing provider failure {@link BillingProviderError};
 * anything else comes back as the `ConnectError` it is.
 */
export function fromConnectError(error: unknown): ConnectError {
  const connect = ConnectError.from(error);
  if (connect instanceof EntitlementEnforcementError || connect instanceof BillingProviderError) {
    return connect;
  }
  const header = (name: string) => connect.metadata.get(name) ?? "";
  if (connect.code === Code.ResourceExhausted && header(ENTITLEMENT_HEADERS.resource) !== "") {
    return new EntitlementEnforcementError({
      resourceType: header(ENTITLEMENT_HEADERS.resource),
      limit: header(ENTITLEMENT_HEADERS.limit),
      used: header(ENTITLEMENT_HEADERS.used),
      reason: connect.rawMessage,
      denialReason: denialReasonNamed(header(ENTITLEMENT_HEADERS.reason)),
    });
  }
  if (header(ERROR_REASON_HEADER) === BILLING_PROVIDER_REASON) {
    return new BillingProviderError(
      connect.rawMessage,
      connect.code,
      connect.metadata,
      [],
      connect,
    );
  }
  return connect;
}

function denialReasonNamed(name: string): DenialReason {
  const value = (DenialReason as unknown as Record<string, unknown>)[name];
  return typeof value === "number" ? (value as DenialReason) : DenialReason.UNSPECIFIED;
}
