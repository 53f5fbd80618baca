"""Tollgate's Python client: the quick reference's billing, entitlement and usage API over gRPC.

Everything here talks to a Tollgate server (`TOLLGATE_URL`, default http://127.0.0.1:8080)
with an API key (`TOLLGATE_API_KEY`), asynchronously, with `Decimal` quantities. The FastAPI
dependency lives in `tollgate.fastapi` and is exported here too, imported only when first
asked for, so FastAPI stays optional: `import tollgate` never imports it.
"""

from typing import TYPE_CHECKING, Any

from tollgate.billing import BillingClient, Customer, Subscription
from tollgate.connection import TollgateClient
from tollgate.decorators import require_entitlement
from tollgate.enforcer import CheckResult, EntitlementEnforcer, check_entitlement_or_raise
from tollgate.errors import BillingProviderError, EntitlementEnforcementError, TollgateError
from tollgate.features import CachedFeature, FeatureCacheOptions
from tollgate.quantity import Quantity
from tollgate.tracker import (
    UsageBufferFullError,
    UsageRejectedError,
    UsageTracker,
    UsageTrackerStats,
)

if TYPE_CHECKING:
    from tollgate.fastapi import add_entitlement_error_handler, get_entitlement_enforcer

# Names served from `tollgate.fastapi` on first use (PEP 562).
_FASTAPI_EXPORTS = ("get_entitlement_enforcer", "add_entitlement_error_handler")


def __getattr__(name: str) -> Any:
    if name in _FASTAPI_EXPORTS:
        from tollgate import fastapi

        return getattr(fastapi, name)
    raise AttributeError(f"module 'tollgate' has no attribute {name!r}")


__all__ = [
    "BillingClient",
    "BillingProviderError",
    "CachedFeature",
    "CheckResult",
    "Customer",
    "EntitlementEnforcementError",
    "EntitlementEnforcer",
    "FeatureCacheOptions",
    "Quantity",
    "Subscription",
    "TollgateClient",
    "TollgateError",
    "UsageBufferFullError",
    "UsageRejectedError",
    "UsageTracker",
    "UsageTrackerStats",
    "add_entitlement_error_handler",
    "check_entitlement_or_raise",
    "get_entitlement_enforcer",
    "require_entitlement",
]
