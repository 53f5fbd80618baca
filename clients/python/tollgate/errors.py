"""The client's errors: what went wrong, in terms a caller can act on without parsing messages."""

from __future__ import annotations

from decimal import Decimal

import grpc

# Wire names shared with the server (src/platform/errors/error-reasons.ts).
ERROR_REASON_KEY = "tollgate-error-reason"
BILLING_PROVIDER_REASON = "BILLING_PROVIDER"


class TollgateError(Exception):
    """A call to Tollgate failed. `code` is the gRPC status; `message` is the server's text."""

    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(f"{code.name}: {message}")
        self.code = code
        self.message = message

    @property
    def retryable(self) -> bool:
        """Whether the same call (with the same request id) may simply be sent again."""
        return self.code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)


class BillingProviderError(TollgateError):
    """The billing provider (Stripe) failed.

    Retryable failures (`UNAVAILABLE`) may be sent again with the same `request_id`; the others
    (`FAILED_PRECONDITION`: a declined card, a request the provider refuses) need a change first.
    """


class EntitlementEnforcementError(Exception):
    """A check was not allowed: the tenant may not use `quantity` more of `resource_type`.

    Raised by `check_entitlement_or_raise` and `@require_entitlement`. `status_code` is the
    HTTP status a web framework should answer with: 402 Payment Required.
    """

    status_code = 402

    def __init__(
        self,
        *,
        resource_type: str,
        reason: str,
        denial_reason: str | None,
        limit: Decimal | None,
        used: Decimal,
    ) -> None:
        super().__init__(reason)
        self.resource_type = resource_type
        self.reason = reason
        self.denial_reason = denial_reason
        self.limit = limit
        self.used = used


def from_rpc_error(error: grpc.aio.AioRpcError) -> TollgateError:
    """The client error for a failed call: `BillingProviderError` when the provider failed."""
    code = error.code()
    message = error.details() or ""
    trailers = error.trailing_metadata() or ()
    reasons = [value for key, value in trailers if key == ERROR_REASON_KEY]
    if BILLING_PROVIDER_REASON in reasons:
        return BillingProviderError(code, message)
    return TollgateError(code, message)
