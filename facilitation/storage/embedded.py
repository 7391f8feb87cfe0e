"""The embedded backend (``sqlite:///path``): one process, the log in a SQLite file, delivery by calling this
process's listeners. What the laptop runs with ``pip install`` and nothing else."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from facilitation.core.events import Event
from facilitation.storage.bus import Listener, Unsubscribe
from facilitation.storage.memory_bus import MemoryBus
from facilitation.storage.sqlite import SQLiteStore

__all__ = ["EmbeddedLog"]


class EmbeddedLog:
    """:class:`~facilitation.storage.port.EventLog` on SQLite with in-process delivery."""

    def __init__(self, url: str) -> None:
        self.store = SQLiteStore(url)
        self._bus = MemoryBus()

    def __repr__(self) -> str:
        return f"EmbeddedLog({self.store!r})"

    async def start(self) -> None:
        await self.store.start()

    async def close(self) -> None:
        await self._bus.close()
        await self.store.close()

    async def create_meeting(self, code: str, events: Sequence[Event]) -> None:
        await self.store.create_meeting(code, events)

    async def append(self, code: str, events: Sequence[Event], fence: str = "") -> None:
        """Durable first (the group commit), then heard by this process's listeners, before returning."""
        await self.store.append(code, events, fence)
        await self._bus.publish(code, events)

    def subscribe(self, code: str, listener: Listener, since: int) -> Unsubscribe:
        return self._bus.subscribe(code, listener, since=since)

    async def last_seq(self, code: str) -> int:
        return await self.store.last_seq(code)

    async def load(self, code: str) -> list[Event] | None:
        return await self.store.load(code)

    async def events_since(self, code: str, seq: int, limit: int) -> list[Event]:
        return await self.store.events_since(code, seq, limit)

    async def meeting_codes(self) -> list[str]:
        return await self.store.meeting_codes()

    async def save_analysis(self, code: str, run: int, seq: int, at: float, payload: dict[str, Any] | str,
                            fence: str = "") -> None:
        await self.store.save_analysis(code, run, seq, at, payload, fence)

    async def load_analysis(self, code: str, run: int | None = None) -> dict[str, Any] | None:
        return await self.store.load_analysis(code, run)

    async def analysis_runs(self, code: str) -> list[dict[str, Any]]:
        return await self.store.analysis_runs(code)

    async def redact(self, code: str, events: Sequence[Event], fence: str = "") -> None:
        await self.store.redact(code, events, fence)

    async def drop_analyses(self, code: str, fence: str = "") -> None:
        await self.store.drop_analyses(code, fence)

    async def delete_meeting(self, code: str) -> bool:
        return await self.store.delete_meeting(code)

    async def save_document(self, code: str, name: str, text: str) -> None:
        await self.store.save_document(code, name, text)

    async def load_document(self, code: str, name: str) -> str | None:
        return await self.store.load_document(code, name)

    async def compact(self) -> None:
        await self.store.compact()

    async def healthy(self) -> dict[str, bool]:
        return {"store": await self.store.healthy(), "bus": await self._bus.healthy()}
