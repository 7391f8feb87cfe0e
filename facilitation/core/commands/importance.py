"""“This matters to me” (issue 24): with a vote, a participant may mark a statement important (``important``).

As Pol.is's importance flag (its ``votes.high_priority``; its exports carry a 0/1 "important" value per vote
and importance tallies per comment when the conversation enables it): a mark belongs to a vote, so it needs
one (``vote_first``) and is kept per (participant, statement), latest wins. Routing weighs a statement by
:func:`importance_factor` (the clustering library's formula, :func:`clustering.priorities.importance_factor`,
restated here because the core imports nothing of ours), and the reports and exports count the marks.

A separate command rather than a field of ``vote``: the vote is the hot path of the whole server, and a mark
is rare; the phone sends it right after the vote it belongs to.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from facilitation.core.command import PARTICIPANTS, Command, CommandSpec
from facilitation.core.events import OWN, Audience, Event, Fingerprint, Phones
from facilitation.core.fields import Field, bool_field, int_field
from facilitation.core.state import CommandRefused

if TYPE_CHECKING:
    from facilitation.core.meeting import Meeting

__all__ = ["IMPORTANCE_BOOST", "MARK", "Importance", "ImportanceMarked", "MarkImportant", "importance_factor"]

IMPORTANCE_BOOST = 1.0
"""As ``clustering.priorities.IMPORTANCE_BOOST`` (tests/core/test_importance.py holds the two equal)."""


def importance_factor(important: int, seen: int) -> float:
    """The routing weight's multiplier: ``(1 + IMPORTANCE_BOOST · important / (seen + 1))²``; 1 with no mark."""
    return (1.0 + IMPORTANCE_BOOST * important / (seen + 1.0)) ** 2


@dataclass
class Importance:
    """Who marked which statement important (participant sets by statement)."""

    key: ClassVar[str] = "importance"
    marks: dict[int, set[int]] = field(default_factory=dict)
    version: int = 0
    """Bumped on every change: the router's cached weights follow it."""

    def count(self, statement: int) -> int:
        return len(self.marks.get(statement, ()))

    def public(self) -> dict[str, Any]:
        return {"counts": {str(s): len(p) for s, p in sorted(self.marks.items()) if p}}

    def mine(self, participant: int) -> list[int]:
        """The statements one phone marked (its snapshot's ``you``)."""
        return sorted(s for s, people in self.marks.items() if participant in people)


@dataclass(frozen=True, slots=True)
class MarkImportant(Command):
    participant: int
    statement: int
    important: bool = True
    op: str = ""

    def actor(self) -> str:
        return str(self.participant)

    def fingerprint(self) -> Fingerprint:
        return ("important", self.statement, self.important)

    def unchanged(self, meeting: Meeting) -> dict[str, Any]:
        return {"statement": self.statement, "important": self.important}


@dataclass(frozen=True, slots=True)
class ImportanceMarked(Event):
    participant: int
    statement: int
    important: bool
    op: str = ""

    type: ClassVar[str] = "importance_marked"
    audience: ClassVar[tuple[Audience, ...]] = (Audience("importance_marked", phone=OWN, host="all"),)

    def evolve(self, meeting: Meeting) -> None:
        part = meeting.part(Importance)
        people = part.marks.setdefault(self.statement, set())
        if self.important:
            people.add(self.participant)
        else:
            people.discard(self.participant)
        part.version += 1

    def actor(self) -> str:
        return str(self.participant)

    def fingerprint(self) -> Fingerprint:
        return ("important", self.statement, self.important)

    def result(self) -> dict[str, Any]:
        return {"statement": self.statement, "important": self.important}

    def phones(self) -> Phones:
        return self.participant


def mark_important(meeting: Meeting, command: MarkImportant, now: float) -> list[Event]:
    meeting.require_participant(command.participant)
    meeting.require_phase("vote")
    if command.statement not in meeting.statements:
        raise CommandRefused("unknown_statement", f"no statement {command.statement}", status=404)
    if command.statement not in meeting.votes.get(command.participant, {}):
        raise CommandRefused("vote_first", f"vote on statement {command.statement} before marking it important")
    marked = command.participant in meeting.part(Importance).marks.get(command.statement, ())
    if marked == command.important:
        return []
    return [ImportanceMarked(meeting.next_seq(), now, command.participant, command.statement, command.important,
                             command.op)]


MARK = CommandSpec(
    "important",
    PARTICIPANTS,
    (Field("statement", int_field, required=True), Field("important", bool_field, required=True, example=True)),
    command=MarkImportant,
    handler=mark_important,
    events=(ImportanceMarked,),
    state=(Importance,),
)
