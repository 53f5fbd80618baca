"""The feature cache against a server of its own, which the test stops and starts again."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import grpc
import pytest

from tollgate import FeatureCacheOptions, TollgateClient, TollgateError
from tollgate.v1 import billing_service_pb2, entitlement_service_pb2

NODE = os.environ.get("TOLLGATE_TEST_NODE", "")
MAIN = os.environ.get("TOLLGATE_TEST_SERVER_MAIN", "")
DATABASE_URL = os.environ.get("TOLLGATE_TEST_DATABASE_URL", "")


class Server:
    """`node dist/src/main.js` on the test database, on a port kept across restarts."""

    def __init__(self) -> None:
        self.port = 0
        self.process: subprocess.Popen[str] | None = None

    def start(self) -> None:
        env = {
            "PATH": os.environ.get("PATH", ""),
            "DATABASE_URL": DATABASE_URL,
            "PORT": str(self.port),
            "HOST": "127.0.0.1",
            "LOG_LEVEL": "info",
            "BILLING_RATE_LIMIT_BURST": "1000",
        }
        self.process = subprocess.Popen(
            [NODE, MAIN], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        assert self.process.stdout is not None
        deadline = time.monotonic() + 30
        for line in self.process.stdout:
            match = re.search(r'"port":(\d+),"database"', line)
            if match:
                self.port = int(match.group(1))
                return
            assert time.monotonic() < deadline, "the server did not start"
        raise AssertionError("the server exited before serving")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=30)
            self.process = None


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    if not (NODE and MAIN and DATABASE_URL):
        pytest.skip("npm test passes TOLLGATE_TEST_NODE, _SERVER_MAIN and _DATABASE_URL")
    running = Server()
    running.start()
    yield running
    running.stop()


async def eventually(check: Callable[[], Awaitable[bool]], within: float) -> None:
    """Waits until `check()` holds, polling, or fails after `within` seconds."""
    deadline = time.monotonic() + within
    while not await check():
        assert time.monotonic() < deadline, f"not within {within} s"
        await asyncio.sleep(0.02)


async def test_cache_follows_changes_then_goes_stale_falls_back_and_recovers(
    server: Server,
) -> None:
    url = f"http://127.0.0.1:{server.port}"
    cache = FeatureCacheOptions(stale_for=3.0, fallback={"sso": False})
    async with TollgateClient(url, cache=cache) as client, TollgateClient(url) as admin:
        tenant = str(uuid.uuid4())

        # given: a FREE tenant, fetched once
        first = await client.check_feature(tenant, "sso")
        assert (first.enabled, first.value, first.source) == (False, False, "cache")
        with pytest.raises(TollgateError) as unknown:
            await client.check_feature(tenant, "saml")
        assert unknown.value.code == grpc.StatusCode.INVALID_ARGUMENT

        # when: it moves to TEAM; then: the cache follows within 2 s
        created = await admin.call(
            admin.stubs().billing.CreateCustomer,
            billing_service_pb2.CreateCustomerRequest(tenant_id=tenant, email="p@example.com"),
        )
        await admin.call(
            admin.stubs().billing.CreateSubscription,
            billing_service_pb2.CreateSubscriptionRequest(
                customer_id=created.customer.id, price_id="price_team_monthly"
            ),
        )

        async def sso_on() -> bool:
            return (await client.check_feature(tenant, "sso")).enabled

        await eventually(sso_on, 2.0)
        await admin.call(
            admin.stubs().entitlements.SetFeatureOverride,
            entitlement_service_pb2.SetFeatureOverrideRequest(
                tenant_id=tenant, feature="retention_days", value="400"
            ),
        )

        async def retention_400() -> bool:
            return (await client.check_feature(tenant, "retention_days")).value == "400"

        await eventually(retention_400, 2.0)

        # when: the server stops; then: stale values, then the fallback
        server.stop()

        async def source_is(source: str) -> bool:
            return (await client.check_feature(tenant, "sso")).source == source

        await eventually(lambda: source_is("stale"), 2.0)
        assert (await client.check_feature(tenant, "sso")).value is True
        await eventually(lambda: source_is("fallback"), 5.0)
        assert (await client.check_feature(tenant, "sso")).value is False
        with pytest.raises(TollgateError) as missing:
            await client.check_feature(tenant, "retention_days")
        assert missing.value.code == grpc.StatusCode.UNAVAILABLE

        # when: it comes back on the same port; then: fresh again, from the database
        server.start()
        await eventually(lambda: source_is("cache"), 10.0)
        retention = await client.check_feature(tenant, "retention_days")
        assert (retention.value, retention.source) == ("400", "cache")
