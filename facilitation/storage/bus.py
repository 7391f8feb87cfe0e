"""The bus interface: how a meeting's new events reach every server process that serves it.

In embedded mode the bus is a dictionary of callbacks in this process; with Redis it is one feed channel per
meeting read by every worker. Listeners receive events in sequence order; a listener must not block.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from facilitation.core.events import Event

__all__ = ["Backfill", "Bus", "Listener", "Unsubscribe"]

Listener = Callable[[Sequence[Event]], None]
Unsubscribe = Callable[[], None]
Backfill = Callable[[str, int, int], Awaitable[list[Event]]]
"""``(code, after_seq, limit) -> events``: reads durable events from the log (a store's ``events_since``)."""


class Bus(Protocol):
    async def start(self) -> None:
        """Connect."""

    async def close(self) -> None:
        """Stop delivering and disconnect."""

    async def publish(self, code: str, events: Sequence[Event]) -> None:
        """Deliver durable events to every subscriber of the meeting, on every process."""

    def subscribe(self, code: str, listener: Listener, since: int | None = None) -> Unsubscribe:
        """Call ``listener`` with each batch of the meeting's new events, in order.

        ``since`` is the last seq the caller already has: a bus that reads a durable feed (Redis) starts
        right after it, so nothing published between loading the meeting and subscribing is missed."""

    async def healthy(self) -> bool:
        """Whether this process still receives the meetings' feeds."""
