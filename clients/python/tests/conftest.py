"""Fixtures: a real Tollgate server named by TOLLGATE_URL (npm test starts one), a fresh tenant."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest

from tollgate import BillingClient, EntitlementEnforcer, TollgateClient
from tollgate.connection import default_client

if not os.environ.get("TOLLGATE_URL"):
    pytest.skip(
        "set TOLLGATE_URL (and TOLLGATE_API_KEY) to a running Tollgate server; npm test does",
        allow_module_level=True,
    )


@dataclass
class Tenant:
    """A tenant of the caller's product, as the quick reference's `tenant`."""

    id: uuid.UUID = field(default_factory=uuid.uuid4)


@pytest.fixture(autouse=True)
async def close_default_client() -> AsyncIterator[None]:
    # The process-wide client opens a channel in each test's event loop; close it with the loop.
    yield
    await default_client().close()


@pytest.fixture
def tenant() -> Tenant:
    return Tenant()


@pytest.fixture
async def client() -> AsyncIterator[TollgateClient]:
    async with TollgateClient() as client:
        yield client


@pytest.fixture
def enforcer(client: TollgateClient) -> EntitlementEnforcer:
    return EntitlementEnforcer(client)


@pytest.fixture
def provider(client: TollgateClient) -> BillingClient:
    return BillingClient(client)
