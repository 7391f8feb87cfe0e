"""The storage port: everything the live layer asks of storage, one protocol that each backend implements
directly (the shape of broadcaster's backends: one base, each backend stands alone, chosen by URL). What both do
alike, every read and every write but ``append`` forwarded to the store, is :class:`StoreBackedLog`.

- :class:`~facilitation.storage.embedded.EmbeddedLog` (``sqlite:///path``): one process, a SQLite file and
  in-process delivery; ``append`` returns after the group commit, and the process's subscribers heard the
  events before it returns, so an ack never overtakes the fan-out of its own events.
- :class:`~facilitation.storage.redis.RedisLog` (``redis://host:port/db``, one node or any node of a Redis
  Cluster): every worker shares the log; ``append`` returns once the batch is durable (and on a replica
  where there is one), delivers it to this process's subscribers at once, and other workers hear it on the
  meeting's feed.

The writer (:mod:`facilitation.live.writer`) is the only caller of the write methods (``create_meeting``,
``append``, ``save_analysis``); the room subscribes and reads. ``fence`` is the owner's token in Redis mode:
a write carrying a token the meeting's owner lock no longer holds is refused (``Fenced``, a
``store_unavailable``); empty, nothing is fenced (embedded, or a tool that runs alone).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from facilitation.core.events import Event
from facilitation.storage.bus import Bus, Listener, Unsubscribe
from facilitation.storage.store import Store

__all__ = ["EventLog", "StoreBackedLog"]


class EventLog(Protocol):
    async def start(self) -> None:
        """Connect (and start the writer task or thread)."""

    async def close(self) -> None:
        """Finish what is queued (someone's pending acks), then disconnect."""

    async def create_meeting(self, code: str, events: Sequence[Event]) -> None:
        """Store a new meeting's first events; raises ``MeetingExists`` if the code is taken."""

    async def append(self, code: str, events: Sequence[Event], fence: str = "") -> None:
        """Make ``events`` durable, then deliver them to this process's subscribers before returning."""

    def subscribe(self, code: str, listener: Listener, since: int) -> Unsubscribe:
        """Call ``listener`` with every durable event after seq ``since``, in order, exactly once."""

    async def last_seq(self, code: str) -> int:
        """The last durable sequence number of the meeting (0 if unknown)."""

    async def load(self, code: str) -> list[Event] | None:
        """The meeting's whole durable log, or None for an unknown code."""

    async def events_since(self, code: str, seq: int, limit: int) -> list[Event]:
        """Up to ``limit`` durable events after ``seq`` (deep resumes)."""

    async def meeting_codes(self) -> list[str]:
        """Every stored meeting's code, oldest first."""

    async def save_analysis(self, code: str, run: int, seq: int, at: float, payload: dict[str, Any] | str,
                            fence: str = "") -> None:
        """Persist a published analysis (a dict, or its JSON text kept as is)."""

    async def load_analysis(self, code: str, run: int | None = None) -> dict[str, Any] | None:
        """The analysis of that run (the latest when None) with run/seq/at fields, or None."""

    async def analysis_runs(self, code: str) -> list[dict[str, Any]]:
        """Run, seq and time of every stored analysis of a meeting."""

    async def redact(self, code: str, events: Sequence[Event], fence: str = "") -> None:
        """Replace stored events in place (an erasure), see :meth:`~facilitation.storage.store.Store.redact`."""

    async def drop_analyses(self, code: str, fence: str = "") -> None:
        """Delete every stored analysis of the meeting."""

    async def delete_meeting(self, code: str) -> bool:
        """Delete the meeting and everything stored with it; False when there was nothing."""

    async def save_document(self, code: str, name: str, text: str) -> None:
        """Keep a text beside the log (the transcript)."""

    async def load_document(self, code: str, name: str) -> str | None:
        """The text saved under ``name``, or None."""

    async def compact(self) -> None:
        """Make what was deleted or replaced unrecoverable from the files on disk."""

    async def healthy(self) -> dict[str, bool]:
        """``store``: a real write became durable now; ``bus``: events are being delivered."""


class StoreBackedLog:
    """What both backends do alike: every read, and every write but ``append``, goes to the store as it is;
    subscriptions go to the bus. A backend sets :attr:`store` and :attr:`bus` and writes ``start``, ``close``
    and ``append`` itself: how a durable write reaches this process's listeners is where they differ."""

    store: Store
    bus: Bus

    async def create_meeting(self, code: str, events: Sequence[Event]) -> None:
        await self.store.create_meeting(code, events)

    def subscribe(self, code: str, listener: Listener, since: int) -> Unsubscribe:
        return self.bus.subscribe(code, listener, since=since)

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
        return {"store": await self.store.healthy(), "bus": await self.bus.healthy()}
