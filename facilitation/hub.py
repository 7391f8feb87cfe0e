"""The live rooms: one per meeting in use, holding its state, its connections and its recent events.

A command's path: a connection hands it to :meth:`Room.submit`; the room applies it to the pure
:class:`~facilitation.meeting.Meeting` (synchronously, so sequence numbers follow submission order),
waits until the store says the events are durable, publishes them on the bus and only then returns the
result that the connection acknowledges. Every process's room hears the events from the bus
(:meth:`Room.deliver`) and fans them out: phones get what concerns them at once, projector and host get
them batched, and phones get counters at most once per :data:`COUNTER_INTERVAL`.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, Protocol

from facilitation import metrics
from facilitation.bus import Bus, Unsubscribe
from facilitation.codes import new_code
from facilitation.connection import Connection, TokenBucket
from facilitation.errors import ClientError
from facilitation.events import Event, ParticipantJoined, ProfileChanged, StatementPosted, VoteCast
from facilitation.meeting import Applied, Command, Meeting, MeetingSettings, StatementState, hash_secret
from facilitation.protocol import PROTOCOL_VERSION, dumps
from facilitation.routing import next_statement
from facilitation.store import MeetingExists, Store, StoreUnavailable
from facilitation.views import host_snapshot, participant_snapshot, projector_snapshot, view_for

__all__ = ["Hub", "Room", "UnknownMeeting"]

RECENT_EVENTS = 20_000
"""Events kept in memory per room, so most resumes are served without reading the store."""
RESUME_LIMIT = 2_000
"""A client further behind than this gets a fresh snapshot instead of the missed events."""
COUNTER_INTERVAL = 1.0
"""Seconds between counter updates to one phone, at least."""
COUNTER_BUDGET = 200
"""Counter messages a room sends per second at most: with 1,000 phones each gets counters every 5 s."""
COUNTER_TICK = 0.1
"""Counter sends are spread over ticks this long, so no loop iteration carries hundreds of them."""
PARTICIPANT_RATE = 20.0
PARTICIPANT_BURST = 60.0
"""A phone may send 20 commands a second, and 60 at once when its offline queue replays."""


_PERSONAL_EVENTS = (VoteCast, ParticipantJoined, ProfileChanged)


class Coordination(Protocol):
    """How a room reaches its meeting's single writer when several processes serve it (implemented by
    :class:`facilitation.ownership.Coordinator` with Redis). Embedded mode has none: the room is the writer."""

    def attach(self, room: Room) -> None: ...

    def is_owner(self, code: str) -> bool: ...

    async def submit(self, room: Room, command: Command) -> Applied: ...

    async def append_server_event(self, room: Room, make: Callable[[int, float], Event]) -> Event: ...


class UnknownMeeting(ClientError):
    status = 404

    def __init__(self, code: str) -> None:
        super().__init__("unknown_meeting", f"no meeting with code {code!r}")


class Room:
    """One meeting served by this process."""

    def __init__(self, meeting: Meeting, store: Store, bus: Bus) -> None:
        self.meeting = meeting
        self.code = meeting.code
        self.store = store
        self.bus = bus
        self.connections: set[Connection] = set()
        self._screens: set[Connection] = set()
        self._origin: Connection | None = None
        self._phones: dict[int, set[Connection]] = {}
        self.recent: deque[Event] = deque(maxlen=RECENT_EVENTS)
        self.priorities: dict[int, float] = {}
        self.analysis: dict[str, Any] | None = None
        """The last published analysis payload (set by the analysis scheduler)."""
        self.analysis_error: str | None = None
        self.control: Callable[[str], Awaitable[dict[str, Any]]] | None = None
        """Host controls of live analysis (pause, resume, recompute), set by the analysis scheduler."""
        self.analysis_view: Callable[[Connection], dict[str, Any] | None] | None = None
        """A connection's view of the last analysis, for snapshots and resumes (set by the scheduler)."""
        self.listeners: list[Callable[[Sequence[Event]], None]] = []
        """Other in-process consumers of this room's events (the analysis scheduler)."""
        self.delivered_seq = meeting.seq
        self.strategy: Coordination | None = None
        """Set when the meeting may have another writer process; None keeps the embedded path below."""
        self._buckets: dict[int, TokenBucket] = {}
        self._unsubscribe: Unsubscribe | None = None
        self._counter_task: asyncio.Task[None] | None = None
        self._counters_sent: dict[str, int] = {}
        self._lock = asyncio.Lock()

    def open(self) -> None:
        self._unsubscribe = self.bus.subscribe(self.code, self.deliver, since=self.delivered_seq)
        self._counter_task = asyncio.get_running_loop().create_task(self._tick_counters())

    async def close(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
        if self._counter_task is not None:
            self._counter_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._counter_task

    # ------------------------------------------------------------ commands

    def allow(self, participant: int) -> bool:
        """Per-participant rate limit: one flooding phone is refused, everyone else is unaffected."""
        bucket = self._buckets.get(participant)
        if bucket is None:
            bucket = self._buckets[participant] = TokenBucket(PARTICIPANT_RATE, PARTICIPANT_BURST)
        return bucket.take()

    async def submit(self, command: Command, origin: Connection | None = None) -> Applied:
        """Apply, make durable, publish; return the result to acknowledge. Raises ClientError on refusal.

        ``origin`` is the connection that sent the command: its ack already confirms the vote, so the vote
        event is not echoed back to it (half the messages on the vote path). Other devices of the same
        participant still receive it.
        """
        if self.strategy is not None:
            return await self.strategy.submit(self, command)
        started = time.perf_counter()
        applied = self.meeting.apply(command, time.time())
        if applied.events:
            try:
                await self.store.append(self.code, applied.events)
            except StoreUnavailable:
                await self._reload()
                raise
            self._origin = origin  # the in-process bus delivers synchronously, inside this call
            try:
                await self.bus.publish(self.code, applied.events)
            finally:
                self._origin = None
        metrics.COMMAND_SECONDS.observe(time.perf_counter() - started)
        return applied

    async def append_server_event(self, make: Callable[[int, float], Event]) -> Event:
        """Append an event the server itself makes (e.g. ``analysis_published``) through the normal path.

        Its sequence number is allocated synchronously (``meeting.seq + 1``, folded in at once), so it can
        never collide with a command's; then it is made durable and published like any other event.
        """
        if self.strategy is not None:
            return await self.strategy.append_server_event(self, make)
        event = make(self.meeting.seq + 1, time.time())
        self.meeting.evolve(event)
        try:
            await self.store.append(self.code, [event])
        except StoreUnavailable:
            await self._reload()
            raise
        await self.bus.publish(self.code, [event])
        return event

    async def _reload(self) -> None:
        """After a failed write the in-memory state is ahead of the log: rebuild it from the store."""
        with contextlib.suppress(Exception):
            events = await self.store.load(self.code)
            if events:
                self.meeting = Meeting.replay(events)

    # ------------------------------------------------------------ fan-out

    def deliver(self, events: Sequence[Event]) -> None:
        """Bus listener: fold events this process did not apply, remember them, fan them out."""
        for event in events:
            if event.seq <= self.delivered_seq:
                continue  # already delivered (a bus may redeliver after a reconnect)
            if event.seq > self.meeting.seq:
                self.meeting.evolve(event)
            self.delivered_seq = max(self.delivered_seq, event.seq)
            self.recent.append(event)
            self._fan_out(event)
        for listener in self.listeners:
            listener(events)

    def _fan_out(self, event: Event) -> None:
        """Send one event to the connections it concerns.

        Hot path: at 300+ votes a second, a vote must not visit 1,000 phone connections. Votes, joins and
        profile changes go to the screens (projector, host) and to that participant's own phones only; a
        pending statement to its author only; everything else to everyone.
        """
        shared: dict[tuple[str, bool], str | None] = {}
        for conn in list(self._screens):
            self._offer(conn, event, shared)
        phones: Iterable[Connection]
        if isinstance(event, _PERSONAL_EVENTS):
            phones = self._phones.get(event.participant, ())
            if isinstance(event, VoteCast) and event.op and self._origin is not None:
                phones = [c for c in phones if c is not self._origin]
        elif isinstance(event, StatementPosted) and event.state != StatementState.ACCEPTED.value:
            phones = () if event.author is None else self._phones.get(event.author, ())
        else:
            phones = [c for group in self._phones.values() for c in group]
        for conn in list(phones):
            self._offer(conn, event, shared)

    def _offer(self, conn: Connection, event: Event, shared: dict[tuple[str, bool], str | None]) -> None:
        if conn.closed or event.seq <= conn.last_seq:
            return
        if conn.buffering is not None:
            conn.buffering.append(event)
            return
        self._send_event(conn, event, shared)

    def _send_event(self, conn: Connection, event: Event, shared: dict[tuple[str, bool], str | None]) -> None:
        conn.last_seq = event.seq
        if conn.batched:
            view = view_for(event, conn.role, conn.participant, self.meeting)
            if view is not None:
                view["seq"] = event.seq
                conn.push_event(event.seq, view, self._batch_extra)
            return
        personal = conn.participant is not None and (
            getattr(event, "participant", None) == conn.participant
            or getattr(event, "author", None) == conn.participant
            or self._authored(event, conn.participant)
        )
        key = (conn.role, personal)
        if personal or key not in shared:
            view = view_for(event, conn.role, conn.participant, self.meeting)
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

    def _authored(self, event: Event, participant: int) -> bool:
        statement = getattr(event, "statement", None)
        if not isinstance(statement, int) or statement not in self.meeting.statements:
            return False
        return self.meeting.statements[statement].author == participant

    def _batch_extra(self) -> dict[str, Any]:
        return {"counters": self.meeting.counters}

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
            counters = self.meeting.counters
            if not waiting:
                if loop.time() - round_started < COUNTER_INTERVAL or counters == self._counters_sent:
                    continue
                waiting = [c for c in self.connections if c.role == "participant"]
                round_started = loop.time()
                self._counters_sent = counters  # a change during the round starts another round
            if counters != latest:
                latest = counters
                text = dumps({"v": PROTOCOL_VERSION, "type": "counters", "counters": counters})
            chunk, waiting = waiting[:per_tick], waiting[per_tick:]
            for conn in chunk:
                if not conn.closed and conn.buffering is None:
                    conn.send(text)

    def broadcast(self, build: Callable[[Connection], dict[str, Any] | str | None]) -> None:
        """Send a message built per connection (analysis results differ per phone)."""
        for conn in list(self.connections):
            if conn.closed or conn.buffering is not None:
                continue
            message = build(conn)
            if message is not None:
                conn.send(message)

    # ------------------------------------------------------------ attach / resume

    async def attach(self, conn: Connection, since: int | None) -> None:
        """Register a connection and bring it up to date: missed events when it can, else a snapshot."""
        behind = None if since is None else self.meeting.seq - since
        if since is None or behind is None or behind < 0 or behind > RESUME_LIMIT:
            self._attach_with_snapshot(conn)
            return
        oldest = self.recent[0].seq if self.recent else self.meeting.seq + 1
        if since + 1 >= oldest or behind == 0:
            conn.last_seq = since
            self._send_resumed(conn, since)
            for event in [e for e in self.recent if e.seq > since]:
                self._send_event(conn, event, {})
            self._flush_now(conn)
            self._send_analysis(conn)
            self._register(conn)
            return
        # Older than memory: read the store while live events wait in the connection's buffer.
        conn.buffering = []
        conn.last_seq = since
        self._register(conn)
        try:
            missed = await self.store.events_since(self.code, since, RESUME_LIMIT + 1)
        except Exception:
            conn.buffering = None
            self.detach(conn)
            self._attach_with_snapshot(conn)
            return
        self._send_resumed(conn, since)
        for event in missed:
            if event.seq > conn.last_seq:
                self._send_event(conn, event, {})
        waiting, conn.buffering = conn.buffering, None
        for event in waiting:
            if event.seq > conn.last_seq:
                self._send_event(conn, event, {})
        self._flush_now(conn)
        self._send_analysis(conn)

    def _send_resumed(self, conn: Connection, since: int) -> None:
        conn.send({"v": PROTOCOL_VERSION, "type": "resumed", "since": since, "seq": self.meeting.seq,
                   "counters": self.meeting.counters})

    def _send_analysis(self, conn: Connection) -> None:
        """A resumed client may have missed analysis messages (they are not events): send the latest."""
        view = self.analysis_view(conn) if self.analysis_view is not None else None
        if view is not None:
            conn.send(view)

    def _flush_now(self, conn: Connection) -> None:
        if conn.batched:
            conn.flush()

    def _attach_with_snapshot(self, conn: Connection) -> None:
        conn.last_seq = self.meeting.seq
        conn.send(self.snapshot(conn))
        self._register(conn)

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
        if self.analysis_view is not None:
            body["analysis"] = self.analysis_view(conn)
        return {"v": PROTOCOL_VERSION, "type": "snapshot", "seq": self.meeting.seq, **body}

    def _register(self, conn: Connection) -> None:
        self.connections.add(conn)
        if conn.participant is None:
            self._screens.add(conn)
        else:
            self._phones.setdefault(conn.participant, set()).add(conn)

    def detach(self, conn: Connection) -> None:
        self.connections.discard(conn)
        self._screens.discard(conn)
        if conn.participant is not None:
            group = self._phones.get(conn.participant)
            if group is not None:
                group.discard(conn)
                if not group:
                    del self._phones[conn.participant]

    def next_for(self, participant: int) -> dict[str, Any]:
        """The next statement for a phone and how many remain, as sent in snapshots and vote acks."""
        seed = participant * 1_000_003 + len(self.meeting.votes.get(participant, {}))
        candidates = self.meeting.unvoted(participant)
        statement = next_statement(candidates, self.priorities, seed)
        return {"next": None if statement is None else statement.public(), "remaining": len(candidates)}


class Hub:
    """All rooms of this process, loaded from the store on first use."""

    def __init__(self, store: Store, bus: Bus) -> None:
        self.store = store
        self.bus = bus
        self.rooms: dict[str, Room] = {}
        self._loading: dict[str, asyncio.Future[Room]] = {}
        self.on_room_opened: list[Callable[[Room], None]] = []
        self.coordinator: Coordination | None = None
        """Set with Redis: elects one writer process per meeting (see facilitation/ownership.py)."""

    def is_owner(self, code: str) -> bool:
        """Whether this process writes the meeting (always, embedded): run per-meeting singletons such as
        the live analysis only where this is true."""
        return self.coordinator is None or self.coordinator.is_owner(code)

    async def create_meeting(self, settings: MeetingSettings, seeds: Sequence[str]) -> tuple[Room, str]:
        """A new meeting with a fresh join code; returns its room and the host key (shown once)."""
        host_key = secrets.token_urlsafe(24)
        for _ in range(20):
            code = new_code()
            meeting, events = Meeting.create(code, settings, hash_secret(host_key), time.time(), seeds)
            try:
                await self.store.create_meeting(code, events)
            except MeetingExists:
                continue
            room = self._open(meeting)
            room.recent.extend(events)
            room.delivered_seq = meeting.seq
            return room, host_key
        raise StoreUnavailable("store_unavailable", "could not allocate a meeting code")

    async def room(self, code: str) -> Room:
        """The live room for ``code``, loading the meeting from the store if this process has not yet."""
        room = self.rooms.get(code)
        if room is not None:
            return room
        pending = self._loading.get(code)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[Room] = asyncio.get_running_loop().create_future()
        self._loading[code] = future
        try:
            events = await self.store.load(code)
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

    def _open(self, meeting: Meeting) -> Room:
        room = Room(meeting, self.store, self.bus)
        self.rooms[meeting.code] = room
        room.open()
        if self.coordinator is not None:
            self.coordinator.attach(room)
        for hook in self.on_room_opened:
            hook(room)
        return room

    async def close(self) -> None:
        for room in list(self.rooms.values()):
            await room.close()
        self.rooms.clear()
