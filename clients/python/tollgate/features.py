"""Each tenant's features kept in process, answered without a round trip.

`TollgateClient(cache=FeatureCacheOptions(...))` configures it and `client.check_feature(...)`
answers from it. Freshness comes from the server's event stream: while it runs, a tenant's
features are fetched again as soon as an event says its entitlements changed. When the stream
breaks, the cached values turn stale from that moment and are answered as `"stale"` for
`stale_for` seconds, then the configured fallback answers (`"fallback"`). Once the stream runs
again, every cached tenant is fetched afresh, since events may have been missed meanwhile.
Metered checks are never cached: they stay with `EntitlementEnforcer`.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import grpc

from tollgate.errors import TollgateError
from tollgate.v1 import entitlement_service_pb2, event_service_pb2

if TYPE_CHECKING:
    from tollgate.connection import TollgateClient

# The event types after which a tenant's features are fetched again.
CACHE_EVENT_TYPES = (
    "entitlement.updated",
    "subscription.created",
    "subscription.updated",
    "subscription.canceled",
    "subscription.past_due",
)

FeatureSource = Literal["cache", "stale", "fallback"]


@dataclass(frozen=True)
class FeatureCacheOptions:
    """How the feature cache behaves when the server cannot be reached.

    `stale_for` is how long (seconds) the last known values still answer once the server is
    unreachable; `fallback` is what answers after that, or for a tenant never fetched (a value
    per feature name: `{"sso": False, "retention_days": "7"}`); a feature without one raises
    `TollgateError(UNAVAILABLE)`. `max_tenants` bounds the tenants kept.
    """

    stale_for: float = 300.0
    fallback: Mapping[str, bool | str] = field(default_factory=dict)
    max_tenants: int = 10_000


@dataclass(frozen=True)
class CachedFeature:
    """A feature as the cache answers it: its value (a bool, or a decimal string or word),
    whether it is enabled, and where the answer comes from."""

    name: str
    enabled: bool
    value: bool | str
    source: FeatureSource


class FeatureCache:
    """The cache behind `TollgateClient.check_feature`; starts following events on first use."""

    def __init__(self, client: TollgateClient, options: FeatureCacheOptions) -> None:
        self._client = client
        self._options = options
        self._entries: OrderedDict[str, dict[str, tuple[bool, bool | str]]] = OrderedDict()
        self._down_since: float | None = None
        self._task: asyncio.Task[None] | None = None

    async def check_feature(self, tenant_id: str, feature: str) -> CachedFeature:
        """One feature of a tenant, from the cache once known (the first check fetches)."""
        self._follow()
        tenant = tenant_id.lower()
        entry = self._entries.get(tenant)
        if entry is None:
            try:
                entry = await self._fetch(tenant)
            except TollgateError as error:
                if error.code in (
                    grpc.StatusCode.INVALID_ARGUMENT,
                    grpc.StatusCode.PERMISSION_DENIED,
                    grpc.StatusCode.UNAUTHENTICATED,
                ):
                    raise
                return self._fallback(tenant, feature)
        known = entry.get(feature)
        if known is None:
            raise TollgateError(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"feature {feature} is not a known feature; known: {', '.join(entry)}",
            )
        enabled, value = known
        if self._down_since is None:
            return CachedFeature(feature, enabled, value, "cache")
        if time.monotonic() - self._down_since <= self._options.stale_for:
            return CachedFeature(feature, enabled, value, "stale")
        return self._fallback(tenant, feature)

    async def close(self) -> None:
        """Stops following events."""
        if self._task is not None:
            task, self._task = self._task, None
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass

    def _fallback(self, tenant: str, feature: str) -> CachedFeature:
        value = self._options.fallback.get(feature)
        if value is None:
            raise TollgateError(
                grpc.StatusCode.UNAVAILABLE,
                f"feature {feature} of tenant {tenant} is not known and has no fallback",
            )
        return CachedFeature(feature, value not in (False, "false"), value, "fallback")

    async def _fetch(self, tenant: str) -> dict[str, tuple[bool, bool | str]]:
        answer = await self._client.call(
            self._client.stubs().entitlements.GetFeatures,
            entitlement_service_pb2.GetFeaturesRequest(tenant_id=tenant),
        )
        entry = {f.name: (f.enabled, _value_of(f)) for f in answer.features}
        self._entries.pop(tenant, None)
        self._entries[tenant] = entry
        while len(self._entries) > self._options.max_tenants:
            self._entries.popitem(last=False)
        return entry

    def _follow(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._watch())

    async def _watch(self) -> None:
        pause = 0.25
        # Every tenant (an admin key), or the one tenant a tenant key may see.
        scope = ""
        while True:
            try:
                stream = self._client.stubs().events.StreamEvents(
                    event_service_pb2.StreamEventsRequest(
                        tenant_id=scope, types=list(CACHE_EVENT_TYPES)
                    ),
                    metadata=self._client.metadata,
                )
                # With the stream started, fetch what may have been missed, then follow it. (The
                # server sends a stream's headers with its first event, so there is nothing to
                # wait for: the fetches themselves show that the server answers again.)
                for tenant in list(self._entries):
                    await self._fetch(tenant)
                self._down_since = None
                pause = 0.25
                async for message in stream:
                    tenant = message.event.tenant_id
                    if tenant in self._entries:
                        await self._fetch(tenant)
            except (grpc.aio.AioRpcError, TollgateError) as error:
                code = error.code() if isinstance(error, grpc.aio.AioRpcError) else error.code
                if code == grpc.StatusCode.PERMISSION_DENIED and scope == "" and self._entries:
                    scope = next(iter(self._entries))
                    continue
                if self._down_since is None:
                    self._down_since = time.monotonic()
            await asyncio.sleep(pause)
            pause = min(pause * 2, 5.0)


def _value_of(feature: entitlement_service_pb2.Feature) -> bool | str:
    kind = feature.WhichOneof("value")
    if kind == "bool_value":
        return feature.bool_value
    if kind == "number_value":
        return feature.number_value
    return feature.string_value
