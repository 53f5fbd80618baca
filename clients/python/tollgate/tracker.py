"""`UsageTracker`: usage events batched client-side and streamed to Tollgate exactly once."""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections import deque
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timezone
from decimal import Decimal
from types import TracebackType
from typing import Literal, Self, TypedDict
from uuid import UUID

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from tollgate.connection import TollgateClient, default_client
from tollgate.errors import TollgateError, from_rpc_error
from tollgate.quantity import Quantity, to_wire
from tollgate.v1 import usage_service_pb2 as pb

# The server takes messages of up to a few thousand events; 500 keeps each one small.
EVENTS_PER_MESSAGE = 500
# One flush sends at most this many events, so a large backlog drains in bounded steps.
EVENTS_PER_FLUSH = 5_000
MAX_BACKOFF_SECONDS = 5.0


class UsageTrackerStats(TypedDict):
    """What the tracker has done since it was made, as the quick reference's `get_stats()`."""

    tracked: int
    flushed: int
    """Events the server acknowledged: stored now, or found already stored (a retry)."""
    duplicates: int
    rejected: int
    """Events the server refused as invalid; they are reported to `on_error`, not resent."""
    errors: int
    """Failed flush attempts; their events stay buffered and are sent again."""
    dropped: int
    last_flush: datetime | None
    buffer_size: int
    running: bool


class UsageBufferFullError(Exception):
    """`track()` was refused: the buffer is full and the overflow policy is `reject`."""


class UsageRejectedError(Exception):
    """The server refused one event (an unknown resource, a bad quantity); it is not resent."""

    def __init__(self, event_id: str, reason: str) -> None:
        super().__init__(f"usage event {event_id} was rejected: {reason}")
        self.event_id = event_id
        self.reason = reason


def _setting(names: tuple[str, ...], default: float) -> float:
    for name in names:
        raw = os.environ.get(name)
        if raw:
            try:
                value = float(raw)
            except ValueError:
                value = 0
            if value <= 0:
                raise ValueError(f"{name} must be a positive number, not {raw!r}")
            return value
    return default


class UsageTracker:
    """Buffers usage events and sends them over `StreamUsage` in batches.

    A batch goes out when `batch_size` events wait, every `flush_interval_seconds` while
    started, on `flush()` and on `stop()` (or leaving `async with`). Each event gets its id
    and time when tracked and keeps them through retries, so a batch sent again after a
    failure is deduplicated by the server: exactly once in storage, counted in the period the
    usage happened in.

    When `max_buffer_size` events wait, `track()` waits for room by default (backpressure);
    `overflow="reject"` raises `UsageBufferFullError` instead, and `"drop-oldest"` discards the
    oldest waiting event (counted in `dropped`).

    Settings not given come from `TOLLGATE_TRACKER_BATCH_SIZE` (else the quick reference's
    `USAGE_TRACKER_BATCH_SIZE`, which means the same) and
    `TOLLGATE_TRACKER_FLUSH_INTERVAL_SECONDS`, then 100 and 30 s. The quick reference's
    `USAGE_TRACKER_FLUSH_INTERVAL` is not read: Tollgate's server takes that name for its own
    batcher (0.05 s), and a shared `.env` must not set the client's interval.
    """

    def __init__(
        self,
        client: TollgateClient | None = None,
        batch_size: int | None = None,
        flush_interval_seconds: float | None = None,
        *,
        max_buffer_size: int = 10_000,
        overflow: Literal["wait", "reject", "drop-oldest"] = "wait",
        on_error: Callable[[Exception], None] | None = None,
    ) -> None:
        self.client = client or default_client()
        self.batch_size = batch_size or int(
            _setting(("TOLLGATE_TRACKER_BATCH_SIZE", "USAGE_TRACKER_BATCH_SIZE"), 100)
        )
        self.flush_interval_seconds = flush_interval_seconds or _setting(
            ("TOLLGATE_TRACKER_FLUSH_INTERVAL_SECONDS",), 30
        )
        if self.batch_size <= 0 or self.flush_interval_seconds <= 0:
            raise ValueError("batch_size and flush_interval_seconds must be positive")
        if max_buffer_size < self.batch_size:
            raise ValueError("max_buffer_size must be at least batch_size")
        self.max_buffer_size = max_buffer_size
        self.overflow = overflow
        self.on_error = on_error
        self._buffer: deque[pb.UsageEvent] = deque()
        self._in_flight: list[pb.UsageEvent] = []
        self._send_lock = asyncio.Lock()
        self._room = asyncio.Condition()
        self._pump: asyncio.Task[None] | None = None
        self._ticker: asyncio.Task[None] | None = None
        self._acknowledged = 0
        self._stats = UsageTrackerStats(
            tracked=0,
            flushed=0,
            duplicates=0,
            rejected=0,
            errors=0,
            dropped=0,
            last_flush=None,
            buffer_size=0,
            running=False,
        )

    # --- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        """Starts flushing every `flush_interval_seconds` in the background."""
        if self._ticker is None:
            self._ticker = asyncio.get_running_loop().create_task(self._tick())
            self._stats["running"] = True

    async def stop(self) -> int:
        """Stops the timer and flushes what is buffered; returns what was acknowledged since
        the last `flush()` or `stop()`. Raises `TollgateError` if the last flush fails (the
        events stay buffered for a later `flush()`)."""
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
            self._ticker = None
        self._stats["running"] = False
        return await self.flush()

    async def __aenter__(self) -> Self:
        self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    # --- tracking --------------------------------------------------------------------------

    async def track(
        self,
        tenant_id: UUID | str,
        resource_type: str,
        quantity: Quantity = Decimal("1"),
        *,
        attributes: dict[str, str] | None = None,
        occur_time: datetime | None = None,
        event_id: str | None = None,
    ) -> None:
        """Buffers one usage event; waits for room when the buffer is full (see `overflow`)."""
        stamp = Timestamp()
        stamp.FromDatetime(occur_time or datetime.now(timezone.utc))
        event = pb.UsageEvent(
            event_id=event_id or str(uuid.uuid4()),
            tenant_id=str(tenant_id),
            resource_type=resource_type,
            quantity=to_wire(quantity),
            occur_time=stamp,
            attributes=attributes or {},
        )
        await self._make_room()
        self._buffer.append(event)
        self._stats["tracked"] += 1
        if len(self._buffer) >= self.batch_size:
            self._kick()

    async def track_execution(
        self, tenant_id: UUID | str, workflow_id: UUID | str | None = None, **attributes: str
    ) -> None:
        """One execution, with its workflow id as an attribute."""
        if workflow_id is not None:
            attributes["workflow_id"] = str(workflow_id)
        await self.track(tenant_id, "executions", Decimal("1"), attributes=attributes)

    async def track_tokens(
        self, tenant_id: UUID | str, tokens: int | Decimal, model: str | None = None
    ) -> None:
        """LLM tokens, with the model as an attribute."""
        await self.track(tenant_id, "tokens", tokens, attributes={"model": model} if model else {})

    async def track_api_call(self, tenant_id: UUID | str, endpoint: str | None = None) -> None:
        """One API call, with its endpoint as an attribute."""
        await self.track(
            tenant_id,
            "api_calls",
            Decimal("1"),
            attributes={"endpoint": endpoint} if endpoint else {},
        )

    async def track_storage(self, tenant_id: UUID | str, size_mb: Quantity) -> None:
        """A change of stored megabytes (negative frees)."""
        await self.track(tenant_id, "storage_mb", size_mb)

    # --- flushing --------------------------------------------------------------------------

    async def flush(self) -> int:
        """Sends everything buffered now; returns the events acknowledged since the last
        `flush()` or `stop()` (background flushes included). Raises `TollgateError` when the
        server cannot take them; they stay buffered and keep their ids."""
        async with self._send_lock:
            while self._buffer:
                await self._send_once()
        acknowledged, self._acknowledged = self._acknowledged, 0
        return acknowledged

    def get_stats(self) -> UsageTrackerStats:
        """Totals since the tracker was made."""
        stats = self._stats.copy()
        stats["buffer_size"] = self._size()
        return stats

    def _size(self) -> int:
        return len(self._buffer) + len(self._in_flight)

    async def _make_room(self) -> None:
        if self._size() < self.max_buffer_size:
            return
        if self.overflow == "reject":
            raise UsageBufferFullError(
                f"{self._size()} usage events wait to be sent (max_buffer_size); "
                "the server has not taken them yet"
            )
        if self.overflow == "drop-oldest" and self._buffer:
            self._buffer.popleft()
            self._stats["dropped"] += 1
            return
        self._kick()
        async with self._room:
            await self._room.wait_for(lambda: self._size() < self.max_buffer_size)

    def _kick(self) -> None:
        # One background sender at a time, never one per event.
        if self._pump is None or self._pump.done():
            self._pump = asyncio.get_running_loop().create_task(self._drain())

    async def _drain(self) -> None:
        failures = 0
        while self._buffer:
            try:
                async with self._send_lock:
                    if self._buffer:
                        await self._send_once()
                failures = 0
            except TollgateError:
                failures += 1
                # Nobody is held up: leave the retry to the next batch or tick.
                if self._size() < self.max_buffer_size:
                    return
                await asyncio.sleep(min(0.1 * 2**failures, MAX_BACKOFF_SECONDS))

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(self.flush_interval_seconds)
            if self._buffer:
                self._kick()

    async def _send_once(self) -> None:
        count = min(len(self._buffer), EVENTS_PER_FLUSH)
        self._in_flight = [self._buffer.popleft() for _ in range(count)]
        try:
            summary = await self._stream(self._in_flight)
        except BaseException as error:
            # Back to the front, in order, to go again with the same ids.
            self._buffer.extendleft(reversed(self._in_flight))
            self._in_flight = []
            if isinstance(error, TollgateError):
                self._stats["errors"] += 1
                self._report(error)
            raise
        sent, self._in_flight = self._in_flight, []
        acknowledged = summary.accepted_count + summary.duplicate_count
        self._stats["flushed"] += acknowledged
        self._stats["duplicates"] += summary.duplicate_count
        self._stats["rejected"] += summary.rejected_count
        self._stats["last_flush"] = datetime.now(timezone.utc)
        self._acknowledged += acknowledged
        for rejected in summary.rejected_events:
            event_id = rejected.event_id or sent[rejected.event_index].event_id
            self._report(UsageRejectedError(event_id, rejected.reason))
        async with self._room:
            self._room.notify_all()

    async def _stream(self, events: list[pb.UsageEvent]) -> pb.StreamUsageResponse:
        async def messages() -> AsyncIterator[pb.StreamUsageRequest]:
            for start in range(0, len(events), EVENTS_PER_MESSAGE):
                yield pb.StreamUsageRequest(events=events[start : start + EVENTS_PER_MESSAGE])

        call = self.client.stream(self.client.stubs().usage.StreamUsage, messages())
        try:
            response: pb.StreamUsageResponse = await call
        except grpc.aio.AioRpcError as error:
            raise from_rpc_error(error) from error
        return response

    def _report(self, error: Exception) -> None:
        if self.on_error is not None:
            self.on_error(error)
