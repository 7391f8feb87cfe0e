"""The spotlight (issue 23): the host puts one statement before the whole room, "let's discuss this one".

``spotlight`` puts a statement on the projector and every phone, optionally with a countdown; ``spotlight_end``
takes it down. While it is up, a phone that has not voted on it gets it as its next card
(:class:`facilitation.core.next_statement.Router`), and the projector shows its tally by opinion group and by
stakeholder role.

Why the countdown is a field of the spotlight and not a timer of its own: a spotlight's time box starts and
ends with it, so one event says both, and a replay rebuilds it exactly. The deadline is the server's clock
(seconds since the epoch); a page turns it into "0:25 left" with its own estimate of how far its clock is
from the server's (the snapshot's ``now``, an event's ``at``). Nothing happens by itself when it runs out:
the host ends the spotlight.

Why the projector is sent who voted what and everyone's role when a spotlight starts (:func:`screen`):
the opinion groups are the live analysis's (the projector's map knows each participant's group), and the
projector's stream of ``vote`` events names the voter; with the voters' values and the roles it keeps a
per-participant table that later ``vote`` events overwrite, so a tally can never count a vote twice, and
every figure it shows is a count of that table. Phones get none of it: the spotlight's public state is four
numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from facilitation.core.command import HOSTS, Command, CommandSpec
from facilitation.core.commands.agenda import check_current
from facilitation.core.errors import ProtocolError
from facilitation.core.events import ALL, Audience, Event, Fingerprint
from facilitation.core.fields import Check, Field, int_field
from facilitation.core.state import CommandRefused, Phase, StatementState

if TYPE_CHECKING:
    from facilitation.core.meeting import Meeting

__all__ = [
    "MAX_SPOTLIGHT_SECONDS",
    "MIN_SPOTLIGHT_SECONDS",
    "SPOTLIGHT",
    "SPOTLIGHT_END",
    "EndSpotlight",
    "Spotlight",
    "SpotlightEnded",
    "SpotlightStarted",
    "StartSpotlight",
    "screen",
    "spotlit",
]

MAX_SPOTLIGHT_SECONDS = 3600
"""The longest countdown a spotlight may carry: an hour on one statement is already a whole session."""
MIN_SPOTLIGHT_SECONDS = 10
"""The shortest: a countdown is a time box for talk, and under ten seconds nobody can say anything."""
SPOTLIGHT_PHASES = (Phase.COLLECTING, Phase.VOTING)
"""A spotlight asks the room to vote on it: only in the phases where phones may vote."""


def seconds_field(value: Any, name: str) -> int:
    """A countdown's length, :data:`MIN_SPOTLIGHT_SECONDS` to :data:`MAX_SPOTLIGHT_SECONDS` (a spotlight
    without a countdown leaves the field out)."""
    seconds = int_field(value, name)
    if not MIN_SPOTLIGHT_SECONDS <= seconds <= MAX_SPOTLIGHT_SECONDS:
        raise ProtocolError("invalid_field", f"{name!r} is {MIN_SPOTLIGHT_SECONDS} to {MAX_SPOTLIGHT_SECONDS} "
                                             "seconds (leave it out for no countdown)")
    return seconds


SECONDS: Check = seconds_field


@dataclass
class Spotlight:
    """The statement in the spotlight (None when there is none) and every spotlight so far, for the record."""

    key: ClassVar[str] = "spotlight"
    statement: int | None = None
    started_at: float = 0.0
    seconds: int = 0
    deadline: float = 0.0
    """The countdown's end on the server's clock (seconds since the epoch), 0 without a countdown."""
    history: list[dict[str, Any]] = field(default_factory=list)
    """Past spotlights, oldest first: ``{statement, started_at, ended_at, seconds}``."""
    meeting: Meeting | None = field(default=None, repr=False, compare=False)
    """The meeting this state belongs to, set when a spotlight starts: :meth:`screen` counts its voters."""

    def public(self) -> dict[str, Any]:
        return {"statement": self.statement, "started_at": self.started_at, "seconds": self.seconds,
                "deadline": self.deadline}

    def screen(self) -> dict[str, Any] | None:
        """What a projector or a console starts a spotlight's tally from (see the module's docstring), in
        their snapshots' ``screens`` (:func:`facilitation.core.views.screens`); None without a spotlight."""
        if self.statement is None or self.meeting is None:
            return None
        return screen(self.meeting, self.statement)

    def close(self, at: float) -> None:
        if self.statement is not None:
            self.history.append({"statement": self.statement, "started_at": self.started_at, "ended_at": at,
                                 "seconds": self.seconds})
        self.statement, self.started_at, self.seconds, self.deadline = None, 0.0, 0, 0.0


def spotlit(meeting: Meeting) -> int | None:
    """The statement in the spotlight, if any (the next-card rule reads this on every vote)."""
    return meeting.part(Spotlight).statement


def screen(meeting: Meeting, statement: int) -> dict[str, Any]:
    """The spotlighted statement's voters and everyone's role: ``{statement, voters: {participant: value},
    roles: {role: [participant, ...]}}`` (role "" for people who gave none). A scan of the participants,
    made once per spotlight and per projector snapshot, never per vote."""
    voters: dict[str, str] = {}
    for participant, mine in meeting.votes.items():
        value = mine.get(statement)
        if value is not None:
            voters[str(participant)] = value
    roles: dict[str, list[int]] = {}
    for p in meeting.participants.values():
        roles.setdefault(p.role, []).append(p.id)
    return {"statement": statement, "voters": voters, "roles": roles}


@dataclass(frozen=True, slots=True)
class StartSpotlight(Command):
    statement: int
    seconds: int = 0
    op: str = ""

    def fingerprint(self) -> Fingerprint:
        return ("spotlight", self.statement, self.seconds)


@dataclass(frozen=True, slots=True)
class EndSpotlight(Command):
    op: str = ""

    def fingerprint(self) -> Fingerprint:
        return ("spotlight_end",)


@dataclass(frozen=True, slots=True)
class SpotlightStarted(Event):
    """A statement is in the spotlight (a spotlight already up is ended by this one)."""

    statement: int
    seconds: int
    deadline: float
    """The countdown's end on the server's clock, 0 without one."""
    op: str = ""

    type: ClassVar[str] = "spotlight_started"
    audience: ClassVar[tuple[Audience, ...]] = (
        Audience("spotlight_started", phone=ALL, projector=ALL, host=ALL),
    )

    def evolve(self, meeting: Meeting) -> None:
        spot = meeting.part(Spotlight)
        spot.close(self.at)
        spot.meeting = meeting
        spot.statement, spot.started_at, spot.seconds, spot.deadline = (self.statement, self.at, self.seconds,
                                                                        self.deadline)

    def fingerprint(self) -> Fingerprint:
        return ("spotlight", self.statement, self.seconds)

    def result(self) -> dict[str, Any]:
        return {"statement": self.statement, "deadline": self.deadline}

    def view(self, role: str, participant: int | None, meeting: Meeting) -> dict[str, Any] | None:
        data = self.public()
        if role == "projector":
            data["screen"] = screen(meeting, self.statement)
        return data


@dataclass(frozen=True, slots=True)
class SpotlightEnded(Event):
    statement: int
    op: str = ""

    type: ClassVar[str] = "spotlight_ended"
    audience: ClassVar[tuple[Audience, ...]] = (Audience("spotlight_ended", phone=ALL, projector=ALL, host=ALL),)

    def evolve(self, meeting: Meeting) -> None:
        meeting.part(Spotlight).close(self.at)

    def fingerprint(self) -> Fingerprint:
        return ("spotlight_end",)

    def result(self) -> dict[str, Any]:
        return {"statement": self.statement}


def start_spotlight(meeting: Meeting, command: StartSpotlight, now: float) -> list[Event]:
    if meeting.phase not in SPOTLIGHT_PHASES:
        raise CommandRefused("phase_forbids", f"cannot spotlight a statement in phase {meeting.phase.value!r} "
                                              "(only during collecting or voting, when phones vote)", status=409)
    statement = meeting.statements.get(command.statement)
    if statement is None:
        raise CommandRefused("unknown_statement", f"no statement {command.statement}", status=404)
    if statement.state is not StatementState.ACCEPTED:
        raise CommandRefused("not_votable", f"statement {statement.id} is {statement.state.value}, not open for "
                                            "votes: it cannot be spotlighted")
    check_current(meeting, statement.id)  # with an agenda, phones vote within the current question only
    if command.seconds and not MIN_SPOTLIGHT_SECONDS <= command.seconds <= MAX_SPOTLIGHT_SECONDS:
        raise CommandRefused("invalid_field", f"'seconds' is {MIN_SPOTLIGHT_SECONDS} to {MAX_SPOTLIGHT_SECONDS}, "
                                              "or 0 for no countdown")
    deadline = round(now + command.seconds, 3) if command.seconds else 0.0
    return [SpotlightStarted(meeting.next_seq(), now, statement.id, command.seconds, deadline, command.op)]


def end_spotlight(meeting: Meeting, command: EndSpotlight, now: float) -> list[Event]:
    statement = spotlit(meeting)
    if statement is None:
        raise CommandRefused("no_change", "no statement is in the spotlight", status=409)
    return [SpotlightEnded(meeting.next_seq(), now, statement, command.op)]


SPOTLIGHT = CommandSpec(
    "spotlight", HOSTS,
    (Field("statement", int_field, required=True), Field("seconds", SECONDS, example=30)),
    command=StartSpotlight, handler=start_spotlight, events=(SpotlightStarted,), state=(Spotlight,),
)
SPOTLIGHT_END = CommandSpec(
    "spotlight_end", HOSTS, (), command=EndSpotlight, handler=end_spotlight, events=(SpotlightEnded,),
    state=(Spotlight,),
)
