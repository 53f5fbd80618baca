"""What the quick reference does not show: errors, retries, backpressure, rejected events."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import grpc
import pytest

from tollgate import (
    BillingClient,
    BillingProviderError,
    EntitlementEnforcer,
    TollgateClient,
    TollgateError,
    UsageBufferFullError,
    UsageRejectedError,
    UsageTracker,
)
from tollgate.errors import from_rpc_error

from .conftest import Tenant


def test_a_url_without_scheme_fails_clearly() -> None:
    with pytest.raises(ValueError, match="must look like http://host:port"):
        TollgateClient("127.0.0.1:8080")


def test_the_fastapi_dependency_imports_from_the_package_without_importing_fastapi_eagerly() -> (
    None
):
    import subprocess
    import sys

    script = (
        "import sys, tollgate\n"
        "assert 'fastapi' not in sys.modules, 'import tollgate imported FastAPI'\n"
        "from tollgate import get_entitlement_enforcer, add_entitlement_error_handler\n"
        "import tollgate.fastapi as f\n"
        "assert get_entitlement_enforcer is f.get_entitlement_enforcer\n"
        "assert add_entitlement_error_handler is f.add_entitlement_error_handler\n"
        "try:\n"
        "    from tollgate import no_such_name\n"
        "except ImportError:\n"
        "    pass\n"
        "else:\n"
        "    raise AssertionError('an unknown name imported')\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True)


def test_floats_are_refused_as_quantities() -> None:
    from tollgate.quantity import to_wire

    with pytest.raises(TypeError, match="Decimal"):
        to_wire(0.1)  # type: ignore[arg-type]
    assert to_wire(Decimal("1.5E+3")) == "1500"


async def test_bad_input_is_invalid_argument_with_every_field(provider: BillingClient) -> None:
    with pytest.raises(TollgateError) as raised:
        await provider.create_customer(tenant_id="not-a-uuid", email="")
    assert raised.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert "tenant_id" in raised.value.message and "email" in raised.value.message
    assert not raised.value.retryable


async def test_a_repeated_request_id_acts_once(provider: BillingClient, tenant: Tenant) -> None:
    first = await provider.create_customer(tenant.id, "a@example.com", request_id="signup-1")
    again = await provider.create_customer(tenant.id, "a@example.com", request_id="signup-1")
    assert first == again
    assert (await provider.get_customer(tenant.id)).email == "a@example.com"


def test_billing_provider_failures_are_typed() -> None:
    error = grpc.aio.AioRpcError(
        grpc.StatusCode.UNAVAILABLE,
        grpc.aio.Metadata(),
        grpc.aio.Metadata(("tollgate-error-reason", "BILLING_PROVIDER")),
        "the billing provider is unavailable",
    )
    mapped = from_rpc_error(error)
    assert isinstance(mapped, BillingProviderError) and mapped.retryable


async def test_a_repeated_event_id_counts_once(
    client: TollgateClient, enforcer: EntitlementEnforcer, tenant: Tenant
) -> None:
    tracker = UsageTracker(client)
    await tracker.track(tenant.id, "tokens", 700, event_id="llm-call-1")
    await tracker.track(tenant.id, "tokens", 700, event_id="llm-call-1")
    assert await tracker.flush() == 2
    assert tracker.get_stats()["duplicates"] == 1
    assert (await enforcer.check_only(tenant.id, "tokens")).used == Decimal(700)


async def test_rejected_events_reach_on_error_with_the_reason(
    client: TollgateClient, tenant: Tenant
) -> None:
    errors: list[Exception] = []
    tracker = UsageTracker(client, on_error=errors.append)
    await tracker.track(tenant.id, "teleports")
    await tracker.track(tenant.id, "executions")
    assert await tracker.flush() == 1
    assert tracker.get_stats()["rejected"] == 1
    assert len(errors) == 1 and isinstance(errors[0], UsageRejectedError)
    assert "resource_type" in errors[0].reason


class CountingClient(TollgateClient):
    """Counts StreamUsage calls, to show batches are not sent per event."""

    streams = 0

    def stream(self, method: Any, requests: Any) -> Any:
        self.streams += 1
        return super().stream(method, requests)


async def test_backpressure_waits_for_room_and_batches(
    enforcer: EntitlementEnforcer, tenant: Tenant
) -> None:
    # given a buffer of 200 and batches of 100
    async with CountingClient() as client:
        tracker = UsageTracker(client, batch_size=100, max_buffer_size=200)
        # when 2,000 events are tracked in a tight loop
        for _ in range(2_000):
            await tracker.track(tenant.id, "api_calls")
        await tracker.flush()
    # then none was refused, all arrived, and in a few dozen streams at most
    stats = tracker.get_stats()
    assert (stats["tracked"], stats["flushed"], stats["dropped"]) == (2_000, 2_000, 0)
    assert client.streams <= 2_000 // 100 + 2
    assert (await enforcer.check_only(tenant.id, "api_calls")).used == Decimal(2_000)


async def test_overflow_reject_and_a_down_server(tenant: Tenant) -> None:
    errors: list[Exception] = []
    async with TollgateClient("http://127.0.0.1:9", timeout_seconds=2) as down:
        tracker = UsageTracker(
            down, batch_size=2, max_buffer_size=2, overflow="reject", on_error=errors.append
        )
        await tracker.track(tenant.id, "executions")
        await tracker.track(tenant.id, "executions")
        with pytest.raises(UsageBufferFullError):
            await tracker.track(tenant.id, "executions")
        with pytest.raises(TollgateError) as raised:
            await tracker.flush()
    assert raised.value.code == grpc.StatusCode.UNAVAILABLE and raised.value.retryable
    # the events stay buffered with their ids, for a later flush
    assert tracker.get_stats()["buffer_size"] == 2
    assert tracker.get_stats()["errors"] >= 1 and errors


async def test_dimensions_reach_checks_and_usage_reports_group_by_them(
    client: TollgateClient, enforcer: EntitlementEnforcer, tenant: Tenant
) -> None:
    from datetime import datetime, timedelta, timezone

    from tollgate.v1 import usage_service_pb2 as usage_pb

    # the default catalog's tokens meter has a `model` dimension; `region` is not one
    allowed = await enforcer.check_and_record(
        tenant.id, "tokens", 5, dimensions={"model": "gpt-4o"}
    )
    assert allowed.allowed
    with pytest.raises(TollgateError, match="region"):
        await enforcer.check_only(tenant.id, "tokens", dimensions={"region": "eu"})

    # track_tokens sends the model as an attribute; the report groups by it in a time zone
    tracker = UsageTracker(client)
    await tracker.track_tokens(tenant.id, tokens=300, model="gpt-4o")
    await tracker.track_tokens(tenant.id, tokens=200, model="gpt-4o-mini")
    await tracker.track_tokens(tenant.id, tokens=100, model="gpt-4o")
    assert await tracker.flush() == 3
    now = datetime.now(timezone.utc)
    request = usage_pb.GetUsageRequest(
        tenant_id=str(tenant.id),
        resource_type="tokens",
        group_by=["model"],
        time_zone="Europe/Berlin",
        granularity=usage_pb.GRANULARITY_MONTH,
    )
    request.start_time.FromDatetime(now - timedelta(days=40))
    request.end_time.FromDatetime(now + timedelta(days=1))
    report = await client.call(client.stubs().usage.GetUsage, request)
    totals = {t.dimensions["model"]: t.quantity for t in report.totals}
    assert totals == {"gpt-4o": "400", "gpt-4o-mini": "200"}
