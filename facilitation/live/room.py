"""The live rooms: one per meeting in use, a small facade over collaborators given at construction.

A room is made by the :class:`Hub` with its meeting's :class:`~facilitation.live.writer.Writer` (the one commit
path: embedded, or owned through Redis), the :class:`~facilitation.storage.port.EventLog` it subscribes
to, and optionally the live analysis's :class:`RoomAnalysis`. Nothing rewires a room afterwards.

A command's path: a connection hands it to :meth:`Room.submit`; the writer applies it to the pure
:class:`~facilitation.core.meeting.Meeting` (synchronously, so sequence numbers follow submission order),
appends its events through the log and returns once they are durable, with the durable ``seq`` the ack
names. Every process's room hears durable events from the log (:meth:`Room.deliver`) and fans them out:
phones get what concerns them at once, projector and host get them batched, and phones get counters at
most once per :data:`COUNTER_INTERVAL`. A vote is not echoed to the connection that sent it (its ack
confirms it), in every mode.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

from facilitation import metrics
from facilitation.core.codes import new_code
from facilitation.core.errors import ClientError
from facilitation.core.events import Event
from facilitation.core.meeting import Command, Meeting, MeetingSettings, Vote, hash_secret
from facilitation.core.next_statement import Router
from facilitation.core.protocol import PROTOCOL_VERSION
from facilitation.core.views import host_snapshot, participant_snapshot, projector_snapshot
from facilitation.live.connection import Connection, Outbox, TokenBucket
from facilitation.live.fanout import Fanout
from facilitation.live.writer import Committed, LogWriter, Writer, WriterFactory
from facilitation.storage import MeetingExists, StoreUnavailable, Unsubscribe
from facilitation.storage.port import EventLog

__all__ = ["AnalysisFactory", "Hub", "Room", "RoomAnalysis", "UnknownMeeting"]

log = logging.getLogger(__name__)

PARTICIPANT_RATE = 20.0
PARTICIPANT_BURST = 60.0
"""A phone may send 20 commands a second, and 60 at once when its offline queue replays."""


class RoomAnalysis(Protocol):
    """What a room needs from the live analysis of its meeting (the scheduler makes one per room)."""

    def on_events(self, events: Sequence[Event]) -> None:
        """Durable events, in order, after the room folded them."""

    def on_ownership(self, owner: bool) -> None:
        """This process started or stopped writing the meeting (Redis mode)."""

    async def control(self, action: str) -> dict[str, Any]:
        """The host's ``analysis`` command (pause, resume, recompute)."""

    def view(self, conn: Connection) -> dict[str, Any] | None:
        """A connection's view of the last analysis, for snapshots and resumes."""

    def close(self) -> None:
        """The room closes."""


AnalysisFactory = Callable[["Room"], RoomAnalysis]
"""Called once per room, at the end of its construction."""


class UnknownMeeting(ClientError):
    status = 404

    def __init__(self, code: str) -> None:
        super().__init__("unknown_meeting", f"no meeting with code {code!r}")


class Room:
    """One meeting served by this process."""

    def __init__(self, writer: Writer, event_log: EventLog, analysis: AnalysisFactory | None = None) -> None:
        self._writer = writer
        self._log = event_log
        self.code = writer.meeting.code
        self.fanout = Fanout(self, event_log)
        self._priorities: dict[int, float] = {}
        self._router = Router()
        self._analysis_map: dict[str, Any] | None = None
        self._analysis_error: str | None = None
        self.delivered_seq = writer.meeting.seq
        self._buckets: dict[int, TokenBucket] = {}
        self._unsubscribe: Unsubscribe | None = None
        self._counter_task: asyncio.Task[None] | None = None
        self._analysis = analysis(self) if analysis is not None else None
        if self._analysis is not None:
            writer.watch_ownership(self._analysis.on_ownership)
        self.last_used = time.perf_counter()
        """When this room last had a command, an event, a connection or a lookup (`Hub.evict_idle`)."""
        self._in_flight = 0
        self._closed = False

    def touch(self) -> None:
        self.last_used = time.perf_counter()

    def idle_for(self, now: float) -> float | None:
        """Seconds since last use, None while anyone is connected or a command is being committed: only
        such a room may be evicted."""
        if self.fanout.connections or self._in_flight:
            return None
        return now - self.last_used

    @property
    def meeting(self) -> Meeting:
        """The meeting's current state (read-only for everyone but the writer)."""
        return self._writer.meeting

    @property
    def seq(self) -> int:
        """The last durable sequence number this room has delivered: what a pong or a resume may name."""
        return self.delivered_seq

    @property
    def control(self) -> Callable[[str], Awaitable[dict[str, Any]]] | None:
        """Host controls of live analysis (pause, resume, recompute), None when analysis is off."""
        return None if self._analysis is None else self._analysis.control

    def is_owner(self) -> bool:
        """Whether this process writes the meeting: per-meeting singletons (the analysis) run only here."""
        return self._writer.is_owner()

    def open(self) -> None:
        self._unsubscribe = self._log.subscribe(self.code, self.deliver, since=self.delivered_seq)
        self._counter_task = asyncio.get_running_loop().create_task(self.fanout.tick_counters())

    async def close(self) -> None:
        self._closed = True
        if self._unsubscribe is not None:
            self._unsubscribe()
        if self._analysis is not None:
            self._analysis.close()
        self.fanout.close()
        if self._counter_task is not None:
            self._counter_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._counter_task
        await self._writer.close()

    # ------------------------------------------------------------ commands

    def allow(self, participant: int) -> bool:
        """Per-participant rate limit: one flooding phone is refused, everyone else is unaffected."""
        bucket = self._buckets.get(participant)
        if bucket is None:
            bucket = self._buckets[participant] = TokenBucket(PARTICIPANT_RATE, PARTICIPANT_BURST)
        return bucket.take()

    async def submit(self, command: Command, origin: Connection | None = None) -> Committed:
        """Apply through the writer; returns once durable, with the durable ``seq`` to acknowledge (use
        ``committed.seq`` in the ack, not ``meeting.seq``, which may name events still in flight).
        Raises ClientError on refusal.

        ``origin`` is the connection that sent the command: its ack already confirms a vote, so the vote
        event is not echoed back to it (half the messages on the vote path). Other devices of the same
        participant still receive it. The same holds whether the events come back synchronously
        (embedded) or later from the Redis feed (a forwarded command).
        """
        if self._closed:  # a stale reference after eviction: its meeting state may be behind the log's
            raise StoreUnavailable("store_unavailable", f"meeting {self.code} was closed here; look it up again")
        started = self.last_used = time.perf_counter()
        self._in_flight += 1
        key = None
        if isinstance(command, Vote):
            key = (command.participant, command.op)
            self.fanout.arrivals[key] = started
            if origin is not None:
                self.fanout.origins[key] = origin
        try:
            committed = await self._writer.submit(command)
        finally:
            self._in_flight -= 1
            if key is not None:
                self.fanout.origins.pop(key, None)
                self.fanout.arrivals.pop(key, None)
        metrics.COMMAND_SECONDS.observe(time.perf_counter() - started)
        return committed

    async def append_server_event(self, make: Callable[[int, float], Event]) -> Event:
        """Append an event the server itself makes (e.g. ``analysis_published``) through the writer: the
        same commit path as a command (owner only, fenced, in Redis mode)."""
        return await self._writer.append_server_event(make)

    async def save_analysis(self, run: int, seq: int, at: float, payload: dict[str, Any] | str) -> None:
        """Persist a published analysis through the writer, fenced like its appends: in Redis mode a worker
        that lost the meeting cannot overwrite the new owner's results."""
        await self._writer.save_analysis(run, seq, at, payload)

    # ------------------------------------------------------------ reads of the durable record

    async def history(self) -> list[Event]:
        """The meeting's durable log, from its first event (for exports and summaries)."""
        return await self._log.load(self.code) or []

    async def stored_analysis(self, run: int | None = None) -> dict[str, Any] | None:
        """A published analysis run as stored (the last one when ``run`` is None), or None."""
        return await self._log.load_analysis(self.code, run)

    async def analysis_runs(self) -> list[dict[str, Any]]:
        """Run number, covered seq and time of every published analysis (the timelapse's index)."""
        return await self._log.analysis_runs(self.code)

    # ------------------------------------------------------------ fan-out (facilitation/live/fanout.py)

    def deliver(self, events: Sequence[Event]) -> None:
        """Event-log listener: durable events, in order. Fold what this process did not apply, fan them
        out, then tell the analysis."""
        fresh = [e for e in events if e.seq > self.delivered_seq]  # a reader may redeliver after a reconnect
        if not fresh:
            return
        self._writer.observe(fresh)
        self.touch()
        for event in fresh:
            self.delivered_seq = event.seq
            self.fanout.recent.append(event)
            self.fanout.publish(event)
        if self._analysis is not None:
            self._analysis.on_events(fresh)

    @property
    def connections(self) -> set[Connection]:
        return self.fanout.connections

    @property
    def recent(self) -> deque[Event]:
        return self.fanout.recent

    def broadcast(self, build: Callable[[Connection], dict[str, Any] | str | None], *, phones: bool = True) -> None:
        """Send a message built per connection (analysis results differ per phone); ``phones=False`` for
        what only projector and host are sent (see :meth:`Fanout.broadcast`)."""
        self.fanout.broadcast(build, phones=phones)

    async def attach(self, conn: Connection, since: int | None) -> None:
        """Register a connection and bring it up to date: missed events when it can, else a snapshot."""
        self.touch()
        await self.fanout.attach(conn, since)

    def detach(self, conn: Connection) -> None:
        self.touch()
        self.fanout.detach(conn)

    def analysis_view(self, conn: Connection) -> dict[str, Any] | None:
        return self._analysis.view(conn) if self._analysis is not None else None

    @property
    def analysis(self) -> dict[str, Any] | None:
        """The last published analysis map (what ``/analysis`` serves), None before the first run."""
        return self._analysis_map

    @property
    def priorities(self) -> dict[int, float]:
        """Routing priority per statement from the last analysis (higher: shown to phones sooner)."""
        return self._priorities

    @property
    def analysis_error(self) -> str | None:
        """Why the last analysis run failed, None once a run succeeds (shown in the host console)."""
        return self._analysis_error

    def show_analysis(self, analysis: dict[str, Any], priorities: dict[int, float]) -> None:
        """The analysis scheduler publishes a map and the routing priorities that come with it."""
        self._analysis_map = analysis
        self._priorities = priorities

    def set_analysis_error(self, message: str | None) -> bool:
        """Record (or clear, with None) the analysis failure; True when that changed what the host sees."""
        changed = message != self._analysis_error
        self._analysis_error = message
        return changed

    def snapshot(self, conn: Connection) -> dict[str, Any]:
        if conn.role == "participant":
            assert conn.participant is not None
            body = participant_snapshot(self.meeting, conn.participant)
            body.update(self.next_for(conn.participant))
        elif conn.role == "host":
            body = host_snapshot(self.meeting)
            body["analysis_error"] = self.analysis_error
        else:
            body = projector_snapshot(self.meeting)
        if self._analysis is not None:
            body["analysis"] = self._analysis.view(conn)
        return {"v": PROTOCOL_VERSION, "type": "snapshot", "seq": self.meeting.seq, **body}

    def next_for(self, participant: int) -> dict[str, Any]:
        """The next statement for a phone and how many remain, as sent in snapshots and vote acks."""
        meeting = self.meeting
        seed = participant * 1_000_003 + len(meeting.votes.get(participant, {}))
        statement = self._router.next_for(meeting, participant, self._priorities, seed)
        return {"next": None if statement is None else statement.public(), "remaining": meeting.remaining(participant)}


class Hub:
    """All rooms of this process, loaded from the store on first use.

    Made with every collaborator a room needs: the storage port (reads), the writer factory (embedded or
    Redis-owned: every write of a meeting, its creation included, goes through its writer) and, when live
    analysis is on, the analysis factory.
    """

    def __init__(self, event_log: EventLog, writers: WriterFactory | None = None,
                 analysis: AnalysisFactory | None = None) -> None:
        self.log = event_log
        self._writers: WriterFactory = writers or (lambda meeting: LogWriter(meeting, event_log))
        self._analysis = analysis
        self.rooms: dict[str, Room] = {}
        self._loading: dict[str, asyncio.Future[Room]] = {}
        self.outbox = Outbox()
        """Writes every connection's messages to its socket (facilitation/live/connection.py)."""

    def is_owner(self, code: str) -> bool:
        """Whether this process writes the meeting (always, embedded; unknown rooms: False)."""
        room = self.rooms.get(code)
        return room is not None and room.is_owner()

    async def healthy(self) -> dict[str, bool]:
        """Can this process take commands now: the log appends (a real write) and delivers."""
        return await self.log.healthy()

    async def create_meeting(self, settings: MeetingSettings, seeds: Sequence[str]) -> tuple[Room, str]:
        """A new meeting with a fresh join code; returns its room and the host key (shown once)."""
        host_key = secrets.token_urlsafe(24)
        for _ in range(20):
            code = new_code()
            meeting, events = Meeting.create(code, settings, hash_secret(host_key), time.time(), seeds)
            writer = self._writers(meeting)
            try:
                await writer.create(events)  # through the meeting's writer, like every later write
            except MeetingExists:
                await writer.close()
                continue
            except BaseException:
                await writer.close()
                raise
            room = self._open(meeting, writer)
            room.recent.extend(events)
            return room, host_key
        raise StoreUnavailable("store_unavailable", "could not allocate a meeting code")

    async def room(self, code: str) -> Room:
        """The live room for ``code``, loading the meeting from the store if this process has not yet."""
        room = self.rooms.get(code)
        if room is not None:
            room.touch()
            return room
        pending = self._loading.get(code)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[Room] = asyncio.get_running_loop().create_future()
        self._loading[code] = future
        try:
            events = await self.log.load(code)
            if not events:
                raise UnknownMeeting(code)
            room = self.rooms.get(code) or self._open(Meeting.replay(events))
            future.set_result(room)
            return room
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # mark retrieved: concurrent waiters re-raise it themselves
            raise
        finally:
            del self._loading[code]

    def _open(self, meeting: Meeting, writer: Writer | None = None) -> Room:
        room = Room(writer or self._writers(meeting), self.log, self._analysis)
        self.rooms[meeting.code] = room
        room.open()
        return room

    async def evict_idle(self, idle_seconds: float) -> list[str]:
        """Close and forget the rooms nobody has used for ``idle_seconds`` (no connection, no command in
        flight): a server that hosts meetings for weeks would otherwise keep every meeting it ever served
        in memory. Nothing is lost: the meeting is in the store, and the next lookup loads it again, its
        last published analysis included (the scheduler restores it). Returns the evicted codes."""
        now = time.perf_counter()
        evicted = []
        for code, room in list(self.rooms.items()):
            idle = room.idle_for(now)
            if idle is None or idle < idle_seconds or self.rooms.get(code) is not room:
                continue
            del self.rooms[code]
            evicted.append(code)
            try:
                await room.close()
            except Exception:
                log.exception("closing idle meeting %s failed; it is forgotten all the same", code)
        if evicted:
            metrics.ROOMS_EVICTED.inc(len(evicted))
        return evicted

    async def evict_periodically(self, idle_seconds: float, every: float | None = None) -> None:
        """`evict_idle` forever, every ``every`` seconds (a tenth of the idle time, at most a minute)."""
        pause = every if every is not None else min(60.0, idle_seconds / 10)
        while True:
            await asyncio.sleep(pause)
            try:
                await self.evict_idle(idle_seconds)
            except Exception:
                log.exception("evicting idle meetings failed; trying again in %.0f s", pause)

    async def close(self) -> None:
        for room in list(self.rooms.values()):
            await room.close()
        self.rooms.clear()
        await self.outbox.close()
