"""The host moves the meeting through its phases: ``phase``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from facilitation.core.command import HOSTS, Command, CommandSpec
from facilitation.core.events import Event, Fingerprint, PhaseChanged
from facilitation.core.fields import WORD, Field
from facilitation.core.state import PHASE_ORDER, CommandRefused, Phase

if TYPE_CHECKING:
    from facilitation.core.meeting import Meeting

__all__ = ["PHASE", "SetPhase"]


@dataclass(frozen=True, slots=True)
class SetPhase(Command):
    phase: str
    op: str = ""

    def fingerprint(self) -> Fingerprint:
        return ("phase", self.phase)


def set_phase(meeting: Meeting, command: SetPhase, now: float) -> list[Event]:
    """Forward one phase at a time, back to any earlier one; the message names where the meeting is."""
    try:
        target = Phase(command.phase)
    except ValueError:
        names = ", ".join(p.value for p in Phase)
        raise CommandRefused("invalid_phase", f"unknown phase {command.phase!r} (one of {names})") from None
    here = PHASE_ORDER.index(meeting.phase)
    there = PHASE_ORDER.index(target)
    if there == here:
        raise CommandRefused("no_change", f"the meeting is already in phase {meeting.phase.value!r}", status=409)
    if there > here + 1:
        raise CommandRefused(
            "illegal_transition",
            f"cannot go from phase {meeting.phase.value!r} to {target.value!r}: "
            f"move forward one phase at a time (next is {PHASE_ORDER[here + 1].value!r})",
            status=409,
        )
    return [PhaseChanged(meeting.next_seq(), now, meeting.phase.value, target.value, command.op)]


PHASE = CommandSpec("phase", HOSTS, (Field("phase", WORD, required=True),), command=SetPhase, handler=set_phase,
                    events=(PhaseChanged,))
