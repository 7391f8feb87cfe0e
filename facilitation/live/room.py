"""One meeting in use in this process: a small façade over the collaborators it is given.

The :class:`~facilitation.live.hub.Hub` makes a room with its meeting's four collaborators, and nothing rewires
it afterwards:

- the :class:`~facilitation.live.writer.Writer`, the one commit path (embedded, or owned through Redis): every
  command, server event and analysis save of the meeting goes through it;
- the :class:`~facilitation.live.fanout.Fanout`: the connections and what each is sent;
- the :class:`Record`: the meeting's durable log and stored analyses, read back, and the subscription that
  brings every durable event (this process's or another's) to :meth:`Room._deliver`;
- the live analysis's :class:`RoomAnalysis` (None when analysis is off), which owns everything about the
  analysis: the last map, the priorities the next statement follows, the last error.

A command's path: the session hands it to :meth:`Room.submit`; the writer applies it to the pure
:class:`~facilitation.core.meeting.Meeting` (synchronously, so sequence numbers follow submission order),
appends its events and returns once they are durable, with the durable ``seq`` the ack names. The durable
events come back through the record's subscription: the writer folds what it did not apply, the fan-out
sends them, the analysis hears them. A vote is not echoed to the connection that sent it (its ack confirms
it), in every mode.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Protocol

from facilitation import metrics
from facilitation.core.erasure import MeetingDeleted, ParticipantErased
from facilitation.core.errors import ClientError
from facilitation.core.events import Event
from facilitation.core.meeting import Command, Meeting, Vote
from facilitation.core.next_statement import Router
from facilitation.core.protocol import PROTOCOL_VERSION
from facilitation.core.views import snapshot
from facilitation.core.wanted import Wanted, wanted_from_map
from facilitation.live.connection import Connection
from facilitation.live.fanout import Fanout
from facilitation.live.timers import TimerClock
from facilitation.live.typing import Typing
from facilitation.live.writer import Committed, Writer
from facilitation.storage import StoreUnavailable, Unsubscribe
from facilitation.storage.port import EventLog

__all__ = ["AnalysisFactory", "Record", "Room", "RoomAnalysis", "RoomParts", "UnknownMeeting"]

_NO_PRIORITIES: Mapping[int, float] = MappingProxyType({})
"""The priorities without live analysis: one object, so the router's weights (keyed on the mapping's
identity) are built once, not at every ack (a fresh ``{}`` per call rebuilt them for every vote)."""


class Record:
    """One meeting's durable record, read back: its log, its published analyses, and the subscription to
    its durable events."""

    def __init__(self, code: str, event_log: EventLog) -> None:
        self.code = code
        self._log = event_log

    async def history(self) -> list[Event]:
        """The meeting's durable log, from its first event (for exports and summaries)."""
        return await self._log.load(self.code) or []

    async def analysis(self, run: int | None = None) -> dict[str, Any] | None:
        """A published analysis run as stored (the last one when ``run`` is None), or None."""
        return await self._log.load_analysis(self.code, run)

    async def analysis_runs(self) -> list[dict[str, Any]]:
        """Run number, covered seq and time of every published analysis (the timelapse's index)."""
        return await self._log.analysis_runs(self.code)

    def subscribe(self, listener: Callable[[Sequence[Event]], None], since: int) -> Unsubscribe:
        """Every durable event after ``since``, in order, from whichever process appended it."""
        return self._log.subscribe(self.code, listener, since=since)


@dataclass(frozen=True, slots=True)
class RoomParts:
    """What a meeting's live analysis is given: the meeting's writer (to read it, to save and publish runs),
    its fan-out (to broadcast maps) and its record (to read stored runs)."""

    code: str
    writer: Writer
    fanout: Fanout
    record: Record


class RoomAnalysis(Protocol):
    """The live analysis of one meeting (the scheduler makes one per room): it owns the analysis state."""

    @property
    def map(self) -> dict[str, Any] | None:
        """The last published map (what ``/analysis`` serves), None before the first run."""

    @property
    def shown(self) -> dict[str, Any] | None:
        """The map the room is shown (``clustering.steady``: an exact run, maybe older than ``map``, under
        steady letters), None before the first run."""

    @property
    def priorities(self) -> dict[int, float]:
        """Priority per statement from the last run (higher: shown to phones sooner)."""

    @property
    def error(self) -> str | None:
        """Why the last run failed, None once a run succeeds (shown in the host console)."""

    def on_events(self, events: Sequence[Event]) -> None:
        """Durable events, in order, after the writer folded them."""

    async def control(self, action: str) -> dict[str, Any]:
        """The host's ``analysis`` command (pause, resume, recompute)."""

    def view(self, conn: Connection) -> dict[str, Any] | None:
        """A connection's view of the last analysis, for snapshots and resumes."""

    def close(self) -> None:
        """The room closes."""


AnalysisFactory = Callable[[RoomParts], RoomAnalysis]
"""Called once per room, before the room is made."""


class UnknownMeeting(ClientError):
    status = 404

    def __init__(self, code: str) -> None:
        super().__init__("unknown_meeting", f"no meeting with code {code!r}")


class Room:
    """One meeting served by this process (see the module's docstring)."""

    def __init__(self, writer: Writer, fanout: Fanout, record: Record, analysis: RoomAnalysis | None,
                 on_gone: Callable[[Room, Event], None] | None = None,
                 timers: TimerClock | None = None) -> None:
        self.code = record.code
        self._on_gone = on_gone
        """Told when an erasure or a deletion makes this room's state obsolete (the hub drops the room)."""
        self.record = record
        self.analysis = analysis
        """The live analysis (its map, priorities, error and controls), None when analysis is off."""
        self._writer = writer
        self._fanout = fanout
        self._router = Router()
        self._wanted_for: tuple[dict[str, Any] | None, Wanted | None] = (None, None)
        self._timers = timers
        """Ends the running timer at its deadline while this process owns the meeting."""
        self._unsubscribe: Unsubscribe | None = None
        self._last_used = time.perf_counter()
        self._in_flight = 0
        self._closed = False
        self._typing = Typing()
        self._typing_sent = 0
        self._typing_timer: asyncio.TimerHandle | None = None

    # ------------------------------------------------------------ who is writing (live/typing.py)

    def typing(self, participant: int, active: bool) -> None:
        """A phone's ``typing`` signal: count it, and tell the host console when the count changes."""
        if active and self.meeting.phase.value != "collecting":  # a phone may always say it stopped
            raise ClientError("phase_forbids", f"typing is counted only while collecting, not in phase "
                              f"{self.meeting.phase.value!r}", status=409)
        self._typing.update(participant, active, time.monotonic())
        self._typing_changed()

    def _typing_expired(self) -> None:
        self._typing_timer = None
        self._typing_changed()

    def _typing_changed(self) -> None:
        if self._closed:
            return
        now = time.monotonic()
        count = self._typing.count(now)
        if count != self._typing_sent:
            self._typing_sent = count
            message = {"v": PROTOCOL_VERSION, "type": "typing", "count": count}
            self._fanout.broadcast(lambda c: message if c.role == "host" else None, phones=False)
        expiry = self._typing.next_expiry()
        if expiry is not None and self._typing_timer is None:
            self._typing_timer = asyncio.get_running_loop().call_later(max(0.0, expiry - now) + 0.05,
                                                                        self._typing_expired)

    # ------------------------------------------------------------ reads

    @property
    def meeting(self) -> Meeting:
        """The meeting's current state (read-only for everyone but the writer)."""
        return self._writer.meeting

    @property
    def seq(self) -> int:
        """The last durable sequence number this room has delivered: what a pong or a resume may name."""
        return self._fanout.delivered_seq

    def next_for(self, participant: int) -> dict[str, Any]:
        """The next statement for a phone and how many remain, as sent in snapshots and vote acks."""
        meeting = self.meeting
        seed = participant * 1_000_003 + len(meeting.votes.get(participant, {}))
        priorities = _NO_PRIORITIES if self.analysis is None else self.analysis.priorities
        statement, remaining = self._router.offer(meeting, participant, priorities, seed, self._wanted())
        return {"next": None if statement is None else statement.public(), "remaining": remaining}

    def _wanted(self) -> Wanted | None:
        """Who is short of votes on what, from the last analysis's map (read once per run: the map is
        replaced, never mutated, by each run). Its exact map, not the room's steady view: the needs name
        the run's own group ids."""
        latest = None if self.analysis is None else self.analysis.map
        if latest is not self._wanted_for[0]:
            self._wanted_for = (latest, wanted_from_map(latest))
        return self._wanted_for[1]

    # ------------------------------------------------------------ commands and connections

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
        started = self._last_used = time.perf_counter()
        self._in_flight += 1
        vote = self._fanout.expect(command.participant, command.op, origin, started) \
            if isinstance(command, Vote) else None
        try:
            committed = await self._writer.submit(command)
        finally:
            self._in_flight -= 1
            if vote is not None:
                self._fanout.settled(vote)
        metrics.COMMAND_SECONDS.observe(time.perf_counter() - started)
        return committed

    async def attach(self, conn: Connection, since: int | None) -> None:
        """Register a connection and bring it up to date: missed events when it can, else a snapshot."""
        self.touch()
        await self._fanout.attach(conn, since, self._snapshot, self._analysis_view)

    def detach(self, conn: Connection) -> None:
        self.touch()
        self._fanout.detach(conn)

    # ------------------------------------------------------------ lifecycle (the hub's)

    def open(self) -> None:
        self._unsubscribe = self.record.subscribe(self._deliver, since=self._fanout.delivered_seq)
        self._fanout.open()
        if self._timers is not None:
            self._timers.open()

    async def close(self) -> None:
        self._closed = True
        if self._timers is not None:
            self._timers.close()
        if self._typing_timer is not None:
            self._typing_timer.cancel()
        if self._unsubscribe is not None:
            self._unsubscribe()
        if self.analysis is not None:
            self.analysis.close()
        await self._fanout.close()
        await self._writer.close()

    def touch(self) -> None:
        """Someone used the room (a lookup, a connection, a command, an event): it is not idle."""
        self._last_used = time.perf_counter()

    def idle_for(self, now: float) -> float | None:
        """Seconds since last use, None while anyone is connected, a command is being committed or a timer's
        deadline is awaited here: only such a room may be evicted."""
        if self._fanout.connected or self._in_flight or (self._timers is not None and self._timers.pending):
            return None
        return now - self._last_used

    # ------------------------------------------------------------ inside

    def _deliver(self, events: Sequence[Event]) -> None:
        """The record's listener: durable events, in order. The writer folds what this process did not
        apply, the fan-out sends them, then the analysis hears them."""
        fresh = self._fanout.unseen(events)
        if not fresh:
            return
        self._writer.observe(fresh)
        self.touch()
        self._fanout.publish(fresh)
        if self.analysis is not None:
            self.analysis.on_events(fresh)
        if self._timers is not None:
            self._timers.on_events(fresh)
        if self._on_gone is not None:
            gone = next((e for e in fresh if isinstance(e, (ParticipantErased, MeetingDeleted))), None)
            if gone is not None:
                self._on_gone(self, gone)

    def disconnect_all(self, code: int, reason: str) -> None:
        """Close every connection (the hub drops this room: an erasure or a deletion)."""
        self._fanout.disconnect_all(code, reason)

    @property
    def writer(self) -> Writer:
        """The meeting's one commit path (the erasure appends its event through it)."""
        return self._writer

    def _analysis_view(self, conn: Connection) -> dict[str, Any] | None:
        return None if self.analysis is None else self.analysis.view(conn)

    def _snapshot(self, conn: Connection) -> dict[str, Any]:
        analysis = self.analysis
        body = snapshot(
            self.meeting, conn.role, conn.participant,
            next_statement=None if conn.participant is None else self.next_for(conn.participant),
            analysis_on=analysis is not None,
            analysis=None if analysis is None else analysis.view(conn),
            analysis_error=None if analysis is None else analysis.error,
        )
        # The server's clock, so a page can show a countdown's deadline corrected for its own clock's skew.
        body["now"] = round(time.time(), 3)
        return body
