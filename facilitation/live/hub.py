"""All rooms of this process: made on first use, forgotten when idle.

The hub is where a room's collaborators are made and wired, once: for each meeting its writer (from the writer
factory: embedded, or owned through Redis), its record and fan-out over the event log, and its live analysis
(from the analysis factory, when analysis is on). Every write of a meeting, its creation included, goes through
its writer. One :class:`~facilitation.live.connection.Outbox` per process writes every connection's messages.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Sequence

from facilitation import metrics
from facilitation.core.closes import CloseCode
from facilitation.core.codes import new_code
from facilitation.core.erasure import MeetingDeleted
from facilitation.core.events import Event
from facilitation.core.meeting import Meeting, MeetingSettings, hash_secret
from facilitation.live.connection import Outbox
from facilitation.live.fanout import Fanout
from facilitation.live.room import AnalysisFactory, Record, Room, RoomParts, UnknownMeeting
from facilitation.live.timers import TimerClock
from facilitation.live.writer import LogWriter, Writer, WriterFactory
from facilitation.storage import MeetingExists, StoreUnavailable
from facilitation.storage.port import EventLog

__all__ = ["Hub"]

log = logging.getLogger(__name__)


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
        self._dropping: set[asyncio.Task[None]] = set()
        self.outbox = Outbox()
        """Writes every connection's messages to its socket (facilitation/live/connection.py)."""

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
            return self._open(meeting, writer, events), host_key
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
            room = self.rooms.get(code)
            if room is None:
                meeting = Meeting.replay(events)
                room = self._open(meeting, self._writers(meeting))
            future.set_result(room)
            return room
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # mark retrieved: concurrent waiters re-raise it themselves
            raise
        finally:
            del self._loading[code]

    def _open(self, meeting: Meeting, writer: Writer, recent: Sequence[Event] = ()) -> Room:
        """Make a room's collaborators, the room, and start it."""
        record = Record(meeting.code, self.log)
        fanout = Fanout(meeting.code, writer, self.log, recent)
        analysis = None if self._analysis is None else self._analysis(RoomParts(meeting.code, writer, fanout, record))
        room = Room(writer, fanout, record, analysis, on_gone=self._gone, timers=TimerClock(writer))
        self.rooms[meeting.code] = room
        room.open()
        return room

    def _gone(self, room: Room, event: Event) -> None:
        """An erasure or a deletion reached this process (its own or another worker's): drop the room now,
        so nothing serves the old state; the next lookup replays the log (redacted by then, or gone)."""
        if self.rooms.get(room.code) is not room:
            return
        close = CloseCode.UNKNOWN_MEETING if isinstance(event, MeetingDeleted) else CloseCode.RELOAD
        self.drop(room.code, close)

    def drop(self, code: str, close: CloseCode = CloseCode.RELOAD) -> None:
        """Forget the room of ``code`` and close its connections with ``close`` (its analysis stops at once;
        the rest closes in a task)."""
        room = self.rooms.pop(code, None)
        if room is None:
            return
        if room.analysis is not None:
            room.analysis.close()
        room.disconnect_all(close, "the meeting was deleted" if close == CloseCode.UNKNOWN_MEETING
                            else "the meeting's record changed: reconnect")
        task = asyncio.get_running_loop().create_task(self._close_quietly(room), name=f"drop-{code}")
        self._dropping.add(task)
        task.add_done_callback(self._dropping.discard)

    async def _close_quietly(self, room: Room) -> None:
        try:
            await room.close()
        except Exception:
            log.exception("closing dropped meeting %s failed; it is forgotten all the same", room.code)

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
