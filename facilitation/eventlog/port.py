"""One event-log port for both backends: ``append`` (durable, fenced by the owner's token in Redis mode) and
``subscribe`` (every durable event after a sequence number, in order, exactly once).

The writer (:mod:`facilitation.live.writer`) appends; the room subscribes. Two implementations:

- :class:`StoreLog`: any store plus any bus. ``append`` waits for the store's group commit, then publishes
  on the bus. With the in-process bus (embedded mode) subscribers hear the events before ``append``
  returns, so an ack never overtakes the fan-out of its own events.
- :class:`RedisLog`: the Redis store's append script writes the log list *and* the live stream in one
  step (a worker can never read an event from the stream that the log lacks), so there is nothing to
  publish: ``append`` hands the events to this process's subscribers at once and the stream reader skips
  them when it brings them back. Other workers read them from the stream.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from facilitation.bus import Bus, Listener, Unsubscribe
from facilitation.bus.redis import RedisBus
from facilitation.core.events import Event
from facilitation.store import Store
from facilitation.store.redis import RedisStore

__all__ = ["EventLog", "RedisLog", "StoreLog", "open_event_log"]


class EventLog(Protocol):
    async def append(self, code: str, events: Sequence[Event], fence: str = "") -> None:
        """Make ``events`` durable (refused if ``fence`` is set and no longer the owner's), then deliver them
        to this process's subscribers before returning."""

    def subscribe(self, code: str, listener: Listener, since: int) -> Unsubscribe:
        """Call ``listener`` with every durable event after seq ``since``, in order, exactly once."""

    async def last_seq(self, code: str) -> int:
        """The last durable sequence number of the meeting (0 if unknown)."""

    async def load(self, code: str) -> list[Event] | None:
        """The meeting's whole durable log, or None for an unknown code."""

    async def events_since(self, code: str, seq: int, limit: int) -> list[Event]:
        """Up to ``limit`` durable events after ``seq`` (deep resumes)."""

    async def healthy(self) -> dict[str, bool]:
        """``store``: a real write became durable now; ``bus``: events are being delivered."""


class StoreLog:
    """Durability from a :class:`~facilitation.store.Store`, delivery through a :class:`~facilitation.bus.Bus`."""

    def __init__(self, store: Store, bus: Bus) -> None:
        self.store = store
        self.bus = bus

    async def append(self, code: str, events: Sequence[Event], fence: str = "") -> None:
        await self.store.append(code, events, fence)
        await self.bus.publish(code, events)

    def subscribe(self, code: str, listener: Listener, since: int) -> Unsubscribe:
        return self.bus.subscribe(code, listener, since=since)

    async def last_seq(self, code: str) -> int:
        return await self.store.last_seq(code)

    async def load(self, code: str) -> list[Event] | None:
        return await self.store.load(code)

    async def events_since(self, code: str, seq: int, limit: int) -> list[Event]:
        return await self.store.events_since(code, seq, limit)

    async def healthy(self) -> dict[str, bool]:
        return {"store": await self.store.healthy(), "bus": await self.bus.healthy()}


class RedisLog(StoreLog):
    """The Redis store writes log and stream in one script; the bus only reads the stream."""

    def __init__(self, store: RedisStore, bus: RedisBus) -> None:
        super().__init__(store, bus)
        self.redis_bus = bus

    async def append(self, code: str, events: Sequence[Event], fence: str = "") -> None:
        await self.store.append(code, events, fence)
        self.redis_bus.announce(code, events)


def open_event_log(store: Store, bus: Bus) -> EventLog:
    """The port for this pair of backends (chosen once, at start, from the configured URLs)."""
    if isinstance(store, RedisStore) and isinstance(bus, RedisBus):
        return RedisLog(store, bus)
    return StoreLog(store, bus)
