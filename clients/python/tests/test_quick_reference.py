"""Every snippet of the quick reference, nearly verbatim, against a real Tollgate server."""

from __future__ import annotations

import uuid
from decimal import Decimal
from uuid import UUID

import httpx
import pytest
from fastapi import Depends, FastAPI

from tollgate import (
    BillingClient,
    EntitlementEnforcementError,
    EntitlementEnforcer,
    TollgateClient,
    UsageTracker,
    check_entitlement_or_raise,
    require_entitlement,
)
from tollgate.fastapi import add_entitlement_error_handler, get_entitlement_enforcer

from .conftest import Tenant


async def test_billing_provider(provider: BillingClient, tenant: Tenant) -> None:
    # Create Customer
    customer_id = await provider.create_customer(
        tenant_id=tenant.id, email="user@example.com", name="John Doe"
    )
    assert customer_id.startswith("cus_")

    # Create Subscription
    subscription = await provider.create_subscription(
        customer_id=customer_id, price_id="price_pro_monthly", trial_days=14
    )
    assert (subscription.plan_id, subscription.state) == ("pro", "trialing")
    assert subscription.trial_end is not None
    sub_id = subscription.id

    # Update Subscription
    updated = await provider.update_subscription(
        subscription_id=sub_id, new_price_id="price_team_monthly"
    )
    assert updated.plan_id == "team"

    # Cancel at period end
    at_end = await provider.cancel_subscription(sub_id, immediate=False)
    assert at_end.cancel_at_period_end and at_end.state == "trialing"

    # Cancel immediately
    now = await provider.cancel_subscription(sub_id, immediate=True)
    assert now.state == "canceled"


async def test_check_and_record(enforcer: EntitlementEnforcer, tenant: Tenant) -> None:
    tenant_id = tenant.id
    check = await enforcer.check_and_record(
        tenant_id=tenant_id, resource_type="executions", quantity=Decimal("1")
    )

    if not check.allowed:
        raise Exception(check.reason)

    # A FREE tenant: 1 of 100 executions used, exactly.
    assert (check.used, check.limit, check.remaining) == (Decimal(1), Decimal(100), Decimal(99))
    # What does not fit is denied and records nothing.
    denied = await enforcer.check_and_record(tenant_id, "executions", Decimal("100"))
    assert not denied.allowed
    assert denied.denial_reason == "LIMIT_EXCEEDED"
    assert denied.used == Decimal(1)
    with pytest.raises(EntitlementEnforcementError) as raised:
        check_entitlement_or_raise(denied)
    assert raised.value.status_code == 402
    assert raised.value.resource_type == "executions"
    # check_only records nothing either.
    probe = await enforcer.check_only(tenant_id, "executions", Decimal("99"))
    assert probe.allowed and probe.used == Decimal(1)


async def test_decorator(enforcer: EntitlementEnforcer, tenant: Tenant) -> None:
    runs: list[EntitlementEnforcer | None] = []

    @require_entitlement("executions", quantity=Decimal("1"))
    async def execute_workflow(tenant_id: UUID, enforcer: EntitlementEnforcer | None = None) -> str:
        # Your logic here
        runs.append(enforcer)
        return "done"

    assert await execute_workflow(tenant.id, enforcer=enforcer) == "done"
    # The enforcer from TOLLGATE_URL and TOLLGATE_API_KEY when the caller gives none.
    assert await execute_workflow(tenant.id) == "done"
    assert runs[0] is enforcer and isinstance(runs[1], EntitlementEnforcer)
    # Once the limit is reached, the function does not run.
    await enforcer.record_usage_only(tenant.id, "executions", Decimal("98"))
    with pytest.raises(EntitlementEnforcementError):
        await execute_workflow(tenant.id, enforcer=enforcer)
    assert len(runs) == 2


async def test_fastapi_integration(enforcer: EntitlementEnforcer, tenant: Tenant) -> None:
    app = FastAPI()
    add_entitlement_error_handler(app)

    @app.post("/execute")
    async def execute(
        tenant_id: UUID,
        enforcer: EntitlementEnforcer = Depends(get_entitlement_enforcer),
    ) -> dict[str, str]:
        check = await enforcer.check_and_record(tenant_id, "executions")
        check_entitlement_or_raise(check)
        # Your logic
        return {"status": "ran"}

    async with httpx.AsyncClient(app=app, base_url="http://service") as http:
        ok = await http.post("/execute", params={"tenant_id": str(tenant.id)})
        assert (ok.status_code, ok.json()) == (200, {"status": "ran"})
        await enforcer.record_usage_only(tenant.id, "executions", Decimal("99"))
        denied = await http.post("/execute", params={"tenant_id": str(tenant.id)})
    assert denied.status_code == 402
    assert denied.json()["denial_reason"] == "LIMIT_EXCEEDED"
    assert (denied.json()["limit"], denied.json()["used"]) == ("100", "100")


async def test_basic_tracking(client: TollgateClient, enforcer: EntitlementEnforcer) -> None:
    tenant_id = uuid.uuid4()
    tracker = UsageTracker(client, batch_size=100, flush_interval_seconds=30)
    tracker.start()

    await tracker.track(tenant_id, "executions", Decimal("1"))

    await tracker.stop()
    assert (await enforcer.check_only(tenant_id, "executions")).used == Decimal(1)


async def test_context_manager(client: TollgateClient, enforcer: EntitlementEnforcer) -> None:
    tenant_id, wf_id = uuid.uuid4(), uuid.uuid4()
    async with UsageTracker(client) as tracker:
        await tracker.track_execution(tenant_id, workflow_id=wf_id)
        await tracker.track_tokens(tenant_id, tokens=1500, model="gpt-4")
        await tracker.track_api_call(tenant_id, endpoint="/api/v1/workflows")
        await tracker.track_storage(tenant_id, size_mb=Decimal("10.5"))

    used = {
        resource: (await enforcer.check_only(tenant_id, resource)).used
        for resource in ("executions", "tokens", "api_calls", "storage_mb")
    }
    assert used == {
        "executions": Decimal(1),
        "tokens": Decimal(1500),
        "api_calls": Decimal(1),
        "storage_mb": Decimal("10.5"),
    }


async def test_manual_flush_and_stats(client: TollgateClient, tenant: Tenant) -> None:
    tracker = UsageTracker(client, batch_size=1000)
    for _ in range(250):
        await tracker.track(tenant.id, "api_calls")

    flushed_count = await tracker.flush()

    assert flushed_count == 250
    assert await tracker.flush() == 0
    stats = tracker.get_stats()
    # Returns: tracked, flushed, errors, last_flush, buffer_size, etc.
    assert (stats["tracked"], stats["flushed"], stats["errors"], stats["buffer_size"]) == (
        250,
        250,
        0,
        0,
    )
    assert stats["last_flush"] is not None
