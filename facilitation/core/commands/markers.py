"""Markers for the stenographer: the host's (or recorder's) ``mark`` during the meeting.

A transcript has no times. To place it among the meeting's events exactly, the host sets a numbered marker at
a moment (optionally labelled, say "休息後"), the console shows its number, and the stenographer types the same
number into the transcript as a line ``〔標記 3〕``. The record (facilitation/export/record.py) then ties that
point of the text to that moment; everything else is placed by matching and by length.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from facilitation.core.command import HOSTS, Command, CommandSpec
from facilitation.core.events import ALL, Audience, Event, Fingerprint
from facilitation.core.fields import Field, text_field
from facilitation.core.state import CommandRefused, Phase

if TYPE_CHECKING:
    from facilitation.core.meeting import Meeting

__all__ = ["MARK", "MAX_LABEL_CHARS", "MarkerSet", "Markers", "SetMarker"]

MAX_LABEL_CHARS = 40


@dataclass
class Markers:
    """The markers set so far: (number, time, label), numbered 1, 2, 3, ..."""

    key: ClassVar[str] = "markers"
    placed: list[tuple[int, float, str]] = field(default_factory=list)

    def public(self) -> dict[str, int]:
        return {"count": len(self.placed)}


@dataclass(frozen=True, slots=True)
class SetMarker(Command):
    label: str = ""
    op: str = ""

    def fingerprint(self) -> Fingerprint:
        return ("mark", self.label)


@dataclass(frozen=True, slots=True)
class MarkerSet(Event):
    number: int
    label: str
    op: str = ""

    type: ClassVar[str] = "marker_set"
    audience: ClassVar[tuple[Audience, ...]] = (Audience("marker_set", host=ALL),)

    def evolve(self, meeting: Meeting) -> None:
        meeting.part(Markers).placed.append((self.number, self.at, self.label))

    def fingerprint(self) -> Fingerprint:
        return ("mark", self.label)

    def result(self) -> dict[str, Any]:
        return {"number": self.number}


def mark(meeting: Meeting, command: SetMarker, now: float) -> list[Event]:
    if meeting.phase is Phase.CLOSED:
        raise CommandRefused("phase_forbids", "cannot set a marker in phase 'closed': markers place the "
                                              "transcript of a running meeting", status=409)
    number = len(meeting.part(Markers).placed) + 1
    return [MarkerSet(meeting.next_seq(), now, number, command.label.strip(), command.op)]


MARK = CommandSpec("mark", HOSTS, (Field("label", text_field(MAX_LABEL_CHARS), example="休息後"),),
                   command=SetMarker, handler=mark, events=(MarkerSet,), state=(Markers,))
