"""One commit path for a meeting: apply a command to the in-memory meeting, append its events through the
event log, confirm the sequence number only once it is durable, and recover one way when a write fails.

:class:`LogWriter` is the embedded implementation (this process is the meeting's only writer);
:class:`facilitation.live.ownership.OwnedWriter` extends it for Redis (a fencing token while this process owns
the meeting, forwarding to the owner otherwise). A room holds one :class:`Writer` and never knows which.

Why the ack's seq comes from here: the meeting applies commands optimistically (that allocates sequence
numbers in submission order and lets one group commit cover many commands), so ``meeting.seq`` can name
events that are still in flight, or that will never be durable if the store fails. :class:`Committed`
carries ``seq``: the command's own last event once durable, or for a command that made no event (a
repeated op) the durable position after everything in flight settled. That is the number an ack names.

The one failure path: any failed append marks the replica *stale* (it holds events the log may lack).
New commands wait; once every append in flight has settled, the meeting is replaced by a replay of the
durable log and its last seq becomes the next one to allocate from. If the log cannot be read (the store
is down), commands are refused with ``store_unavailable`` until it can: the replica is never trusted
ahead of the log.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from facilitation.core.errors import ClientError
from facilitation.core.events import Event
from facilitation.core.meeting import Applied, Command, Meeting
from facilitation.eventlog.port import EventLog
from facilitation.store import StoreUnavailable

__all__ = ["Committed", "LogWriter", "OwnershipListener", "Writer", "WriterFactory"]

log = logging.getLogger(__name__)

OwnershipListener = Callable[[bool], None]


@dataclass(slots=True)
class Committed(Applied):
    """An :class:`~facilitation.core.meeting.Applied` whose events are durable; ``seq`` is durable in the log."""

    seq: int = 0


class Writer(Protocol):
    """What a room needs from its meeting's single writer."""

    @property
    def meeting(self) -> Meeting:
        """The current replica (replaced, never mutated from outside, when it is rebuilt from the log)."""

    @property
    def durable_seq(self) -> int:
        """The highest sequence number known durable in the log."""

    @property
    def fence(self) -> str:
        """The token this writer's appends carry ('' embedded, or while not the owner in Redis mode)."""

    def is_owner(self) -> bool:
        """Whether this process decides the meeting's commands (always, embedded)."""

    def watch_ownership(self, listener: OwnershipListener) -> None:
        """Call ``listener(owner)`` whenever this process gains or loses the meeting."""

    def observe(self, events: Sequence[Event]) -> None:
        """Fold durable events heard from the log that this replica does not have yet (other writers')."""

    async def submit(self, command: Command) -> Committed:
        """Apply, make durable, return what to acknowledge. Raises ClientError on refusal or failure."""

    async def append_server_event(self, make: Callable[[int, float], Event]) -> Event:
        """Append an event the server makes (``analysis_published``) with the next sequence number."""

    async def close(self) -> None:
        """Stop writing (hand the meeting over, in Redis mode)."""


WriterFactory = Callable[[Meeting], Writer]
"""Makes a meeting's writer when its room opens (embedded: :class:`LogWriter`; Redis: the coordinator's)."""


class LogWriter:
    """The embedded writer: this process is the only one that writes the meeting."""

    def __init__(self, meeting: Meeting, event_log: EventLog) -> None:
        self._meeting = meeting
        self.code = meeting.code
        self.log = event_log
        self._durable = meeting.seq
        self._inflight = 0
        self._settled = asyncio.Event()
        self._settled.set()
        self._stale = False
        self._recovery: asyncio.Task[None] | None = None
        self._ownership: list[OwnershipListener] = []

    @property
    def meeting(self) -> Meeting:
        return self._meeting

    @property
    def durable_seq(self) -> int:
        return self._durable

    @property
    def fence(self) -> str:
        """The token appends are fenced with ('' embedded: nobody else writes)."""
        return ""

    def is_owner(self) -> bool:
        return True

    def watch_ownership(self, listener: OwnershipListener) -> None:
        self._ownership.append(listener)

    def _ownership_changed(self, owner: bool) -> None:
        for listener in list(self._ownership):
            try:
                listener(owner)
            except Exception:
                log.exception("meeting %s: ownership listener failed", self.code)

    def observe(self, events: Sequence[Event]) -> None:
        for event in events:
            if event.seq > self._meeting.seq:
                self._meeting.evolve(event)
            if event.seq > self._durable:
                self._durable = event.seq

    async def submit(self, command: Command) -> Committed:
        await self._current()
        return await self._apply(command)

    async def append_server_event(self, make: Callable[[int, float], Event]) -> Event:
        await self._current()
        event = make(self._meeting.seq + 1, time.time())
        self._meeting.evolve(event)
        await self._commit([event])
        return event

    async def close(self) -> None:
        if self._recovery is not None:
            self._recovery.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._recovery

    # ------------------------------------------------------------ the commit path

    async def _apply(self, command: Command) -> Committed:
        """Apply and commit; the caller made sure the replica is current (no await between that and here)."""
        applied = self._meeting.apply(command, time.time())
        if not applied.events:
            await self._quiet()  # a repeat is acknowledged only once what it repeats is durable
            return Committed(applied.events, applied.result, applied.duplicate, self._durable)
        await self._commit(applied.events)
        return Committed(applied.events, applied.result, applied.duplicate, applied.events[-1].seq)

    async def _commit(self, events: list[Event]) -> None:
        """Make events the replica already holds durable; on failure take the one recovery path."""
        self._inflight += 1
        self._settled.clear()
        error: ClientError | None = None
        try:
            await self.log.append(self.code, events, self.fence)
        except ClientError as exc:
            error = exc
        except Exception as exc:
            log.exception("meeting %s: append failed", self.code)
            error = StoreUnavailable("store_unavailable", f"the write was not stored: {exc}")
        finally:
            self._inflight -= 1
            if not self._inflight:
                self._settled.set()
        if error is not None:
            self._failed(error)
            self._stale = True
            with contextlib.suppress(ClientError):
                await self._current()
            raise error
        if events[-1].seq > self._durable:
            self._durable = events[-1].seq

    def _replace(self, meeting: Meeting) -> None:
        self._meeting = meeting
        self._durable = meeting.seq

    def _failed(self, error: ClientError) -> None:
        """Hook for subclasses: a failed append (the Redis writer steps down when it was fenced)."""

    async def _quiet(self) -> None:
        """Wait until no append is in flight."""
        while self._inflight:
            await self._settled.wait()

    async def _current(self) -> None:
        """Return when the replica may be trusted: wait for a recovery in progress, start one if stale.
        Raises StoreUnavailable while the durable log cannot be read."""
        while True:
            task = self._recovery
            if task is None:
                if not self._stale:
                    return
                task = self._recovery = asyncio.get_running_loop().create_task(
                    self._reload(), name=f"reload-{self.code}")
            with contextlib.suppress(Exception):
                await asyncio.shield(task)
            if self._stale:
                raise StoreUnavailable("store_unavailable", "the meeting's log cannot be read now; resend")

    async def _reload(self) -> None:
        """Replace the replica by a replay of the durable log once nothing is in flight."""
        try:
            await self._quiet()
            events = await self.log.load(self.code)
            if not events:
                raise StoreUnavailable("store_unavailable", f"meeting {self.code} has no log")
            log.warning("meeting %s: replica rebuilt from the durable log (seq %d -> %d)", self.code,
                        self._meeting.seq, events[-1].seq)
            self._replace(Meeting.replay(events))
            self._stale = False
        finally:
            self._recovery = None
