"""Erasure and retention in a running server: a participant's erasure, a host's deletion, and the purge of
meetings past their retention period. The pure half (what to erase, what the log's replacements are) is
:mod:`facilitation.core.erasure`; the store's half (replace, drop, delete, compact) is the storage port's.

**A participant's erasure** (:func:`erase_participant`), in this order:

1. the meeting's writer appends :class:`~facilitation.core.erasure.ParticipantErased`: every process serving
   the meeting folds the participant out of its replica at once, refuses anything more of theirs, and drops
   its room (its connections are closed with 4010 and reconnect to a fresh snapshot; its live analysis
   stops, so no run with their votes is saved after this);
2. the stored log is redacted (every event before that one naming the participant or a statement they wrote);
3. the stored analyses are dropped (their map points were theirs too);
4. the store is compacted: SQLite rows gone with ``secure_delete``, the WAL truncated and the file rebuilt
   (VACUUM); Redis's append-only file rewritten on every node holding the data, waited for;
5. the room is opened again from the redacted log and the analysis runs again (the new map has no point of
   theirs); exports read the log and the analyses, so every export follows.

**A deletion** (:func:`delete_meeting`) appends :class:`~facilitation.core.erasure.MeetingDeleted` (every
process closes the meeting's connections with 4004 and forgets it), deletes the log, its analyses and its
documents, and compacts. :func:`purge` deletes every meeting whose retention period has passed.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from facilitation.core.closes import CloseCode
from facilitation.core.erasure import MeetingDeleted, ParticipantErased, redactions
from facilitation.core.events import Event, MeetingCreated, PhaseChanged
from facilitation.core.state import Phase
from facilitation.live.hub import Hub
from facilitation.live.room import UnknownMeeting
from facilitation.storage.port import EventLog
from facilitation.storage.store import Store

__all__ = ["Expiry", "delete_meeting", "erase_participant", "expiry", "purge", "purge_periodically"]

log = logging.getLogger(__name__)

DAY = 86_400.0


async def erase_participant(hub: Hub, code: str, participant: int) -> int:
    """Erase ``participant`` from meeting ``code`` (see the module's docstring); returns how many stored
    events were replaced."""
    room = await hub.room(code)
    erased = await room.writer.append_server_event(lambda seq, at: ParticipantErased(seq, at, participant))
    hub.drop(code, CloseCode.RELOAD)  # already dropped when the event came back through this process
    events = await hub.log.load(code) or []
    replaced = redactions([e for e in events if e.seq < erased.seq], participant)
    await hub.log.redact(code, replaced)
    await hub.log.drop_analyses(code)
    await hub.log.compact()
    log.info("meeting %s: participant %d erased (%d stored events replaced)", code, participant, len(replaced))
    # a phone that reconnected meanwhile loaded the log before it was redacted: drop that room too (the
    # event folded the participant out of the core's state, not necessarily out of every feature's)
    hub.drop(code, CloseCode.RELOAD)
    room = await hub.room(code)  # replayed from the redacted log; its analysis runs again
    if room.analysis is not None and room.meeting.vote_count:
        await room.analysis.control("recompute")
    return len(replaced)


async def delete_meeting(hub: Hub, code: str) -> bool:
    """Delete meeting ``code`` and everything stored with it, closing its connections everywhere."""
    try:
        room = await hub.room(code)
    except UnknownMeeting:
        room = None  # nothing to tell anyone: delete whatever the store still holds under the code
    if room is not None:
        # heard by every process serving it, which closes its connections (4004) and forgets it; a worker that
        # does not own the meeting is refused here (store_unavailable: the caller retries, reaching the owner)
        await room.writer.append_server_event(lambda seq, at: MeetingDeleted(seq, at))
    hub.drop(code, CloseCode.UNKNOWN_MEETING)
    deleted = await hub.log.delete_meeting(code)
    await hub.log.compact()
    log.info("meeting %s deleted", code)
    return deleted


@dataclass(frozen=True, slots=True)
class Expiry:
    code: str
    ended_at: float
    """When the retention period started: the meeting's close, or its last event if it was never closed."""
    retention_days: int
    expires_at: float | None
    """None: kept until deleted (a retention of 0 days)."""


def expiry(events: list[Event]) -> Expiry:
    """When a stored meeting's retention period ends."""
    created = events[0]
    assert isinstance(created, MeetingCreated)
    days = int(created.settings.get("retention_days", 0) or 0)
    closes = [e.at for e in events if isinstance(e, PhaseChanged) and e.to_phase == Phase.CLOSED.value]
    ended = closes[-1] if closes else events[-1].at
    return Expiry(created.code, ended, days, ended + days * DAY if days else None)


async def purge(event_log: EventLog | Store, now: float | None = None, *, dry_run: bool = False,
                hub: Hub | None = None) -> list[Expiry]:
    """Delete every meeting past its retention period; returns the meetings deleted (or, ``dry_run``, that
    would be). A server passes its ``hub`` (each meeting is deleted through it, so a room still open is
    closed everywhere); ``facilitation purge`` runs on the store alone, for a server that is stopped or
    does not serve those meetings any more."""
    now = time.time() if now is None else now
    due: list[Expiry] = []
    for code in await event_log.meeting_codes():
        events = await event_log.load(code)
        if not events:
            continue
        found = expiry(events)
        if found.expires_at is not None and found.expires_at <= now:
            due.append(found)
    if dry_run or not due:
        return due
    for found in due:
        if hub is not None:
            await delete_meeting(hub, found.code)
        else:
            await event_log.delete_meeting(found.code)
    if hub is None:
        await event_log.compact()
    for found in due:
        log.info("meeting %s purged: %d days after %s", found.code, found.retention_days,
                 time.strftime("%Y-%m-%d %H:%M", time.gmtime(found.ended_at)))
    return due


async def purge_periodically(hub: Hub, every: float = 3600.0) -> None:
    """The server's own purge, at start and then every ``every`` seconds."""
    import asyncio

    while True:
        try:
            await purge(hub.log, hub=hub)
        except Exception:
            log.exception("purging meetings past retention failed; trying again in %.0f s", every)
        await asyncio.sleep(every)
