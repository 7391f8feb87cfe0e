"""Time boxes: the host starts a countdown for the current phase (or question); when it ends the host is
prompted, and the meeting moves on by itself only if the host chose auto-advance at the start.

A timer is events, not a clock: ``timer_started`` records its deadline (``ends_at``, the server's time), so a
reconnecting phone, a restarted server, a room loaded again after eviction and a worker that takes the
meeting over all know it from the log. Nothing in the core waits: the owner of the meeting (the one writer,
:mod:`facilitation.live.timers`) sends ``timer_end`` at the deadline, the same command a host sends to end
a time box early. The end is refused unless that very timer is still running, so however many times it is
sent (a resend after a takeover, the host's click and the deadline at once) a timer ends exactly once.

Auto-advance moves the meeting one step on, recorded at the start as ``advance``: the next phase
(``advance_to: "phase"``, the default) or the agenda's next question (``"question"``), and only if the
meeting is still where the timer started: a host who moved on by hand meanwhile is not moved again.
Auto-advance to the next phase is refused in ``reviewing`` (the next step would close the meeting, which a
host does deliberately), to the next question on the agenda's last; every timer is refused in ``closed``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from facilitation.core.command import HOSTS, Command, CommandSpec
from facilitation.core.commands.agenda import Agenda, QuestionChanged
from facilitation.core.events import ALL, Audience, Event, Fingerprint, PhaseChanged
from facilitation.core.fields import Field, bool_field, choice_field, int_field
from facilitation.core.state import PHASE_ORDER, CommandRefused, Phase

if TYPE_CHECKING:
    from facilitation.core.meeting import Meeting

__all__ = [
    "MAX_TIMER_SECONDS",
    "MIN_TIMER_SECONDS",
    "TIMER_END",
    "TIMER_START",
    "TIMER_STOP",
    "EndTimer",
    "StartTimer",
    "StopTimer",
    "Timer",
    "TimerEnded",
    "TimerStarted",
    "TimerStopped",
]

MIN_TIMER_SECONDS = 10
MAX_TIMER_SECONDS = 4 * 3600
"""A time box from 10 seconds to 4 hours: longer is a meeting, not a time box."""


@dataclass
class Timer:
    """The meeting's time box: the running one, or the last one and how it finished."""

    key: ClassVar[str] = "timer"
    id: int = 0
    """0 before the first timer; then the seq of the ``timer_started`` event (unique, never reused)."""
    seconds: int = 0
    started_at: float = 0.0
    ends_at: float = 0.0
    auto_advance: bool = False
    phase: str = ""
    """The phase the timer was started in."""
    advance: dict[str, Any] = field(default_factory=dict)
    """Where auto-advance moves the meeting, e.g. ``{"phase": "voting"}``; empty without auto-advance."""
    state: str = ""
    """``running``, ``ended`` (time was up, or the host ended it), ``stopped`` (cancelled); "" before any."""
    finished_at: float = 0.0
    advanced: bool = False
    question: int = 0
    """The agenda's question the timer was started on."""

    @property
    def running(self) -> bool:
        return self.state == "running"

    def public(self) -> dict[str, Any] | None:
        if not self.id:
            return None
        return {"id": self.id, "seconds": self.seconds, "started_at": self.started_at, "ends_at": self.ends_at,
                "auto_advance": self.auto_advance, "phase": self.phase, "advance": dict(self.advance),
                "state": self.state, "finished_at": self.finished_at, "advanced": self.advanced,
                "question": self.question}


# ------------------------------------------------------------------ commands


@dataclass(frozen=True, slots=True)
class StartTimer(Command):
    seconds: int
    auto_advance: bool = False
    advance_to: str = "phase"
    """Where auto-advance goes: the next ``phase`` or the agenda's next ``question``."""
    op: str = ""

    def fingerprint(self) -> Fingerprint:
        return ("timer_start", self.seconds, self.auto_advance, self.advance_to if self.auto_advance else "")


@dataclass(frozen=True, slots=True)
class StopTimer(Command):
    op: str = ""

    def fingerprint(self) -> Fingerprint:
        return ("timer_stop",)


@dataclass(frozen=True, slots=True)
class EndTimer(Command):
    """Time is up (sent by the meeting's owner at the deadline), or the host ends the time box early."""

    timer: int
    op: str = ""

    def fingerprint(self) -> Fingerprint:
        return ("timer_end", self.timer)


# ------------------------------------------------------------------ events


def _audience(name: str) -> tuple[Audience, ...]:
    return (Audience(name, phone=ALL, projector=ALL, host=ALL),)


@dataclass(frozen=True, slots=True)
class TimerStarted(Event):
    timer: int
    seconds: int
    ends_at: float
    auto_advance: bool
    phase: str
    advance: dict[str, Any]
    op: str = ""
    question: int = 0

    type: ClassVar[str] = "timer_started"
    audience: ClassVar[tuple[Audience, ...]] = _audience("timer_started")

    def evolve(self, meeting: Meeting) -> None:
        meeting.parts[Timer] = Timer(self.timer, self.seconds, self.at, self.ends_at, self.auto_advance,
                                     self.phase, dict(self.advance), "running", question=self.question)

    def fingerprint(self) -> Fingerprint:
        to = ("question" if "question" in self.advance else "phase") if self.auto_advance else ""
        return ("timer_start", self.seconds, self.auto_advance, to)

    def result(self) -> dict[str, Any]:
        return {"timer": self.timer, "ends_at": self.ends_at}


@dataclass(frozen=True, slots=True)
class TimerStopped(Event):
    timer: int
    op: str = ""

    type: ClassVar[str] = "timer_stopped"
    audience: ClassVar[tuple[Audience, ...]] = _audience("timer_stopped")

    def evolve(self, meeting: Meeting) -> None:
        timer = meeting.part(Timer)
        if timer.id == self.timer:
            timer.state, timer.finished_at = "stopped", self.at

    def fingerprint(self) -> Fingerprint:
        return ("timer_stop",)

    def result(self) -> dict[str, Any]:
        return {"timer": self.timer, "state": "stopped"}


@dataclass(frozen=True, slots=True)
class TimerEnded(Event):
    """The time box is over: every screen says so, the host is prompted. ``advanced``: an auto-advance
    follows in the same command (its own event, e.g. ``phase_changed``)."""

    timer: int
    advanced: bool
    op: str = ""

    type: ClassVar[str] = "timer_ended"
    audience: ClassVar[tuple[Audience, ...]] = _audience("timer_ended")

    def evolve(self, meeting: Meeting) -> None:
        timer = meeting.part(Timer)
        if timer.id == self.timer:
            timer.state, timer.finished_at, timer.advanced = "ended", self.at, self.advanced

    def fingerprint(self) -> Fingerprint:
        return ("timer_end", self.timer)

    def result(self) -> dict[str, Any]:
        return {"timer": self.timer, "state": "ended", "advanced": self.advanced}


# ------------------------------------------------------------------ handlers


def _advance_target(meeting: Meeting, advance_to: str) -> dict[str, Any]:
    """Where auto-advance would move the meeting now: the next phase (never ``closed``) or the next question."""
    if advance_to == "question":
        agenda = meeting.part(Agenda)
        if agenda.current + 1 >= len(agenda.questions):
            raise CommandRefused("unknown_question",
                                 f"cannot auto-advance: question {agenda.current + 1} is the agenda's last", status=409)
        return {"question": agenda.current + 1}
    here = PHASE_ORDER.index(meeting.phase)
    following = PHASE_ORDER[here + 1] if here + 1 < len(PHASE_ORDER) else None
    if following is None or following is Phase.CLOSED:
        raise CommandRefused(
            "phase_forbids",
            f"cannot auto-advance from phase {meeting.phase.value!r}: the next step closes the meeting; "
            "start the timer without auto-advance and close it yourself",
            status=409,
        )
    return {"phase": following.value}


def start_timer(meeting: Meeting, command: StartTimer, now: float) -> list[Event]:
    if meeting.phase is Phase.CLOSED:
        raise CommandRefused("phase_forbids", "cannot start a timer in phase 'closed'", status=409)
    if not MIN_TIMER_SECONDS <= command.seconds <= MAX_TIMER_SECONDS:
        raise CommandRefused(
            "invalid_field", f"seconds must be from {MIN_TIMER_SECONDS} to {MAX_TIMER_SECONDS}, not {command.seconds}")
    advance = _advance_target(meeting, command.advance_to) if command.auto_advance else {}
    seq = meeting.next_seq()
    return [TimerStarted(seq, now, seq, command.seconds, now + command.seconds, command.auto_advance,
                         meeting.phase.value, advance, command.op, meeting.part(Agenda).current)]


def _running(meeting: Meeting, action: str) -> Timer:
    timer = meeting.part(Timer)
    if not timer.running:
        raise CommandRefused("no_timer", f"cannot {action} a timer: none is running", status=409)
    return timer


def stop_timer(meeting: Meeting, command: StopTimer, now: float) -> list[Event]:
    timer = _running(meeting, "stop")
    return [TimerStopped(meeting.next_seq(), now, timer.id, command.op)]


def end_timer(meeting: Meeting, command: EndTimer, now: float) -> list[Event]:
    timer = _running(meeting, "end")
    if timer.id != command.timer:
        raise CommandRefused("no_timer", f"timer {command.timer} is not running (timer {timer.id} is)",
                             status=409)
    agenda = meeting.part(Agenda)
    phase = timer.advance.get("phase") if timer.auto_advance else None
    question = timer.advance.get("question") if timer.auto_advance else None
    if phase is not None:
        advance = meeting.phase.value == timer.phase
    else:
        advance = question is not None and agenda.current == timer.question and question < len(agenda.questions)
    seq = meeting.next_seq()
    events: list[Event] = [TimerEnded(seq, now, timer.id, advance, command.op)]
    if advance and phase is not None:
        events.append(PhaseChanged(seq + 1, now, meeting.phase.value, str(phase)))
    elif advance:
        first = max(meeting.statements, default=-1) + 1
        events.append(QuestionChanged(seq + 1, now, agenda.current, int(question or 0), first))
    return events


TIMER_START = CommandSpec(
    "timer_start", HOSTS,
    (Field("seconds", int_field, required=True, example=60), Field("auto_advance", bool_field, example=False),
     Field("advance_to", choice_field(("phase", "question")), example="phase")),
    command=StartTimer, handler=start_timer, events=(TimerStarted,), state=(Timer,),
)
TIMER_STOP = CommandSpec("timer_stop", HOSTS, (), command=StopTimer, handler=stop_timer, events=(TimerStopped,),
                         state=(Timer,))
TIMER_END = CommandSpec(
    "timer_end", HOSTS, (Field("timer", int_field, required=True, example=1),),
    command=EndTimer, handler=end_timer, events=(TimerEnded, PhaseChanged, QuestionChanged), state=(Timer,),
)
