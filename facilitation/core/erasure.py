"""A participant's erasure (個人資料保護法 §3, §11: a person may have their data deleted), in the pure core.

Erasure has two halves, and this module is the pure part of both:

- **The meeting in memory.** A :class:`ParticipantErased` event, appended like any server event, folds the
  participant out of the meeting at once (:func:`erase`): their nickname and role, their votes (every tally
  they counted in), the statements they wrote (text gone, hidden, with every vote on them), follow-ups on
  those statements. From then on the meeting refuses commands of that participant and any command about
  those statements (:func:`refusal`), so nothing of theirs can come back while the disk is being scrubbed.
- **The log on disk.** :func:`redactions` says which stored events to replace, each under its own seq (the
  log keeps no gaps): the participant's join becomes an empty shell (their number stays taken, nothing else
  about them), each statement they wrote an empty hidden shell (its number stays taken), and every other
  event that names the participant, or one of those statements, a :class:`Redacted` tombstone. The live
  layer (:mod:`facilitation.live.erasure`) writes them with the store's ``redact``, drops the stored
  analyses and compacts the files.

Replaying the redacted log, the :class:`ParticipantErased` event included, gives the same meeting as the
live fold: :func:`erase` finds nothing left to remove, and is harmless twice.

:func:`receipt` is what a participant sees of themselves: their profile, their statements and what became of
them, their votes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from facilitation.core.events import ALL, Audience, Event, ParticipantJoined, StatementPosted
from facilitation.core.state import CommandRefused, StatementState
from facilitation.core.text import dedup_key

if TYPE_CHECKING:
    from facilitation.core.command import Command
    from facilitation.core.meeting import Meeting

__all__ = ["ERASURE_EVENTS", "Erasures", "MeetingDeleted", "ParticipantErased", "Redacted", "erase", "receipt",
           "redactions", "refusal"]


@dataclass
class Erasures:
    """Who and what was erased from this meeting: refused from then on (see :func:`refusal`)."""

    key: ClassVar[str] = "erasures"
    participants: set[int] = field(default_factory=set)
    statements: set[int] = field(default_factory=set)

    def public(self) -> dict[str, int]:
        return {"participants": len(self.participants)}


@dataclass(frozen=True, slots=True)
class ParticipantErased(Event):
    """A participant asked for their data to be erased: every trace of them leaves the meeting."""

    participant: int

    type: ClassVar[str] = "participant_erased"
    # phones and projectors are closed with 4010 and reconnect to a fresh snapshot (docs/protocol.md)
    audience: ClassVar[tuple[Audience, ...]] = (Audience("participant_erased", host=ALL),)

    def evolve(self, meeting: Meeting) -> None:
        erase(meeting, self.participant)


@dataclass(frozen=True, slots=True)
class Redacted(Event):
    """An event an erasure removed: its seq stays (the log has no gaps), nothing else of it remains."""

    type: ClassVar[str] = "redacted"
    audience: ClassVar[tuple[Audience, ...]] = (Audience("redacted", host=ALL),)


@dataclass(frozen=True, slots=True)
class MeetingDeleted(Event):
    """The host (or the retention period) deleted the meeting: every process serving it closes it, then
    the log, this event included, is deleted."""

    type: ClassVar[str] = "meeting_deleted"
    audience: ClassVar[tuple[Audience, ...]] = (Audience("meeting_deleted", host=ALL),)


ERASURE_EVENTS: tuple[type[Event], ...] = (ParticipantErased, Redacted, MeetingDeleted)
"""Server events no command declares (added to the event table beside the core's)."""


def erase(meeting: Meeting, participant: int) -> None:
    """Fold ``participant`` out of ``meeting`` (see the module's docstring)."""
    erased = meeting.part(Erasures)
    erased.participants.add(participant)
    authored = [s for s in meeting.statements.values() if s.author == participant]
    for statement_id in list(meeting.votes.get(participant, {})):
        _unvote(meeting, participant, statement_id)
    meeting.votes.pop(participant, None)
    meeting.voted_accepted.pop(participant, None)
    for statement in authored:
        for voter in list(meeting.votes):
            _unvote(meeting, voter, statement.id)
        if statement.state is StatementState.ACCEPTED:
            meeting.accepted_count -= 1
        if meeting.texts.get(dedup_key(statement.text)) == statement.id:
            del meeting.texts[dedup_key(statement.text)]
        statement.text, statement.reason, statement.state = "", "", StatementState.HIDDEN
        statement.tally.clear()
        statement.votes = 0
        meeting.follow_ups.pop(statement.id, None)
        erased.statements.add(statement.id)
    if authored:
        ids = {s.id for s in authored}
        meeting.moderation_log[:] = [e for e in meeting.moderation_log if e.get("statement") not in ids]
        meeting.statements_changed()
    person = meeting.participants.get(participant)
    if person is not None:
        person.nickname, person.role = "", ""
    for token in [t for t, pid in meeting.by_token.items() if pid == participant]:
        del meeting.by_token[token]
    meeting.ops.pop(str(participant), None)


def _unvote(meeting: Meeting, voter: int, statement_id: int) -> None:
    """Take one vote back out of every count it is in."""
    value = meeting.votes.get(voter, {}).pop(statement_id, None)
    statement = meeting.statements.get(statement_id)
    if value is None or statement is None:
        return
    meeting.vote_count -= 1
    statement.votes -= 1
    statement.tally[value] = statement.tally.get(value, 0) - 1
    if statement.state is StatementState.ACCEPTED and voter in meeting.voted_accepted:
        meeting.voted_accepted[voter] -= 1


def refusal(meeting: Meeting, command: Command) -> CommandRefused | None:
    """Why ``command`` must be refused because of an erasure, or None (the common case costs one lookup)."""
    erased = meeting.parts.get(Erasures)
    if erased is None:
        return None
    assert isinstance(erased, Erasures)
    if command.actor() in {str(p) for p in erased.participants}:
        return CommandRefused("erased", "this participant's data was erased; join again to take part", status=410)
    statement = getattr(command, "statement", None)
    if statement is not None and statement in erased.statements:
        return CommandRefused("erased", f"statement {statement} was erased at its author's request", status=410)
    return None


def redactions(events: Sequence[Event], participant: int) -> list[Event]:
    """The replacements that take ``participant`` out of a stored log (only the events that change)."""
    authored = {e.statement for e in events if isinstance(e, StatementPosted) and e.author == participant}
    replaced: list[Event] = []
    for event in events:
        new: Event | None = None
        if isinstance(event, ParticipantErased):
            continue
        if isinstance(event, ParticipantJoined) and event.participant == participant:
            new = dataclasses.replace(event, token_hash="", nickname="", role="")
        elif isinstance(event, StatementPosted) and event.statement in authored:
            new = dataclasses.replace(event, text="", state=StatementState.HIDDEN.value, op="")
        elif (getattr(event, "participant", None) == participant or getattr(event, "author", None) == participant
              or getattr(event, "statement", None) in authored):
            new = Redacted(event.seq, event.at)
        if new is not None and new != event:
            replaced.append(new)
    return replaced


def receipt(meeting: Meeting, participant: int) -> dict[str, Any]:
    """What the meeting holds about ``participant``: their profile, their statements and what became of
    each (state, the host's reason, the votes it had, the agency's follow-up), and their votes."""
    person = meeting.participants[participant]
    statements = []
    for statement in meeting.statements.values():
        if statement.author != participant:
            continue
        follow_up = meeting.follow_ups.get(statement.id)
        # counts as phones see results: live when the host shows them, from reviewing on in any case
        shown = meeting.results_visible or meeting.phase.value in ("reviewing", "closed")
        statements.append({
            **statement.public(),
            "tally": dict(statement.tally) if shown else None, "voters": statement.votes if shown else None,
            "follow_up": None if follow_up is None else follow_up.to_dict(),
        })
    votes = [{"statement": sid, "text": meeting.statements[sid].text, "value": value}
             for sid, value in sorted(meeting.votes.get(participant, {}).items())]
    return {"participant": participant, "nickname": person.nickname, "role": person.role,
            "joined_at": person.joined_at, "statements": statements, "votes": votes,
            "retention_days": meeting.settings.retention_days, "phase": meeting.phase.value}
