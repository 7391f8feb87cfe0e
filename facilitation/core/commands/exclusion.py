"""Leaving a participant out of the analysis (issue 24): the host's answer to a voting-quality flag.

``clustering.quality`` flags people who give the same answer to nearly everything or vote faster than the
cards can be read. A flag is a question, never a verdict: the host looks at the counts and may exclude the
participant from the analysis (``analysis_exclude``, ``excluded: true``), and take it back (``false``).

Excluding changes only what the analysis sees: the live analysis drops the person's votes from its next run
(facilitation/analysis/scheduler.py), so the map, the opinion groups, the lanes and the routing follow the
others. Their votes stay in the meeting, in its log and in the exports (which say they were excluded), and
the phone is told nothing: it votes on as before. Who is excluded is the host's alone to see (the host's
snapshot and the ``analysis_excluded`` event); every other client sees only how many are (``meeting.
exclusion.count``), so a figure on the projector that counts fewer voters than joined is explained.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from facilitation.core.command import HOSTS, Command, CommandSpec
from facilitation.core.events import ALL, Audience, Event, Fingerprint
from facilitation.core.fields import Field, bool_field, int_field
from facilitation.core.state import CommandRefused, Phase

if TYPE_CHECKING:
    from facilitation.core.meeting import Meeting

__all__ = ["EXCLUDE", "AnalysisExcluded", "ExcludeFromAnalysis", "Exclusion", "excluded"]


@dataclass
class Exclusion:
    """The participants the host left out of the analysis."""

    key: ClassVar[str] = "exclusion"
    participants: set[int] = field(default_factory=set)

    def public(self) -> dict[str, Any]:
        """Only the count: who was excluded is the host's to know (see the module's docstring)."""
        return {"count": len(self.participants)}


def excluded(meeting: Meeting) -> frozenset[int]:
    """Who the analysis leaves out (the scheduler's jobs and the exports read this)."""
    return frozenset(meeting.part(Exclusion).participants)


@dataclass(frozen=True, slots=True)
class ExcludeFromAnalysis(Command):
    participant: int
    excluded: bool = True
    op: str = ""

    def fingerprint(self) -> Fingerprint:
        return ("analysis_exclude", self.participant, self.excluded)


@dataclass(frozen=True, slots=True)
class AnalysisExcluded(Event):
    """A participant left out of the analysis (``excluded``) or brought back into it."""

    participant: int
    excluded: bool
    op: str = ""

    type: ClassVar[str] = "analysis_excluded"
    audience: ClassVar[tuple[Audience, ...]] = (Audience("analysis_excluded", host=ALL),)

    def evolve(self, meeting: Meeting) -> None:
        people = meeting.part(Exclusion).participants
        if self.excluded:
            people.add(self.participant)
        else:
            people.discard(self.participant)

    def fingerprint(self) -> Fingerprint:
        return ("analysis_exclude", self.participant, self.excluded)

    def result(self) -> dict[str, Any]:
        return {"participant": self.participant, "excluded": self.excluded}


def exclude_from_analysis(meeting: Meeting, command: ExcludeFromAnalysis, now: float) -> list[Event]:
    if meeting.phase is Phase.CLOSED:
        raise CommandRefused("phase_forbids", "the meeting is closed: its analysis is final, nobody can be "
                                              "excluded from it or brought back", status=409)
    meeting.require_participant(command.participant)
    if (command.participant in meeting.part(Exclusion).participants) == command.excluded:
        state = "already excluded from" if command.excluded else "not excluded from"
        raise CommandRefused("no_change", f"participant {command.participant} is {state} the analysis", status=409)
    return [AnalysisExcluded(meeting.next_seq(), now, command.participant, command.excluded, command.op)]


EXCLUDE = CommandSpec(
    "analysis_exclude", HOSTS,
    (Field("participant", int_field, required=True, example=1),
     Field("excluded", bool_field, required=True, example=True)),
    command=ExcludeFromAnalysis, handler=exclude_from_analysis, events=(AnalysisExcluded,), state=(Exclusion,),
    build=lambda a: ExcludeFromAnalysis(a.fields["participant"], a.fields["excluded"], a.op),  # the host names who
)
