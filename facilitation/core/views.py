"""What each role sees of an event and of the meeting.

The meeting's log holds everything; a client sees a filtered view. Participants and the projector never
see a pending statement's text, a token hash or the host key hash; phones do not receive other phones'
votes (only counters); the host sees everything but secrets.
"""

from __future__ import annotations

from typing import Any

from facilitation.core.events import (
    AnalysisPublished,
    Event,
    ParticipantJoined,
    ProfileChanged,
    StatementModerated,
    StatementPosted,
    VoteCast,
)
from facilitation.core.meeting import Meeting, StatementState

__all__ = ["host_snapshot", "participant_snapshot", "projector_snapshot", "view_for"]


SCREEN_ONLY_EVENTS: tuple[type[Event], ...] = (AnalysisPublished,)
"""Events no phone is sent (:func:`view_for` gives phones None): the fan-out skips the phones for them."""


def view_for(event: Event, role: str, participant: int | None, meeting: Meeting) -> dict[str, Any] | None:
    """The event as ``role`` (and, for a phone, that participant) sees it; None when it does not concern them."""
    if role == "host":
        return _host_view(event)
    mine = participant is not None and getattr(event, "participant", None) == participant
    match event:
        case StatementPosted():
            if event.state == StatementState.ACCEPTED.value:
                return {"type": "statement", "statement": _statement(meeting, event.statement)}
            if participant is not None and event.author == participant:
                return {"type": "my_statement", "statement": _statement(meeting, event.statement)}
            return None
        case StatementModerated():
            view: dict[str, Any] = {
                "type": "statement_moderated",
                "statement": event.statement,
                "action": event.action,
                "state": event.state,
                "reason": event.reason,
            }
            if event.state == StatementState.ACCEPTED.value or _authored(meeting, event.statement, participant):
                view["text"] = meeting.statements[event.statement].text
            return view
        case VoteCast():
            if role == "projector":
                return {"type": "vote", "participant": event.participant, "statement": event.statement,
                        "value": event.value, "previous": event.previous}
            return event.public() if mine else None
        case ParticipantJoined():
            if role == "projector":
                return {"type": "participant_joined", "participant": event.participant, "role": event.role}
            return event.public() if mine else None
        case ProfileChanged():
            return event.public() if mine else None
        case AnalysisPublished():
            # Phones get their own throttled ``analysis`` message instead: one event per run to every
            # phone would cost 2,000 messages a second at 1,000 phones.
            return event.public() if role == "projector" else None
    return event.public()


def _host_view(event: Event) -> dict[str, Any]:
    return event.public()


def _authored(meeting: Meeting, statement: int, participant: int | None) -> bool:
    return participant is not None and meeting.statements[statement].author == participant


def _statement(meeting: Meeting, statement_id: int) -> dict[str, Any]:
    return meeting.statements[statement_id].public()


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
        },
    }


def projector_snapshot(meeting: Meeting) -> dict[str, Any]:
    return {"meeting": meeting.public_state()}


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
        "participants": [
            {"participant": p.id, "nickname": p.nickname, "role": p.role}
            for p in meeting.participants.values()
        ],
    }
