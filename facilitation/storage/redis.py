"""The Redis backend (``redis://host:port/db``: one node, or any node of a Redis Cluster, found out from the
node itself): every worker shares each meeting's log; the store's write pipeline makes a batch durable
(on a replica too where there is one) and publishes it on the meeting's feed, which every worker's reader
follows, backfilling from the log whatever a message did not bring (:mod:`.redis_store`,
:mod:`.redis_bus`)."""

from __future__ import annotations

from collections.abc import Sequence

from facilitation.core.events import Event
from facilitation.storage.port import StoreBackedLog
from facilitation.storage.redis_bus import RedisBus
from facilitation.storage.redis_store import RedisStore

__all__ = ["RedisLog"]


class RedisLog(StoreBackedLog):
    """:class:`~facilitation.storage.port.EventLog` on Redis: the store writes and publishes, the feed reads."""

    store: RedisStore
    bus: RedisBus

    def __init__(self, url: str) -> None:
        self.store = RedisStore(url)
        self.bus = RedisBus(url, backfill=self.store.events_since)

    def __repr__(self) -> str:
        return f"RedisLog({self.store!r})"

    async def start(self) -> None:
        await self.store.start()
        await self.bus.start()

    async def close(self) -> None:
        await self.bus.close()
        await self.store.close()

    async def append(self, code: str, events: Sequence[Event], fence: str = "") -> None:
        """Durable (and replicated) first; then this process's listeners hear it at once, without waiting for
        the feed's copy, which the reader skips when it arrives."""
        await self.store.append(code, events, fence)
        self.bus.announce(code, events)
