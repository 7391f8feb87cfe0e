"""One client connection: its role, a bounded send queue, batching for big screens, a rate limit.

Backpressure policy: each connection owns a send queue of at most :data:`SEND_QUEUE_LIMIT` messages and
one task that drains it. Fan-out only ever does ``put_nowait``; when a queue is full the client is too
slow (or gone), so it is closed with :data:`CLOSE_TOO_SLOW` and reconnects with its last sequence number
to resync. A slow phone therefore never delays anyone else.

Projector and host connections receive events in batches, one message per :data:`BATCH_INTERVAL` at
most: at 300+ votes per second a message per vote would cost more than the whole fan-out budget.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from facilitation.protocol import PROTOCOL_VERSION, dumps

__all__ = [
    "BATCH_INTERVAL",
    "CLOSE_TOO_SLOW",
    "Connection",
    "TokenBucket",
    "encode",
]

SEND_QUEUE_LIMIT = 256
SEND_QUEUE_CHARS = 2_000_000
"""The queue is bounded in characters too: a projector's batches can each carry hundreds of events, so 256
of them could hold tens of megabytes for one frozen screen. A message into an empty queue is always taken,
so one large snapshot never closes a client by itself."""
BATCH_INTERVAL = 0.05
"""Seconds between batches to a projector or host: 20 updates a second looks live and costs little."""

CLOSE_TOO_SLOW = 4008
"""Close code: the client did not read fast enough; reconnect with ``since`` to resync."""
CLOSE_FLOOD = 4029
"""Close code: the client kept sending faster than the rate limit after being warned."""
CLOSE_IDLE = 4000
"""Close code: nothing heard from the client (not even a ping) for too long."""


encode = dumps
"""A server message as JSON text (:func:`facilitation.protocol.dumps`, orjson with a fallback)."""


CLOSE_FLUSH_SECONDS = 2.0
"""How long a graceful close waits for the queued messages to go out before the socket is dropped."""


@dataclass(frozen=True, slots=True)
class _CloseAfter:
    code: int
    reason: str


class TokenBucket:
    """``rate`` commands per second on average with bursts of ``burst``: an offline queue may replay."""

    __slots__ = ("_clock", "_stamp", "_tokens", "burst", "rate")

    def __init__(self, rate: float, burst: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._tokens = burst
        self._stamp = clock()

    def take(self) -> bool:
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now
        if self._tokens >= 1:
            self._tokens -= 1
            return True
        return False


Sender = Callable[[str], Awaitable[None]]
Closer = Callable[[int, str], Coroutine[Any, Any, None]]


class Connection:
    """A live client on one socket, seen by the room only through :meth:`send` and :meth:`push_event`."""

    def __init__(self, send_text: Sender, close: Closer, role: str, participant: int | None = None) -> None:
        self.role = role
        self.participant = participant
        self._send_text = send_text
        self._close = close
        self._queue: asyncio.Queue[str | _CloseAfter | None] = asyncio.Queue(SEND_QUEUE_LIMIT)
        self._closing = False
        self._queued_chars = 0
        self._batch: list[dict[str, Any]] = []
        self._batch_seq = 0
        self._batch_timer: asyncio.TimerHandle | None = None
        self._batch_extra: Callable[[], dict[str, Any]] | None = None
        self._task: asyncio.Task[None] | None = None
        self.closed = False
        self.last_seq = 0
        """The highest sequence number queued to this client: events at or below it are not sent again."""
        self.buffering: list[Any] | None = None
        """While a resume reads the store, live events wait here instead of the queue."""
        self.interrupt: Callable[[], Any] | None = None
        """Set by the socket's reader: stops its wait for the next frame when the client is dropped."""

    @property
    def batched(self) -> bool:
        return self.role in ("projector", "host")

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._drain(), name=f"send-{self.role}")

    async def _drain(self) -> None:
        try:
            while True:
                text = await self._queue.get()
                if text is None:
                    return
                if isinstance(text, _CloseAfter):
                    await self._close(text.code, text.reason)
                    return
                await self._send_text(text)
                self._queued_chars -= len(text)
        except Exception:  # the socket is gone: the receive side notices and cleans up
            self.closed = True

    def send(self, message: dict[str, Any] | str) -> bool:
        """Queue a message without waiting; close the client if it cannot keep up."""
        if self.closed:
            return False
        text = message if isinstance(message, str) else encode(message)
        if self._queued_chars and self._queued_chars + len(text) > SEND_QUEUE_CHARS:
            self.drop(CLOSE_TOO_SLOW, "too slow: reconnect with since to resync")
            return False
        try:
            self._queue.put_nowait(text)
        except asyncio.QueueFull:
            self.drop(CLOSE_TOO_SLOW, "too slow: reconnect with since to resync")
            return False
        self._queued_chars += len(text)
        return True

    def push_event(self, seq: int, view: dict[str, Any], extra: Callable[[], dict[str, Any]] | None) -> None:
        """Add one event to the next batch; the batch goes out at most :data:`BATCH_INTERVAL` from now."""
        self._batch.append(view)
        self._batch_seq = seq
        self._batch_extra = extra
        if self._batch_timer is None:
            self._batch_timer = asyncio.get_running_loop().call_later(BATCH_INTERVAL, self.flush)

    def flush(self) -> None:
        self._batch_timer = None
        if not self._batch:
            return
        message: dict[str, Any] = {
            "v": PROTOCOL_VERSION,
            "type": "batch",
            "seq": self._batch_seq,
            "events": self._batch,
        }
        if self._batch_extra is not None:
            message.update(self._batch_extra())
        self._batch = []
        self.send(message)

    @property
    def backlog(self) -> int:
        """Messages waiting in the send queue (the reader yields when they pile up, so the sender catches up)."""
        return self._queue.qsize()

    def close_after_sent(self, code: int, reason: str) -> None:
        """Close the client after everything already queued has gone out (e.g. the refusal that explains
        the close); nothing queued after this call is sent."""
        if self.closed:
            return
        try:
            self._queue.put_nowait(_CloseAfter(code, reason))
        except asyncio.QueueFull:
            self.drop(code, reason)
            return
        self.closed = True
        self._closing = True
        if self._batch_timer is not None:
            self._batch_timer.cancel()
        if self.interrupt is not None:
            self.interrupt()

    def drop(self, code: int, reason: str) -> None:
        """Close the client from the fan-out side without awaiting anything."""
        if self.closed:
            return
        self.closed = True
        if self._batch_timer is not None:
            self._batch_timer.cancel()
        if self.interrupt is not None:
            self.interrupt()
        with contextlib.suppress(RuntimeError):
            asyncio.get_running_loop().create_task(self._close(code, reason))

    async def stop(self) -> None:
        """Stop the sender after what is queued has gone out (or the socket failed)."""
        if self._batch_timer is not None:
            self._batch_timer.cancel()
            self._batch_timer = None
        self.closed = True
        if self._task is not None and self._closing:
            with contextlib.suppress(Exception):  # the queued messages and the close, in a bounded time
                await asyncio.wait_for(asyncio.shield(self._task), CLOSE_FLUSH_SECONDS)
        if self._task is not None:
            with contextlib.suppress(asyncio.QueueFull):
                self._queue.put_nowait(None)
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
