"""Entitlement checks: may this tenant use this much of this resource now?"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from uuid import UUID

from tollgate.connection import TollgateClient, default_client
from tollgate.errors import EntitlementEnforcementError
from tollgate.quantity import Quantity, from_wire, to_wire
from tollgate.v1 import entitlement_service_pb2 as pb


@dataclass(frozen=True)
class CheckResult:
    """The answer to a check, with the tenant's standing on that resource after it."""

    allowed: bool
    """Whether the quantity fits (and, for `check_and_record`, was recorded)."""
    reason: str
    """A sentence for people: why it was allowed or denied."""
    denial_reason: str | None
    """The machine reason when denied, for example `LIMIT_EXCEEDED`; None when allowed."""
    resource_type: str
    limit: Decimal | None
    """The most that may be used; None when nothing is ever denied (unlimited, or uncapped)."""
    used: Decimal
    remaining: Decimal | None
    unlimited: bool
    plan_id: str


def _denial_name(value: int) -> str | None:
    if value == pb.DENIAL_REASON_UNSPECIFIED:
        return None
    return str(pb.DenialReason.Name(value)).removeprefix("DENIAL_REASON_")


def _result(
    allowed: bool, reason: str, denial: int, entitlement: pb.Entitlement, resource_type: str
) -> CheckResult:
    return CheckResult(
        allowed=allowed,
        reason=reason,
        denial_reason=_denial_name(denial),
        resource_type=entitlement.resource_type or resource_type,
        limit=from_wire(entitlement.limit),
        used=from_wire(entitlement.used) or Decimal(0),
        remaining=from_wire(entitlement.remaining),
        unlimited=entitlement.unlimited,
        plan_id=entitlement.plan_id,
    )


class EntitlementEnforcer:
    """The quick reference's enforcer, over Tollgate's `EntitlementService`.

    `check_and_record` is one atomic step on the server: under any concurrency, across any
    number of replicas, the admitted total never exceeds the limit, and a denied call records
    nothing. Give an `idempotency_key` to make a retried call count once.
    """

    def __init__(self, client: TollgateClient | None = None) -> None:
        self.client = client or default_client()

    async def check_and_record(
        self,
        tenant_id: UUID | str,
        resource_type: str,
        quantity: Quantity = Decimal("1"),
        *,
        idempotency_key: str = "",
        dimensions: Mapping[str, str] | None = None,
    ) -> CheckResult:
        """Checks the limit and records the quantity if it fits, atomically.

        `dimensions` are the usage's dimension values (`{"model": "gpt-4"}`), plus a
        unique_count meter's unique_key naming the member (`{"user_id": "u1"}`).
        """
        answer: pb.CheckAndRecordResponse = await self._send(
            "CheckAndRecord",
            pb.CheckAndRecordRequest(idempotency_key=idempotency_key),
            tenant_id,
            resource_type,
            quantity,
            dimensions,
        )
        return _result(
            answer.allowed, answer.reason, answer.denial_reason, answer.entitlement, resource_type
        )

    async def check_only(
        self,
        tenant_id: UUID | str,
        resource_type: str,
        quantity: Quantity = Decimal("1"),
        *,
        dimensions: Mapping[str, str] | None = None,
    ) -> CheckResult:
        """Whether the quantity would fit now; records nothing."""
        answer: pb.CheckResponse = await self._send(
            "Check", pb.CheckRequest(), tenant_id, resource_type, quantity, dimensions
        )
        return _result(
            answer.allowed, answer.reason, answer.denial_reason, answer.entitlement, resource_type
        )

    async def record_usage_only(
        self,
        tenant_id: UUID | str,
        resource_type: str,
        quantity: Quantity = Decimal("1"),
        *,
        idempotency_key: str = "",
        dimensions: Mapping[str, str] | None = None,
    ) -> CheckResult:
        """Records the quantity without a limit check (usage that already happened)."""
        answer: pb.RecordUsageResponse = await self._send(
            "RecordUsage",
            pb.RecordUsageRequest(idempotency_key=idempotency_key),
            tenant_id,
            resource_type,
            quantity,
            dimensions,
        )
        return _result(
            True, "recorded", pb.DENIAL_REASON_UNSPECIFIED, answer.entitlement, resource_type
        )

    async def _send(
        self,
        method: str,
        request: Any,
        tenant_id: UUID | str,
        resource_type: str,
        quantity: Quantity,
        dimensions: Mapping[str, str] | None,
    ) -> Any:
        # The three calls share their tenant, resource, quantity and dimension fields.
        request.tenant_id = str(tenant_id)
        request.resource_type = resource_type
        request.quantity = to_wire(quantity)
        request.dimensions.update(dimensions or {})
        return await self.client.call(getattr(self.client.stubs().entitlements, method), request)


def check_entitlement_or_raise(check: CheckResult) -> None:
    """Raises `EntitlementEnforcementError` (HTTP 402) unless the check was allowed."""
    if not check.allowed:
        raise EntitlementEnforcementError(
            resource_type=check.resource_type,
            reason=check.reason,
            denial_reason=check.denial_reason,
            limit=check.limit,
            used=check.used,
        )


_default: EntitlementEnforcer | None = None


def default_enforcer() -> EntitlementEnforcer:
    """The process-wide enforcer over the default client, made on first use."""
    global _default
    if _default is None:
        _default = EntitlementEnforcer()
    return _default
