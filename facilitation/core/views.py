"""What each role sees of an event and of the meeting.

The meeting's log holds everything; a client sees a filtered view. Participants and the projector never
see a pending statement's text, a token hash or the host key hash; phones do not receive other phones'
votes (only counters); the host sees everything but secrets.
"""

from __future__ import annotations

from typing import Any

from facilitation.core.commands.exclusion import excluded
from facilitation.core.events import Event
from facilitation.core.meeting import Meeting
from facilitation.core.protocol import PROTOCOL_VERSION

__all__ = ["host_snapshot", "participant_snapshot", "projector_snapshot", "snapshot", "view_for"]


def view_for(event: Event, role: str, participant: int | None, meeting: Meeting) -> dict[str, Any] | None:
    """The event as ``role`` (and, for a phone, that participant) sees it; None when it does not concern them.
    The host sees every event as stored, secrets removed; the others as the event's own
    :meth:`~facilitation.core.events.Event.view` says."""
    if role == "host":
        return event.public()
    return event.view(role, participant, meeting)


def participant_snapshot(meeting: Meeting, participant: int) -> dict[str, Any]:
    """A phone's fresh start: the public meeting plus what is theirs (votes, statements and their fate)."""
    me = meeting.participants[participant]
    return {
        "meeting": meeting.public_state(),
        "you": {
            "participant": participant,
            "nickname": me.nickname,
            "role": me.role,
            "votes": {str(s): v for s, v in meeting.votes.get(participant, {}).items()},
            "statements": [s.public() for s in meeting.statements.values() if s.author == participant],
            **mine(meeting, participant),
        },
    }


def mine(meeting: Meeting, participant: int) -> dict[str, Any]:
    """A feature's own part of a phone's ``you`` (a part's ``mine(participant)``, if it has one: the consent
    checks' answers), by the part's key: a phone that reloads still shows what it answered."""
    out: dict[str, Any] = {}
    for part in meeting.parts.values():
        own = getattr(part, "mine", None)
        if own is not None:
            out[part.key] = own(participant)
    return out


def screens(meeting: Meeting) -> dict[str, Any]:
    """What a feature shows the projector and the host beyond its public state (a part's ``screen()``, if it
    has one: the consent check's answers by participant, which phones never see), by the part's key."""
    out: dict[str, Any] = {}
    for part in meeting.parts.values():
        screen = getattr(part, "screen", None)
        if screen is not None:
            out[part.key] = screen()
    return out


def projector_snapshot(meeting: Meeting) -> dict[str, Any]:
    return {"meeting": meeting.public_state(), "screens": screens(meeting)}


def host_snapshot(meeting: Meeting) -> dict[str, Any]:
    """Everything the console needs: all statements with tallies, the queue, participants by role, and
    each participant's nickname and role (the host moderates people, not numbers)."""
    by_role: dict[str, int] = {}
    for p in meeting.participants.values():
        by_role[p.role] = by_role.get(p.role, 0) + 1
    return {
        "meeting": meeting.public_state(),
        "all_statements": [
            {**s.public(), "author": s.author, "tally": dict(s.tally)} for s in meeting.statements.values()
        ],
        "participants_by_role": by_role,
        "screens": screens(meeting),
        "participants": [
            {"participant": p.id, "nickname": p.nickname, "role": p.role}
            for p in meeting.participants.values()
        ],
        "excluded": sorted(excluded(meeting)),  # left out of the analysis: the host's alone to see
    }


def snapshot(meeting: Meeting, role: str, participant: int | None, *, next_statement: dict[str, Any] | None,
             analysis_on: bool, analysis: dict[str, Any] | None, analysis_error: str | None) -> dict[str, Any]:
    """The ``snapshot`` message a client starts from: the meeting as ``role`` sees it, a phone's next statement
    (``next_statement``: its ``next`` and ``remaining``), the host's last analysis error and, when live analysis
    runs (``analysis_on``), the connection's view of the last analysis."""
    body: dict[str, Any]
    if role == "participant":
        assert participant is not None and next_statement is not None
        body = participant_snapshot(meeting, participant)
        body.update(next_statement)
    elif role == "host":
        body = host_snapshot(meeting)
        body["analysis_error"] = analysis_error
    else:
        body = projector_snapshot(meeting)
    if analysis_on:
        body["analysis"] = analysis
    return {"v": PROTOCOL_VERSION, "type": "snapshot", "seq": meeting.seq, **body}
