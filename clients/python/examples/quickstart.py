"""The quick reference's flow against a running Tollgate: bill, enforce, track.

Run it from the repository root against `npm start`'s server:

    PYTHONPATH=clients/python /usr/bin/python3 clients/python/examples/quickstart.py

Set TOLLGATE_URL (default http://127.0.0.1:8080) and TOLLGATE_API_KEY (an admin key, once
keys exist) to point it elsewhere. `npm test` runs it against a real server.
"""

import asyncio
from decimal import Decimal
from uuid import uuid4

from tollgate import (
    BillingClient,
    EntitlementEnforcementError,
    EntitlementEnforcer,
    UsageTracker,
    check_entitlement_or_raise,
)


async def main() -> None:
    tenant_id = uuid4()

    # Billing: a customer on PRO with a 14-day trial, then moved to TEAM.
    billing = BillingClient()
    customer_id = await billing.create_customer(
        tenant_id=tenant_id, email="user@example.com", name="John Doe"
    )
    subscription = await billing.create_subscription(
        customer_id=customer_id, price_id="price_pro_monthly", trial_days=14
    )
    subscription = await billing.update_subscription(subscription.id, "price_team_monthly")
    print(f"customer {customer_id}: {subscription.plan_id}, {subscription.state}")

    # Entitlements: check and record atomically; a denial raises with the reason.
    enforcer = EntitlementEnforcer()
    check = await enforcer.check_and_record(tenant_id, "executions", Decimal("1"))
    check_entitlement_or_raise(check)
    print(f"executions: {check.used} used of {check.limit}")
    try:
        check_entitlement_or_raise(
            await enforcer.check_and_record(tenant_id, "agents", Decimal("1000"))
        )
    except EntitlementEnforcementError as denied:
        print(f"denied: {denied}")

    # Usage: batched, each event counted exactly once however often it is resent.
    async with UsageTracker(batch_size=100, flush_interval_seconds=30) as tracker:
        await tracker.track_tokens(tenant_id, tokens=1500, model="gpt-4")
        await tracker.track_execution(tenant_id, workflow_id="wf-1")
    print(f"tracked: {tracker.get_stats()['flushed']} events stored")

    await billing.cancel_subscription(subscription.id, immediate=True)


if __name__ == "__main__":
    asyncio.run(main())
