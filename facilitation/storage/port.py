"""The storage port: everything the live layer asks of storage, one protocol that each backend implements
directly (the shape of broadcaster's backends: one base, each backend stands alone, chosen by URL).

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
from facilitation.storage.bus import Listener, Unsubscribe

__all__ = ["EventLog"]


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
