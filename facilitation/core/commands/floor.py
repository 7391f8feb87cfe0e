"""A speaking queue that lets every side be heard (issue 23): ``floor_ask`` and ``floor_withdraw`` (a phone),
``floor_give`` and ``floor_end`` (the host).

A phone asks for the floor with its stakeholder role; the console orders the queue so that roles and opinion
groups not heard yet come first (:func:`order`; the groups are the live analysis's, so the console passes
them in), and the host gives the floor to whoever it chooses, first in that order or not. Every turn is kept
with its speaker's role and its start and end, so the record can say how many turns and how much time each
role and each group had, and which roles present never spoke.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from facilitation.core.command import HOSTS, PARTICIPANTS, Command, CommandSpec
from facilitation.core.events import ALL, OWN, Audience, Event, Fingerprint
from facilitation.core.fields import Field, int_field
from facilitation.core.state import CommandRefused, Phase

if TYPE_CHECKING:
    from facilitation.core.meeting import Meeting

__all__ = ["FLOOR_ASK", "FLOOR_END", "FLOOR_GIVE", "FLOOR_WITHDRAW", "Floor", "order"]


@dataclass
class Floor:
    key: ClassVar[str] = "floor"
    queue: list[dict[str, Any]] = field(default_factory=list)
    """Who asked, in asking order: ``{participant, role, asked_at}``."""
    speaking: dict[str, Any] | None = None
    """``{participant, role, since}`` while someone has the floor."""
    turns: list[dict[str, Any]] = field(default_factory=list)
    """Every finished turn: ``{participant, role, started_at, ended_at}``."""

    def public(self) -> dict[str, Any]:
        return {"queue": list(self.queue), "speaking": self.speaking, "turns": len(self.turns),
                "heard": heard(self.turns, lambda t: t["role"])}

    def queued(self, participant: int) -> bool:
        return any(q["participant"] == participant for q in self.queue)

    def finish(self, at: float) -> None:
        if self.speaking is not None:
            self.turns.append({"participant": self.speaking["participant"], "role": self.speaking["role"],
                               "started_at": self.speaking["since"], "ended_at": at})
            self.speaking = None


def heard(turns: list[dict[str, Any]], key_of: Callable[[dict[str, Any]], str]) -> dict[str, int]:
    """Turns so far by ``key_of(turn)``."""
    counts: dict[str, int] = {}
    for turn in turns:
        key = key_of(turn)
        counts[key] = counts.get(key, 0) + 1
    return counts


def order(queue: list[dict[str, Any]], turns: list[dict[str, Any]],
          group_of: Mapping[int, str]) -> list[dict[str, Any]]:
    """The queue with the least heard first: fewest turns of the asker's role so far, then of their opinion
    group (``group_of``; "" for people the map has not placed), then who asked first."""
    by_role = heard(turns, lambda t: t["role"])
    by_group = heard(turns, lambda t: group_of.get(t["participant"], ""))
    return sorted(queue, key=lambda q: (by_role.get(q["role"], 0),
                                        by_group.get(group_of.get(q["participant"], ""), 0), q["asked_at"]))


@dataclass(frozen=True, slots=True)
class AskFloor(Command):
    participant: int
    op: str = ""

    def actor(self) -> str:
        return str(self.participant)

    def fingerprint(self) -> Fingerprint:
        return ("floor_ask",)


@dataclass(frozen=True, slots=True)
class WithdrawFloor(Command):
    participant: int
    op: str = ""

    def actor(self) -> str:
        return str(self.participant)

    def fingerprint(self) -> Fingerprint:
        return ("floor_withdraw",)


@dataclass(frozen=True, slots=True)
class GiveFloor(Command):
    participant: int
    op: str = ""

    def fingerprint(self) -> Fingerprint:
        return ("floor_give", self.participant)


@dataclass(frozen=True, slots=True)
class EndFloor(Command):
    op: str = ""

    def fingerprint(self) -> Fingerprint:
        return ("floor_end",)


@dataclass(frozen=True, slots=True)
class FloorAsked(Event):
    participant: int
    role: str
    op: str = ""

    type: ClassVar[str] = "floor_asked"
    audience: ClassVar[tuple[Audience, ...]] = (Audience("floor_asked", phone=OWN, projector=ALL, host=ALL),)

    def evolve(self, meeting: Meeting) -> None:
        meeting.part(Floor).queue.append({"participant": self.participant, "role": self.role, "asked_at": self.at})

    def actor(self) -> str:
        return str(self.participant)

    def fingerprint(self) -> Fingerprint:
        return ("floor_ask",)

    def result(self) -> dict[str, Any]:
        return {"participant": self.participant}


@dataclass(frozen=True, slots=True)
class FloorWithdrawn(Event):
    participant: int
    op: str = ""

    type: ClassVar[str] = "floor_withdrawn"
    audience: ClassVar[tuple[Audience, ...]] = (Audience("floor_withdrawn", phone=OWN, projector=ALL, host=ALL),)

    def evolve(self, meeting: Meeting) -> None:
        floor = meeting.part(Floor)
        floor.queue = [q for q in floor.queue if q["participant"] != self.participant]

    def actor(self) -> str:
        return str(self.participant)

    def fingerprint(self) -> Fingerprint:
        return ("floor_withdraw",)

    def result(self) -> dict[str, Any]:
        return {"participant": self.participant}


@dataclass(frozen=True, slots=True)
class FloorGiven(Event):
    """``participant`` has the floor (whoever had it finished); they leave the queue."""

    participant: int
    role: str
    op: str = ""

    type: ClassVar[str] = "floor_given"
    audience: ClassVar[tuple[Audience, ...]] = (Audience("floor_given", phone=ALL, projector=ALL, host=ALL),)

    def evolve(self, meeting: Meeting) -> None:
        floor = meeting.part(Floor)
        floor.finish(self.at)
        floor.queue = [q for q in floor.queue if q["participant"] != self.participant]
        floor.speaking = {"participant": self.participant, "role": self.role, "since": self.at}

    def fingerprint(self) -> Fingerprint:
        return ("floor_give", self.participant)

    def result(self) -> dict[str, Any]:
        return {"participant": self.participant}


@dataclass(frozen=True, slots=True)
class FloorEnded(Event):
    participant: int
    op: str = ""

    type: ClassVar[str] = "floor_ended"
    audience: ClassVar[tuple[Audience, ...]] = (Audience("floor_ended", phone=ALL, projector=ALL, host=ALL),)

    def evolve(self, meeting: Meeting) -> None:
        meeting.part(Floor).finish(self.at)

    def fingerprint(self) -> Fingerprint:
        return ("floor_end",)

    def result(self) -> dict[str, Any]:
        return {"participant": self.participant}


def _open(meeting: Meeting, what: str) -> None:
    if meeting.phase is Phase.CLOSED:
        raise CommandRefused("phase_forbids", f"cannot {what} in phase 'closed'", status=409)


def ask(meeting: Meeting, command: AskFloor, now: float) -> list[Event]:
    meeting.require_participant(command.participant)
    _open(meeting, "ask for the floor")
    floor = meeting.part(Floor)
    if floor.queued(command.participant):
        raise CommandRefused("no_change", "you are already in the speaking queue", status=409)
    if floor.speaking is not None and floor.speaking["participant"] == command.participant:
        raise CommandRefused("no_change", "you have the floor now", status=409)
    role = meeting.participants[command.participant].role
    return [FloorAsked(meeting.next_seq(), now, command.participant, role, command.op)]


def withdraw(meeting: Meeting, command: WithdrawFloor, now: float) -> list[Event]:
    meeting.require_participant(command.participant)
    if not meeting.part(Floor).queued(command.participant):
        raise CommandRefused("no_change", "you are not in the speaking queue", status=409)
    return [FloorWithdrawn(meeting.next_seq(), now, command.participant, command.op)]


def give(meeting: Meeting, command: GiveFloor, now: float) -> list[Event]:
    _open(meeting, "give the floor")
    meeting.require_participant(command.participant)
    floor = meeting.part(Floor)
    if not floor.queued(command.participant):
        raise CommandRefused("not_queued", f"participant {command.participant} has not asked for the floor",
                             status=409)
    role = meeting.participants[command.participant].role
    return [FloorGiven(meeting.next_seq(), now, command.participant, role, command.op)]


def end(meeting: Meeting, command: EndFloor, now: float) -> list[Event]:
    speaking = meeting.part(Floor).speaking
    if speaking is None:
        raise CommandRefused("no_change", "nobody has the floor", status=409)
    return [FloorEnded(meeting.next_seq(), now, int(speaking["participant"]), command.op)]


FLOOR_ASK = CommandSpec("floor_ask", PARTICIPANTS, (), command=AskFloor, handler=ask, events=(FloorAsked,),
                        state=(Floor,))
FLOOR_WITHDRAW = CommandSpec("floor_withdraw", PARTICIPANTS, (), command=WithdrawFloor, handler=withdraw,
                             events=(FloorWithdrawn,), state=(Floor,))
FLOOR_GIVE = CommandSpec("floor_give", HOSTS, (Field("participant", int_field, required=True, example=0),),
                         command=GiveFloor, handler=give, events=(FloorGiven,), state=(Floor,),
                         build=lambda a: GiveFloor(a.fields["participant"], a.op))  # the host names who speaks
FLOOR_END = CommandSpec("floor_end", HOSTS, (), command=EndFloor, handler=end, events=(FloorEnded,), state=(Floor,))
