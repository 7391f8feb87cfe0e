"""The store interface: where a meeting's event log and its published analyses live.

Both backends (SQLite for one machine, Redis for many) implement :class:`Store` and pass the same test
suite (tests/store/). ``append`` returns only once the events are durable: the server acknowledges a
vote after that and never before.

Failure isolation: an item the store cannot represent fails alone with :class:`StoreRefused`
(``store_refused``); a store that cannot write at all fails with :class:`StoreUnavailable`
(``store_unavailable``). Neither stops the writer that serves every other meeting.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from facilitation.core.codec import StoreRefused
from facilitation.core.errors import ClientError
from facilitation.core.events import Event

__all__ = ["MeetingExists", "Store", "StoreRefused", "StoreUnavailable"]

HEALTH_TIMEOUT = 2.0
"""Seconds a health probe may take before the store is reported unable to write."""


class MeetingExists(ClientError):
    """A meeting with that code is already stored."""

    status = 409


class StoreUnavailable(ClientError):
    """The store cannot take writes right now; the command was not applied durably."""

    status = 503


class Store(Protocol):
    async def start(self) -> None:
        """Open connections and start the writer."""

    async def close(self) -> None:
        """Flush what is queued, then close."""

    async def create_meeting(self, code: str, events: Sequence[Event]) -> None:
        """Store a new meeting's first events; raises :class:`MeetingExists` if the code is taken."""

    async def append(self, code: str, events: Sequence[Event], fence: str = "") -> None:
        """Append events to a meeting's log; returns once they are durable.

        ``fence`` is the owner's token in Redis mode: the write is refused (:class:`Fenced`, a
        :class:`StoreUnavailable`) unless the meeting's owner lock still holds it. Empty: no fence (embedded,
        or a tool such as the Pol.is importer that runs alone)."""

    async def last_seq(self, code: str) -> int:
        """The sequence number of the last durable event (0 for an unknown meeting)."""

    async def load(self, code: str) -> list[Event] | None:
        """A meeting's whole log in sequence order, or None for an unknown code."""

    async def events_since(self, code: str, seq: int, limit: int) -> list[Event]:
        """Up to ``limit`` events with a sequence number above ``seq``, in order."""

    async def meeting_codes(self) -> list[str]:
        """Every stored meeting's code, oldest first."""

    async def save_analysis(self, code: str, run: int, seq: int, at: float, payload: dict[str, Any] | str,
                            fence: str = "") -> None:
        """Persist a published analysis (run number, the log position it covers, its JSON payload: a dict,
        or the payload already serialised as JSON text, which is kept as is); ``fence`` as for
        :meth:`append`."""

    async def load_analysis(self, code: str, run: int | None = None) -> dict[str, Any] | None:
        """The analysis of that run (the latest when run is None) as saved, with run/seq/at fields."""

    async def analysis_runs(self, code: str) -> list[dict[str, Any]]:
        """Run, seq and time of every stored analysis of a meeting, for a timelapse."""

    # -- erasure and retention (issue 25): personal data leaves the log, the analyses and the disk

    async def redact(self, code: str, events: Sequence[Event], fence: str = "") -> None:
        """Replace stored events in place, each under its own seq: an erasure takes a participant's votes
        and words out of the log without renumbering it. Every seq must be stored already (else
        :class:`StoreRefused`); ``fence`` as for :meth:`append`."""

    async def drop_analyses(self, code: str, fence: str = "") -> None:
        """Delete every stored analysis of the meeting: their map points place people who asked to be
        erased; the next run stores a fresh one."""

    async def delete_meeting(self, code: str) -> bool:
        """Delete the meeting and everything stored with it (log, analyses, documents, its listing);
        False when there was nothing."""

    async def save_document(self, code: str, name: str, text: str) -> None:
        """Keep a text beside the meeting's log (its stenographer's transcript): not an event, so a tool
        may store one while a server owns the meeting."""

    async def load_document(self, code: str, name: str) -> str | None:
        """The text saved under ``name``, or None."""

    async def compact(self) -> None:
        """Make what was deleted or replaced unrecoverable from the store's files: SQLite checkpoints and
        truncates its write-ahead log and VACUUMs (with ``secure_delete`` on, freed cells are zeroed);
        Redis rewrites its append-only file (and its snapshot when snapshots are on) on every node that
        holds the data, replicas included, and returns when each is done."""

    async def healthy(self) -> bool:
        """Whether the store can write now: its writer runs and a real write probe became durable."""
