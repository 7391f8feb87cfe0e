"""The embedded backend (``sqlite:///path``): one process, the log in a SQLite file, delivery by calling this
process's listeners. What the laptop runs with ``pip install`` and nothing else."""

from __future__ import annotations

from collections.abc import Sequence

from facilitation.core.events import Event
from facilitation.storage.memory_bus import MemoryBus
from facilitation.storage.port import StoreBackedLog
from facilitation.storage.sqlite import SQLiteStore

__all__ = ["EmbeddedLog"]


class EmbeddedLog(StoreBackedLog):
    """:class:`~facilitation.storage.port.EventLog` on SQLite with in-process delivery."""

    store: SQLiteStore
    bus: MemoryBus

    def __init__(self, url: str) -> None:
        self.store = SQLiteStore(url)
        self.bus = MemoryBus()

    def __repr__(self) -> str:
        return f"EmbeddedLog({self.store!r})"

    async def start(self) -> None:
        await self.store.start()

    async def close(self) -> None:
        await self.bus.close()
        await self.store.close()

    async def append(self, code: str, events: Sequence[Event], fence: str = "") -> None:
        """Durable first (the group commit), then heard by this process's listeners, before returning."""
        await self.store.append(code, events, fence)
        await self.bus.publish(code, events)
