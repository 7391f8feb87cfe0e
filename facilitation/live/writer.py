"""One commit path for a meeting: apply a command to the in-memory meeting, append its events through the
storage port, confirm the sequence number only once it is durable, and recover one way when a write fails.
Every write of a meeting goes through its writer: commands, server events, the meeting's creation and
its published analyses (datasette's shape: one writer, and the writes are callables it runs).

**Who decides** is a strategy the writer is given (:class:`Authority`), never a subclass:
:data:`EMBEDDED` (this process is the meeting's only writer), or in Redis mode the meeting's
:class:`~facilitation.live.ownership.Ownership` (a fencing token while this process owns the meeting,
forwarding to the owner otherwise). The writer asks it whether to apply a command here, which token
fences an append, and tells it when an append failed or durable events were heard; the authority calls
back only the writer's public methods (:meth:`LogWriter.apply_here`, :meth:`LogWriter.rebuild`,
:meth:`LogWriter.resync`, :meth:`LogWriter.ownership_changed`). A room holds one :class:`Writer` and never
knows which authority it has.

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
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from facilitation.core.errors import ClientError
from facilitation.core.events import Event
from facilitation.core.meeting import Applied, Command, Meeting
from facilitation.storage import StoreRefused, StoreUnavailable
from facilitation.storage.port import EventLog

__all__ = ["EMBEDDED", "Authority", "Committed", "LogWriter", "OwnershipListener", "Writer", "WriterFactory"]

log = logging.getLogger(__name__)

OwnershipListener = Callable[[bool], None]


@dataclass(slots=True)
class Committed(Applied):
    """An :class:`~facilitation.core.meeting.Applied` whose events are durable; ``seq`` is durable in the log."""

    seq: int = 0


@dataclass(slots=True)
class _Group:
    """One group commit: the events of each command decided in one turn of the loop, with its waiter."""

    entries: list[tuple[list[Event], asyncio.Future[None]]]
    loop: asyncio.AbstractEventLoop
    """The running loop, looked up once per group: each lookup is a getpid() system call in CPython."""


def _settle(waiter: asyncio.Future[None], error: ClientError | None) -> None:
    if waiter.done():
        return
    if error is None:
        waiter.set_result(None)
    else:
        waiter.set_exception(error)


class Authority(Protocol):
    """Who decides a meeting's commands: this process alone, or the owner elected among the workers."""

    @property
    def fence(self) -> str:
        """The token this process's appends carry ('' embedded, or while not the owner)."""

    def is_owner(self) -> bool:
        """Whether this process decides the meeting's commands now."""

    def bind(self, writer: LogWriter) -> None:
        """Called once by the writer it serves."""

    def decides_here(self) -> bool:
        """Whether :meth:`decide` would say "apply here" at once, without waiting for anything: the writer then
        does not await it (a coroutine per vote on the hot path, for an answer known in advance)."""

    async def decide(self, command: Command) -> Committed | None:
        """None: apply the command here. Otherwise the owner's answer to it (forwarded)."""

    def failed(self, error: ClientError) -> None:
        """An append of this process failed (a fenced one means another worker owns the meeting now)."""

    def observed(self, durable_seq: int) -> None:
        """The replica has heard the durable log up to ``durable_seq``."""

    async def close(self) -> None:
        """Stop deciding (hand the meeting over, in Redis mode)."""


class _Embedded:
    """This process is the meeting's only writer: it decides everything, nothing is fenced."""

    fence = ""

    def is_owner(self) -> bool:
        return True

    def bind(self, writer: LogWriter) -> None:
        return None

    def decides_here(self) -> bool:
        return True

    async def decide(self, command: Command) -> Committed | None:
        return None

    def failed(self, error: ClientError) -> None:
        return None

    def observed(self, durable_seq: int) -> None:
        return None

    async def close(self) -> None:
        return None


EMBEDDED: Authority = _Embedded()
"""The embedded authority (stateless: one instance serves every meeting)."""


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

    async def create(self, events: Sequence[Event]) -> None:
        """Store the meeting's first events (raises ``MeetingExists`` if its code is taken)."""

    def submit(self, command: Command) -> Awaitable[Committed]:
        """Apply, make durable, return what to acknowledge. Raises ClientError on refusal or failure."""

    async def append_server_event(self, make: Callable[[int, float], Event]) -> Event:
        """Append an event the server makes (``analysis_published``) with the next sequence number."""

    async def save_analysis(self, run: int, seq: int, at: float, payload: dict[str, Any] | str) -> None:
        """Persist a published analysis, fenced like the appends (owner only in Redis mode)."""

    async def close(self) -> None:
        """Stop writing (hand the meeting over, in Redis mode)."""


WriterFactory = Callable[[Meeting], Writer]
"""Makes a meeting's writer when its room opens (embedded: :class:`LogWriter`; Redis: the coordinator's)."""


class LogWriter:
    """The single writer of one meeting, with the authority it is given (embedded by default)."""

    def __init__(self, meeting: Meeting, event_log: EventLog, authority: Authority = EMBEDDED) -> None:
        self._meeting = meeting
        self.code = meeting.code
        self.log = event_log
        self.authority = authority
        self._durable = meeting.seq
        self._inflight = 0
        self._settled = asyncio.Event()
        self._settled.set()
        self._stale = False
        self._recovery: asyncio.Task[None] | None = None
        self._ownership: list[OwnershipListener] = []
        self._group: _Group | None = None
        """The commands' events decided in this turn of the loop, appended together at the next turn."""
        authority.bind(self)

    @property
    def meeting(self) -> Meeting:
        return self._meeting

    @property
    def durable_seq(self) -> int:
        return self._durable

    @property
    def fence(self) -> str:
        return self.authority.fence

    @property
    def stale(self) -> bool:
        """The replica may hold events the log lacks (an append failed): it is rebuilt before it is trusted."""
        return self._stale

    def is_owner(self) -> bool:
        return self.authority.is_owner()

    def watch_ownership(self, listener: OwnershipListener) -> None:
        self._ownership.append(listener)

    def ownership_changed(self, owner: bool) -> None:
        """Called by the authority when this process gains or loses the meeting."""
        for listener in list(self._ownership):
            try:
                listener(owner)
            except Exception:
                log.exception("meeting %s: ownership listener failed", self.code)

    def observe(self, events: Sequence[Event]) -> None:
        """Events come in seq order: when the last one is not ahead of the replica (this writer's own, the
        usual case), there is nothing to fold and no loop to run."""
        if not events:
            return
        last = events[-1].seq
        if last > self._meeting.seq:
            for event in events:
                if event.seq > self._meeting.seq:
                    self._meeting.evolve(event)
        if last > self._durable:
            self._durable = last
        self.authority.observed(self._durable)

    async def create(self, events: Sequence[Event]) -> None:
        await self.log.create_meeting(self.code, events)
        self._durable = max(self._durable, events[-1].seq)

    def submit(self, command: Command) -> Awaitable[Committed]:
        """Not a coroutine itself: when the authority decides here at once (embedded, or the owner in Redis
        mode), the caller awaits :meth:`apply_here` directly, one coroutine layer fewer on every vote."""
        if self.authority.decides_here():
            return self.apply_here(command)
        return self._decide(command)

    async def _decide(self, command: Command) -> Committed:
        forwarded = await self.authority.decide(command)
        if forwarded is not None:
            return forwarded
        return await self.apply_here(command)

    async def apply_here(self, command: Command) -> Committed:
        """Apply and commit in this process (the authority said so, or it serves a forwarded command).

        The vote's whole commit path in one coroutine (apply, join the open group, await its durability):
        each coroutine layer is resumed on every wake-up, and this is the hot path of the server."""
        if self._stale or self._recovery is not None:  # else the replica is current: no coroutine to run
            await self._current()
        if not self.authority.is_owner():  # stepped down while recovering: the sender resends to the owner
            raise StoreUnavailable("store_unavailable", f"this worker no longer owns meeting {self.code}; resend")
        applied = self._meeting.apply(command, time.time())
        events = applied.events
        if not events:
            await self._quiet()  # a repeat is acknowledged only once what it repeats is durable
            return Committed(events, applied.result, applied.duplicate, self._durable)
        error: ClientError | None = None
        waiter = self._join(events)
        try:
            await waiter
        except ClientError as exc:
            error = exc
        finally:
            self._left()
        if error is not None:
            await self._recover(error)
        seq = events[-1].seq
        if seq > self._durable:
            self._durable = seq
        return Committed(events, applied.result, applied.duplicate, seq)

    async def append_server_event(self, make: Callable[[int, float], Event]) -> Event:
        self._require_owner()
        await self._current()
        event = make(self._meeting.seq + 1, time.time())
        self._meeting.evolve(event)
        await self._commit([event])
        return event

    async def save_analysis(self, run: int, seq: int, at: float, payload: dict[str, Any] | str) -> None:
        self._require_owner()
        await self.log.save_analysis(self.code, run, seq, at, payload, fence=self.fence)

    async def rebuild(self) -> None:
        """Continue from the durable log: once nothing is in flight, replace the replica by a replay of the
        log unless it is exactly at the log's end (an authority taking the meeting over calls this)."""
        await self._quiet()
        durable = await self.log.last_seq(self.code)
        if self._stale or self._meeting.seq != durable:
            events = await self.log.load(self.code)
            if not events:
                raise StoreUnavailable("store_unavailable", f"meeting {self.code} has no log")
            self._replace(Meeting.replay(events))
            self._stale = False

    async def resync(self) -> None:
        """A stale replica (a failed append) rebuilds now, so the events it hears are folded onto the
        durable state (a worker that stepped down calls this)."""
        if self._stale:
            with contextlib.suppress(ClientError):
                await self._current()

    async def close(self) -> None:
        await self.authority.close()
        if self._recovery is not None:
            self._recovery.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._recovery

    # ------------------------------------------------------------ the commit path

    def _require_owner(self) -> None:
        if not self.authority.is_owner():
            raise StoreUnavailable("store_unavailable", f"this worker does not own meeting {self.code}")

    async def _commit(self, events: list[Event]) -> None:
        """Make events the replica already holds durable; on failure take the one recovery path (a server
        event's path: :meth:`apply_here` does the same inline for commands)."""
        error: ClientError | None = None
        waiter = self._join(events)
        try:
            await waiter
        except ClientError as exc:
            error = exc
        finally:
            self._left()
        if error is not None:
            await self._recover(error)
        if events[-1].seq > self._durable:
            self._durable = events[-1].seq

    def _join(self, events: list[Event]) -> asyncio.Future[None]:
        """Put events in the open group, opening one if none is: the future says when they are durable.

        Group commit: the commands decided in one turn of the event loop go to the log as one append
        (:meth:`_flush`, scheduled for the next turn), so a burst of votes costs one store round trip, one
        delivery and one fan-out call per turn instead of one per vote. Each command still returns only once
        its events are durable; the appends stay in seq order (one group at a time is opened, groups are
        flushed in the order they were opened, and the store keeps its queue's order). An item the store
        refuses still fails only its own command (:meth:`_append` splits the group)."""
        if not self._inflight:
            self._settled.clear()
        self._inflight += 1
        group = self._group
        if group is None:
            loop = asyncio.get_running_loop()
            group = self._group = _Group([], loop)
            loop.call_soon(self._flush)
        waiter: asyncio.Future[None] = asyncio.Future(loop=group.loop)  # loop.create_future() without its call
        group.entries.append((events, waiter))
        return waiter

    def _left(self) -> None:
        """A command's wait for its group ended (durable, failed or cancelled)."""
        self._inflight -= 1
        if not self._inflight:
            self._settled.set()

    async def _recover(self, error: ClientError) -> None:
        """The one failure path: the replica holds events the log may lack; rebuild it, then refuse."""
        self._stale = True
        with contextlib.suppress(ClientError):
            await self._current()
        raise error

    def _flush(self) -> None:
        """Send the open group to the log (a task of its own: a command cancelled while it waits cannot
        cancel the append that other commands' events ride on)."""
        group, self._group = self._group, None
        if group is not None:
            asyncio.get_running_loop().create_task(self._append(group))

    async def _append(self, group: _Group) -> None:
        error = await self._append_events([e for events, _ in group.entries for e in events])
        if isinstance(error, StoreRefused) and len(group.entries) > 1:
            # One command's item cannot be stored (refused before anything was written): append the group
            # command by command, so the commands before it still succeed and only it is refused; the ones
            # after it would leave a hole in the log, and are told to resend (the replica is rebuilt first).
            error = None
            for events, waiter in group.entries:
                if error is None:
                    error = await self._append_events(events)
                    _settle(waiter, error)
                else:
                    _settle(waiter, StoreUnavailable("store_unavailable", "an earlier write failed; resend"))
        elif error is None:
            for _, waiter in group.entries:
                if not waiter.done():  # a command cancelled while it waited
                    waiter.set_result(None)
        else:
            for _, waiter in group.entries:
                _settle(waiter, error)
        if error is not None:
            self.authority.failed(error)
            self._stale = True

    async def _append_events(self, events: list[Event]) -> ClientError | None:
        try:
            await self.log.append(self.code, events, self.fence)
        except ClientError as exc:
            return exc
        except Exception as exc:
            log.exception("meeting %s: append failed", self.code)
            return StoreUnavailable("store_unavailable", f"the write was not stored: {exc}")
        return None

    def _replace(self, meeting: Meeting) -> None:
        self._meeting = meeting
        self._durable = meeting.seq

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
