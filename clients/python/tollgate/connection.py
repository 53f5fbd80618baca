"""One connection to a Tollgate server, shared by the enforcer, the tracker and the billing client."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from typing import Any, Self
from urllib.parse import urlsplit

import grpc

from tollgate.errors import from_rpc_error
from tollgate.features import CachedFeature, FeatureCache, FeatureCacheOptions
from tollgate.v1 import (
    billing_service_pb2_grpc,
    entitlement_service_pb2_grpc,
    event_service_pb2_grpc,
    usage_service_pb2_grpc,
)


DEFAULT_URL = "http://127.0.0.1:8080"


def parse_url(url: str) -> tuple[str, bool]:
    """The gRPC target (`host:port`) of a Tollgate URL, and whether it uses TLS.

    Raises `ValueError` naming the URL when it is not `http://host[:port]` or
    `https://host[:port]`, so a typo fails here rather than deep inside gRPC.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(
            f"Tollgate URL {url!r} must look like http://host:port or https://host "
            "(TOLLGATE_URL, or the url argument)"
        )
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError(f"Tollgate URL {url!r} must not carry a path, query or fragment")
    secure = parts.scheme == "https"
    port = parts.port or (443 if secure else 80)
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{host}:{port}", secure


class _Channel:
    """A grpc.aio channel with the stubs over it, bound to the event loop that made it."""

    def __init__(self, target: str, secure: bool) -> None:
        self.loop = asyncio.get_running_loop()
        # Reconnect within seconds of a server coming back, not gRPC's default of up to two
        # minutes: the feature cache is stale until then.
        options = [
            ("grpc.initial_reconnect_backoff_ms", 250),
            ("grpc.min_reconnect_backoff_ms", 250),
            ("grpc.max_reconnect_backoff_ms", 2000),
        ]
        self.channel = (
            grpc.aio.secure_channel(target, grpc.ssl_channel_credentials(), options)
            if secure
            else grpc.aio.insecure_channel(target, options)
        )
        self.billing = billing_service_pb2_grpc.BillingServiceStub(self.channel)
        self.entitlements = entitlement_service_pb2_grpc.EntitlementServiceStub(self.channel)
        self.usage = usage_service_pb2_grpc.UsageServiceStub(self.channel)
        self.events = event_service_pb2_grpc.EventServiceStub(self.channel)


class TollgateClient:
    """Where Tollgate is and how to authenticate: `TOLLGATE_URL` and `TOLLGATE_API_KEY` by default.

    The gRPC channel opens on first use, inside the running event loop, and a new one opens if
    the client is used from another loop (each test of an async test suite runs its own), so
    one client can be created at import time and shared.
    """

    def __init__(
        self,
        url: str | None = None,
        api_key: str | None = None,
        *,
        timeout_seconds: float = 10.0,
        cache: FeatureCacheOptions | None = None,
    ) -> None:
        self.url = url or os.environ.get("TOLLGATE_URL") or DEFAULT_URL
        self._target, self._secure = parse_url(self.url)
        key = api_key if api_key is not None else os.environ.get("TOLLGATE_API_KEY", "")
        self._metadata: tuple[tuple[str, str], ...] = (
            (("authorization", f"Bearer {key}"),) if key else ()
        )
        self.timeout_seconds = timeout_seconds
        self._channel: _Channel | None = None
        self._features = FeatureCache(self, cache or FeatureCacheOptions())

    @property
    def metadata(self) -> tuple[tuple[str, str], ...]:
        """The call metadata: the API key, when there is one."""
        return self._metadata

    async def check_feature(self, tenant_id: str, feature: str) -> CachedFeature:
        """A tenant's feature from the in-process cache (`source` says how fresh it is).

        The first check of a tenant fetches its features; after that, answers need no round
        trip while the event stream keeps them fresh, come from the last known values for
        `stale_for` once the server is unreachable, then from the fallback.
        """
        return await self._features.check_feature(tenant_id, feature)

    def stubs(self) -> _Channel:
        """The channel and stubs of the running event loop."""
        loop = asyncio.get_running_loop()
        if self._channel is None or self._channel.loop is not loop or loop.is_closed():
            self._channel = _Channel(self._target, self._secure)
        return self._channel

    async def call(self, method: Callable[..., Awaitable[Any]], request: Any) -> Any:
        """Sends one unary call with the key and deadline; failures become `TollgateError`."""
        try:
            return await method(request, metadata=self._metadata, timeout=self.timeout_seconds)
        except grpc.aio.AioRpcError as error:
            raise from_rpc_error(error) from error

    def stream(self, method: Callable[..., Any], requests: Any) -> Any:
        """Starts a client-streaming call with the key and deadline."""
        return method(requests, metadata=self._metadata, timeout=self.timeout_seconds)

    async def close(self) -> None:
        """Closes the channel; the client opens a new one if used again."""
        await self._features.close()
        if self._channel is not None:
            channel, self._channel = self._channel, None
            await channel.channel.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


_default: TollgateClient | None = None


def default_client() -> TollgateClient:
    """The process-wide client from `TOLLGATE_URL` and `TOLLGATE_API_KEY`, made on first use."""
    global _default
    if _default is None:
        _default = TollgateClient()
    return _default
