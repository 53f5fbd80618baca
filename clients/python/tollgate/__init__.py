"""Tollgate's Python client: the quick reference's billing, entitlement and usage API over gRPC.

Everything here talks to a Tollgate server (`TOLLGATE_URL`, default http://127.0.0.1:8080)
with an API key (`TOLLGATE_API_KEY`), asynchronously, with `Decimal` quantities. The FastAPI
dependency lives in `tollgate.fastapi`, so FastAPI stays optional.
"""

from tollgate.billing import BillingClient, Customer, Subscription
from tollgate.connection import TollgateClient
from tollgate.decorators import require_entitlement
from tollgate.enforcer import CheckResult, EntitlementEnforcer, check_entitlement_or_raise
from tollgate.errors import BillingProviderError, EntitlementEnforcementError, TollgateError
from tollgate.quantity import Quantity
from tollgate.tracker import (
    UsageBufferFullError,
    UsageRejectedError,
    UsageTracker,
    UsageTrackerStats,
)

__all__ = [
    "BillingClient",
    "BillingProviderError",
    "CheckResult",
    "Customer",
    "EntitlementEnforcementError",
    "EntitlementEnforcer",
    "Quantity",
    "Subscription",
    "TollgateClient",
    "TollgateError",
    "UsageBufferFullError",
    "UsageRejectedError",
    "UsageTracker",
    "UsageTrackerStats",
    "check_entitlement_or_raise",
    "require_entitlement",
]
