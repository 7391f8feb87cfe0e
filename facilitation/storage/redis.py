"""The Redis backend (``redis://host:port/db``: one node, or any node of a Redis Cluster, found out from the
node itself): every worker shares each meeting's log; the store's write pipeline makes a batch durable
(on a replica too where there is one) and publishes it on the meeting's feed, which every worker's reader
follows, backfilling from the log whatever a message did not bring (:mod:`.redis_store`,
:mod:`.redis_bus`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from facilitation.core.events import Event
from facilitation.storage.bus import Listener, Unsubscribe
from facilitation.storage.redis_bus import RedisBus
from facilitation.storage.redis_store import RedisStore

__all__ = ["RedisLog"]


class RedisLog:
    """:class:`~facilitation.storage.port.EventLog` on Redis: the store writes and publishes, the feed reads."""

    def __init__(self, url: str) -> None:
        self.store = RedisStore(url)
        self.feed = RedisBus(url, backfill=self.store.events_since)

    def __repr__(self) -> str:
        return f"RedisLog({self.store!r})"

    async def start(self) -> None:
        await self.store.start()
        await self.feed.start()

    async def close(self) -> None:
        await self.feed.close()
        await self.store.close()

    async def create_meeting(self, code: str, events: Sequence[Event]) -> None:
        await self.store.create_meeting(code, events)

    async def append(self, code: str, events: Sequence[Event], fence: str = "") -> None:
        """Durable (and replicated) first; then this process's listeners hear it at once, without waiting for
        the feed's copy, which the reader skips when it arrives."""
        await self.store.append(code, events, fence)
        self.feed.announce(code, events)

    def subscribe(self, code: str, listener: Listener, since: int) -> Unsubscribe:
        return self.feed.subscribe(code, listener, since=since)

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
        return {"store": await self.store.healthy(), "bus": await self.feed.healthy()}
