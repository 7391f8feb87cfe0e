"""Who gets which durable event, and how a (re)connecting client catches up: the room's fan-out.

Fed by the room with each durable event in order (:meth:`Fanout.publish`); it never writes. Phones get
what concerns them at once, projector and host get batches, phones get counters at most once per
:data:`COUNTER_INTERVAL`; a vote is not echoed to the connection that sent it (its ack confirms it).
A connection that resumes gets the events it missed from memory, from the log when older, or a snapshot
when it is more than :data:`RESUME_LIMIT` behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol

from facilitation.core.events import Event, VoteCast
from facilitation.core.meeting import Meeting
from facilitation.core.protocol import PROTOCOL_VERSION, dumps
from facilitation.core.views import view_for
from facilitation.live.connection import Connection
from facilitation.storage.port import EventLog

__all__ = ["AT_ONCE", "COUNTER_INTERVAL", "EVENT_SLICE", "RECENT_EVENTS", "RESUME_LIMIT", "SLICE_SECONDS", "Build",
           "Fanout", "MeetingSource"]

log = logging.getLogger(__name__)

RESUME_LIMIT = 2_000
"""A client further behind than this gets a fresh snapshot instead of the missed events."""
RECENT_EVENTS = 2 * RESUME_LIMIT
"""Events kept in memory per room, so resumes are served without reading the store: every resume this room
serves from events is at most :data:`RESUME_LIMIT` behind the meeting, and the meeting may be some events ahead
of what was published. It was 20,000: 18,000 events (~5 MB in a busy room) no resume could use."""
COUNTER_INTERVAL = 1.0
"""Seconds between counter updates to one phone, at least."""
COUNTER_BUDGET = 200
"""Counter messages a room sends per second at most: with 1,000 phones each gets counters every 5 s."""
COUNTER_TICK = 0.1
"""Counter sends are spread over ticks this long, so no loop iteration carries hundreds of them."""
PHONE_SLICE = 500
"""Phones a per-phone broadcast (an analysis for phones) is built for in one loop iteration: at 10,000 phones
building every phone's message at once held the loop ~50 ms; in slices, votes are read in between."""
EVENT_SLICE = 2_000
"""Phones a room-wide event (a new statement, a phase change) is queued to in one loop iteration: at 10,000
phones queueing one to every phone in one go took 9-15 ms of CPU in a single callback, on top of whatever
else that turn did (bench/README.md, *10,000 phones: where the stalls were*). A room with
at most :data:`AT_ONCE` phones gets it in the call."""
AT_ONCE = 500
"""Phones a room-wide event goes to in the call that publishes it, when nothing is queued before it: a small
room's phones get it at once; a bigger room's go through the slices."""
SLICE_SECONDS = 0.003
"""A slice also ends after this long, whatever its count: building one phone's analysis or queueing one
event costs 1-20 µs depending on the message and on what the collector adds, so a count alone let a slice
hold the loop for 30-40 ms at 10,000 phones (bench/stallwatch). Time is checked every
:data:`CHECK_EVERY` phones."""
CHECK_EVERY = 32

async def _in_slices(targets: list[Connection], offer: Callable[[Connection], None], per_turn: int) -> bool:
    """Offer to every target, at most ``per_turn`` of them and :data:`SLICE_SECONDS` per loop iteration;
    True when it took more than one iteration."""
    sliced = False
    turn_ends = time.perf_counter() + SLICE_SECONDS
    in_turn = 0
    for conn in targets:
        if in_turn >= per_turn or (in_turn % CHECK_EVERY == 0 and in_turn and time.perf_counter() > turn_ends):
            await asyncio.sleep(0)
            sliced = True
            turn_ends = time.perf_counter() + SLICE_SECONDS
            in_turn = 0
        offer(conn)
        in_turn += 1
    return sliced


class MeetingSource(Protocol):
    """Where the fan-out reads the meeting's current state (the writer: its replica may be replaced)."""

    @property
    def meeting(self) -> Meeting: ...


Build = Callable[[Connection], dict[str, Any] | str | None]
"""A message made for one connection (None: nothing for it)."""


def _offer_built(conn: Connection, build: Build) -> None:
    if conn.closed or conn.holding:
        return
    message = build(conn)
    if message is not None:
        conn.send(message)


class Fanout:
    """One room's connections and what each is sent."""

    def __init__(self, code: str, source: MeetingSource, event_log: EventLog, recent: Iterable[Event] = ()) -> None:
        self.code = code
        self._source = source
        self._log = event_log
        self._connections: set[Connection] = set()
        self._screens: set[Connection] = set()
        self._phones: dict[int, set[Connection]] = {}
        self._expected: dict[tuple[int, str], tuple[Connection | None, float]] = {}
        """(participant, op) of votes being submitted -> the connection that sent it (not echoed to it) and
        when it arrived (``time.perf_counter``, for the vote -> projector histogram). One entry per vote, one
        lookup per vote event."""
        self._recent: deque[Event] = deque(recent, maxlen=RECENT_EVENTS)
        self._delivered = source.meeting.seq
        self._counters_sent: dict[str, int] = {}
        self._phone_work: deque[tuple[list[Connection] | None, Callable[[Connection], None], int]] = deque()
        """What is still to go to phones, in order: (the phones, or None for every phone when its turn comes;
        what to offer each; how many phones per loop iteration). While anything is queued or going out, every
        message to a phone queues behind it, so each phone's events keep the order of their sequence."""
        self._phone_busy = False
        self._phone_task: asyncio.Task[None] | None = None
        self._counter_task: asyncio.Task[None] | None = None

    @property
    def _meeting(self) -> Meeting:
        return self._source.meeting

    @property
    def delivered_seq(self) -> int:
        """The last durable sequence number published here: what a pong or a resume may name."""
        return self._delivered

    @property
    def connected(self) -> int:
        """How many connections are attached."""
        return len(self._connections)

    def disconnect_all(self, code: int, reason: str) -> None:
        """Close every connection of the meeting (an erasure or a deletion: see facilitation/live/erasure.py)."""
        for conn in list(self._connections):
            conn.close_after_sent(code, reason)

    def open(self) -> None:
        self._counter_task = asyncio.get_running_loop().create_task(self._tick_counters(), name="counters")

    async def close(self) -> None:
        for task in (self._phone_task, self._counter_task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    # ------------------------------------------------------------ votes in flight

    def expect(self, participant: int, op: str, origin: Connection | None, arrived: float) -> tuple[int, str]:
        """A vote is being committed: when its event comes back, do not echo it to ``origin`` (its ack confirms
        it) and time its way to the projector from ``arrived``. Returns the key :meth:`settled` is given."""
        key = (participant, op)
        self._expected[key] = (origin, arrived)
        return key

    def settled(self, key: tuple[int, str]) -> None:
        """The vote's commit ended (its event, if any, was published meanwhile)."""
        self._expected.pop(key, None)

    # ------------------------------------------------------------ fan-out

    def unseen(self, events: Sequence[Event]) -> Sequence[Event]:
        """The events not yet published here (a reader may redeliver after a reconnect). They come in seq
        order, so when the first is new, all are: ``events`` itself, without a copy (every group commit)."""
        if events and events[0].seq > self._delivered:
            return events
        return [e for e in events if e.seq > self._delivered]

    def publish(self, events: Sequence[Event]) -> None:
        """Durable events, in order, to the connections each concerns."""
        for event in events:
            if event.seq <= self._delivered:
                continue
            self._delivered = event.seq
            self._recent.append(event)
            self._publish(event)

    def _publish(self, event: Event) -> None:
        """Send one event to the connections it concerns.

        Hot path: at 300+ votes a second, a vote must not visit 1,000 phone connections. Every event goes to
        the screens (projector, host); to phones as the event's :meth:`~facilitation.core.events.Event.phones`
        says: one participant's phones only (votes, joins, profile changes, a pending statement to its author),
        none (an analysis published), or every phone, with the text built once for all but the few it
        concerns personally (at 10,000 phones, checking each phone's relation to the event held the loop
        ~20 ms per event). A vote is not echoed to the connection that sent it.
        """
        shared: dict[tuple[str, bool], str | None] = {}
        origin = arrived = None
        if isinstance(event, VoteCast) and event.op:
            expected = self._expected.get((event.participant, event.op))
            if expected is not None:
                origin, arrived = expected
        if self._screens:
            for conn in list(self._screens):
                self._offer(conn, event, shared, arrived)
        target = event.phones()  # the event's own audience (facilitation/core/events.py)
        if target is None:
            return
        if target == "all":
            self._to_every_phone(event, shared)
            return
        phones: Iterable[Connection] = self._phones.get(target, ())
        if origin is not None:
            phones = [c for c in phones if c is not origin]
            if not phones:  # the voter's only device sent it (the usual vote): nobody else to tell
                return
        if self._phone_work or self._phone_busy:  # behind a room-wide message still going out
            self._queue_phones(list(phones), lambda conn: self._offer(conn, event, shared), EVENT_SLICE)
            return
        for conn in list(phones):
            self._offer(conn, event, shared)

    def _to_every_phone(self, event: Event, shared: dict[tuple[str, bool], str | None]) -> None:
        concerned = self._concerned(event)
        view = view_for(event, "participant", None, self._meeting)
        text = None if view is None else dumps({"v": PROTOCOL_VERSION, "type": "event", "seq": event.seq,
                                                "event": view})

        def offer(conn: Connection) -> None:
            if conn.participant in concerned:
                self._offer(conn, event, shared)
            elif conn.take(event) and text is not None:
                conn.send(text)

        if self._phone_work or self._phone_busy or len(self._connections) - len(self._screens) > AT_ONCE:
            self._queue_phones(None, offer, EVENT_SLICE)
            return
        for conn in [c for group in self._phones.values() for c in group]:
            offer(conn)

    def _concerned(self, event: Event) -> set[int | None]:
        """The participants for whom ``event`` is personal (theirs, or about a statement they wrote)."""
        concerned: set[int | None] = {getattr(event, "participant", None), getattr(event, "author", None)}
        statement = getattr(event, "statement", None)
        if isinstance(statement, int) and statement in self._meeting.statements:
            concerned.add(self._meeting.statements[statement].author)
        concerned.discard(None)
        return concerned

    def _offer(self, conn: Connection, event: Event, shared: dict[tuple[str, bool], str | None],
               arrived: float | None = None) -> None:
        if conn.take(event):
            self._send_event(conn, event, shared, arrived)

    def _send_event(self, conn: Connection, event: Event, shared: dict[tuple[str, bool], str | None],
                    arrived: float | None = None) -> None:
        """Send ``event`` as ``conn`` sees it (the connection took it already: see :meth:`Connection.take`)."""
        if conn.batched:
            view = view_for(event, conn.role, conn.participant, self._meeting)
            if view is not None:
                view["seq"] = event.seq
                conn.push_event(event.seq, view, self._batch_extra, arrived)
            return
        me = conn.participant
        # The event's own participant first: the common case (a voter's other device) needs no set built.
        personal = me is not None and (me == getattr(event, "participant", None) or me in self._concerned(event))
        key = (conn.role, personal)
        if personal or key not in shared:
            view = view_for(event, conn.role, conn.participant, self._meeting)
            text = None if view is None else dumps({"v": PROTOCOL_VERSION, "type": "event", "seq": event.seq,
                                                    "event": view})
            if personal:
                if text is not None:
                    conn.send(text)
                return
            shared[key] = text
        cached = shared[key]
        if cached is not None:
            conn.send(cached)

    def _batch_extra(self) -> dict[str, Any]:
        return {"counters": self._meeting.counters}

    async def _tick_counters(self) -> None:
        """Counters to phones: each phone at most once per :data:`COUNTER_INTERVAL`, and the room at most
        :data:`COUNTER_BUDGET` counter messages a second, spread over short ticks.

        Sending 1,000 phones their counters in one loop iteration stalls every vote behind 1,000 socket
        writes (measured: it set the vote -> projector p99); a round over 1,000 phones takes 5 s instead.
        """
        loop = asyncio.get_running_loop()
        per_tick = max(1, int(COUNTER_BUDGET * COUNTER_TICK))
        waiting: list[Connection] = []
        round_started = -COUNTER_INTERVAL
        latest: dict[str, int] = {}
        text = ""
        while True:
            await asyncio.sleep(COUNTER_TICK)
            counters = self._meeting.counters
            if not waiting:
                if loop.time() - round_started < COUNTER_INTERVAL or counters == self._counters_sent:
                    continue
                waiting = [c for c in self._connections if c.role == "participant"]
                round_started = loop.time()
                self._counters_sent = counters  # a change during the round starts another round
            if counters != latest:
                latest = counters
                text = dumps({"v": PROTOCOL_VERSION, "type": "counters", "counters": counters})
            chunk, waiting = waiting[:per_tick], waiting[per_tick:]
            for conn in chunk:
                if not conn.closed and not conn.holding:
                    conn.send(text)

    def broadcast(self, build: Build, *, phones: bool = True) -> None:
        """Send a message built per connection (analysis results differ per phone): to the screens (projector,
        host) at once; with ``phones``, to the phones in slices of :data:`PHONE_SLICE` per loop iteration,
        broadcasts in the order they were made. Only messages without a sequence number come this way (an
        analysis, an error): events keep their order with acks through :meth:`publish`."""
        for conn in list(self._screens):
            _offer_built(conn, build)
        if phones and self._phones:
            self._queue_phones(None, lambda conn: _offer_built(conn, build), PHONE_SLICE)

    def _queue_phones(self, targets: list[Connection] | None, offer: Callable[[Connection], None],
                      per_turn: int) -> None:
        self._phone_work.append((targets, offer, per_turn))
        if self._phone_task is None or self._phone_task.done():
            self._phone_task = asyncio.get_running_loop().create_task(self._to_phones(), name="to-phones")

    async def _to_phones(self) -> None:
        while self._phone_work:
            targets, offer, per_turn = self._phone_work.popleft()
            self._phone_busy = True
            try:
                if targets is None:
                    targets = [c for group in self._phones.values() for c in group]
                sliced = await _in_slices(targets, offer, per_turn)
            except Exception:  # one bad message must not stop every later one to the phones
                log.exception("sending to the phones of meeting %s failed", self.code)
                sliced = True
            finally:
                self._phone_busy = False
            if sliced:
                await asyncio.sleep(0)  # a big message's last slice and the next one's first are two turns

    # ------------------------------------------------------------ attach / resume

    async def attach(self, conn: Connection, since: int | None, snapshot: Callable[[Connection], dict[str, Any]],
                     analysis: Build) -> None:
        """Register a connection and bring it up to date: the events it missed when it can (then the latest
        ``analysis`` message, which is not an event), else a ``snapshot``."""
        meeting = self._meeting
        behind = None if since is None else meeting.seq - since
        if since is None or behind is None or behind < 0 or behind > RESUME_LIMIT:
            self._attach_with_snapshot(conn, snapshot)
            return
        oldest = self._recent[0].seq if self._recent else meeting.seq + 1
        if since + 1 >= oldest or behind == 0:
            conn.resume_from(since)
            self._send_resumed(conn, since)
            self._catch_up(conn, [e for e in self._recent if e.seq > since])
            _offer_built(conn, analysis)
            self._register(conn)
            return
        # Older than memory: read the log while live events are held by the connection.
        conn.hold()
        conn.resume_from(since)
        self._register(conn)
        try:
            missed = await self._log.events_since(self.code, since, RESUME_LIMIT + 1)
        except Exception:
            conn.release()
            self.detach(conn)
            self._attach_with_snapshot(conn, snapshot)
            return
        self._send_resumed(conn, since)
        self._catch_up(conn, missed, conn.release())
        _offer_built(conn, analysis)

    def _catch_up(self, conn: Connection, *runs: Iterable[Event]) -> None:
        for run in runs:
            for event in run:
                if conn.take(event):
                    self._send_event(conn, event, {})
        if conn.batched:
            conn.flush()

    def _send_resumed(self, conn: Connection, since: int) -> None:
        meeting = self._meeting
        conn.send({"v": PROTOCOL_VERSION, "type": "resumed", "since": since, "seq": meeting.seq,
                   "counters": meeting.counters})

    def _attach_with_snapshot(self, conn: Connection, snapshot: Callable[[Connection], dict[str, Any]]) -> None:
        conn.resume_from(self._meeting.seq)
        conn.send(snapshot(conn))
        self._register(conn)

    def _register(self, conn: Connection) -> None:
        self._connections.add(conn)
        if conn.participant is None:
            self._screens.add(conn)
        else:
            self._phones.setdefault(conn.participant, set()).add(conn)

    def detach(self, conn: Connection) -> None:
        self._connections.discard(conn)
        self._screens.discard(conn)
        if conn.participant is not None:
            group = self._phones.get(conn.participant)
            if group is not None:
                group.discard(conn)
                if not group:
                    del self._phones[conn.participant]

