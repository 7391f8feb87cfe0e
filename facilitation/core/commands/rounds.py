"""Rounds and opinion shift (issue 23): after a discussion the host asks the room to vote again on a few
statements (say, the disputed lane), and the room sees what moved.

``round_open`` starts round 2 (then 3, ...) on a set of statements; ``round_close`` ends it. Round 1 is every
vote cast before the first ``round_open``: it needs no command. Nothing is ever deleted: each ``vote`` is in the
log as before, the meeting's ``votes`` stay each participant's latest (which the map and the lanes use), and
the round keeps two tables per statement, ``before`` (everyone's vote on it when the round opened) and
``after`` (the votes cast in the round, last one per participant), from which :func:`shift` counts who moved
from what to what, by stakeholder role; the opinion groups are the live analysis's, so the projector and the
export count the same tables by group.

Why a listener on votes instead of a second event per vote: the vote is the hot path, and the round's
``after`` table follows from the vote events already in the log (live and on replay alike), so storing it
twice would only double the log during a round (:attr:`Rounds.on_vote`).

While a round is open a phone that has not voted in it on one of its statements gets that statement next
(:class:`facilitation.core.next_statement.Router`), before anything else.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from facilitation.core.command import HOSTS, Command, CommandSpec
from facilitation.core.commands.agenda import check_current
from facilitation.core.events import ALL, Audience, Event, Fingerprint, VoteCast
from facilitation.core.fields import Field, int_field, list_field
from facilitation.core.state import CommandRefused, Phase, StatementState

if TYPE_CHECKING:
    from facilitation.core.meeting import Meeting

__all__ = [
    "MAX_ROUND_STATEMENTS",
    "ROUND_CLOSE",
    "ROUND_OPEN",
    "CloseRound",
    "OpenRound",
    "Round",
    "RoundClosed",
    "RoundOpened",
    "Rounds",
    "shift",
]

MAX_ROUND_STATEMENTS = 50
"""Statements one round may hold: a room re-votes on a lane after a discussion, not on the whole meeting."""
ROUND_PHASES = (Phase.COLLECTING, Phase.VOTING)


@dataclass
class Round:
    number: int
    statements: tuple[int, ...]
    opened_at: float
    before: dict[int, dict[int, str]]
    """statement -> participant -> their vote on it when the round opened (the earlier rounds' last word)."""
    after: dict[int, dict[int, str]] = field(default_factory=dict)
    """statement -> participant -> their last vote cast in this round."""
    closed_at: float | None = None

    def public(self) -> dict[str, Any]:
        return {"round": self.number, "statements": list(self.statements), "opened_at": self.opened_at,
                "closed_at": self.closed_at}

    def tables(self) -> dict[str, Any]:
        """Both tables with text keys (JSON)."""
        def text(table: dict[int, dict[int, str]]) -> dict[str, dict[str, str]]:
            return {str(s): {str(p): v for p, v in votes.items()} for s, votes in table.items()}

        return {**self.public(), "before": text(self.before), "after": text(self.after)}


@dataclass
class Rounds:
    key: ClassVar[str] = "rounds"
    rounds: list[Round] = field(default_factory=list)
    """Rounds 2, 3, ... in order (round 1 is the votes before the first)."""
    meeting: Meeting | None = field(default=None, repr=False, compare=False)

    @property
    def current(self) -> Round | None:
        last = self.rounds[-1] if self.rounds else None
        return last if last is not None and last.closed_at is None else None

    def public(self) -> dict[str, Any]:
        current = self.current
        return {"current": None if current is None else current.number,
                "rounds": [r.public() for r in self.rounds]}

    def screen(self) -> dict[str, Any] | None:
        """What the projector and the console start the open round's shift from: its tables and every
        participant's role (``{role: [participant, ...]}``); None without an open round."""
        current = self.current
        if current is None or self.meeting is None:
            return None
        return {**current.tables(), "roles": roles_of(self.meeting)}

    def on_vote(self, vote: VoteCast) -> None:
        """Every vote, live and on replay: a vote on a statement of the open round is that round's."""
        if not self.rounds:  # no round yet (most meetings): the whole cost of following votes
            return
        current = self.current
        if current is not None and vote.statement in current.before:
            current.after.setdefault(vote.statement, {})[vote.participant] = vote.value


def roles_of(meeting: Meeting) -> dict[str, list[int]]:
    roles: dict[str, list[int]] = {}
    for p in meeting.participants.values():
        roles.setdefault(p.role, []).append(p.id)
    return roles


def due(meeting: Meeting, participant: int) -> int | None:
    """The first statement of the open round ``participant`` has not voted on in it, if any (next card)."""
    current = meeting.part(Rounds).current
    if current is None:
        return None
    for sid in current.statements:
        if participant not in current.after.get(sid, {}):
            statement = meeting.statements.get(sid)
            if statement is not None and statement.state is StatementState.ACCEPTED:
                return sid
    return None


def shift(before: Mapping[int, str], after: Mapping[int, str],
          key_of: Callable[[int], str]) -> dict[str, dict[str, Any]]:
    """Who moved, by ``key_of(participant)`` (a role, an opinion group): for each key, the round's voters
    (``voted``), how many kept their vote (``kept``), came new (``new``: no vote before) and each move
    ``"from->to": count`` (``moved``). Only the round's voters count: someone who did not vote again did not
    move, and stays in ``before`` only."""
    out: dict[str, dict[str, Any]] = {}
    for participant, value in after.items():
        row = out.setdefault(key_of(participant), {"voted": 0, "kept": 0, "new": 0, "moved": {}})
        row["voted"] += 1
        earlier = before.get(participant)
        if earlier is None:
            row["new"] += 1
        elif earlier == value:
            row["kept"] += 1
        else:
            move = f"{earlier}->{value}"
            row["moved"][move] = row["moved"].get(move, 0) + 1
    return out


@dataclass(frozen=True, slots=True)
class OpenRound(Command):
    statements: list[int]
    op: str = ""

    def fingerprint(self) -> Fingerprint:
        return ("round_open", tuple(self.statements))


@dataclass(frozen=True, slots=True)
class CloseRound(Command):
    op: str = ""

    def fingerprint(self) -> Fingerprint:
        return ("round_close",)


@dataclass(frozen=True, slots=True)
class RoundOpened(Event):
    """Round ``round`` opens on ``statements`` (an open round is closed by it)."""

    round: int
    statements: list[int]
    op: str = ""

    type: ClassVar[str] = "round_opened"
    audience: ClassVar[tuple[Audience, ...]] = (Audience("round_opened", phone=ALL, projector=ALL, host=ALL),)

    def evolve(self, meeting: Meeting) -> None:
        rounds = meeting.part(Rounds)
        rounds.meeting = meeting
        current = rounds.current
        if current is not None:
            current.closed_at = self.at
        before: dict[int, dict[int, str]] = {sid: {} for sid in self.statements}
        for participant, mine in meeting.votes.items():
            for sid in self.statements:
                value = mine.get(sid)
                if value is not None:
                    before[sid][participant] = value
        rounds.rounds.append(Round(self.round, tuple(self.statements), self.at, before))

    def fingerprint(self) -> Fingerprint:
        return ("round_open", tuple(self.statements))

    def result(self) -> dict[str, Any]:
        return {"round": self.round, "statements": list(self.statements)}

    def view(self, role: str, participant: int | None, meeting: Meeting) -> dict[str, Any] | None:
        data = self.public()
        if role == "projector":
            data["screen"] = meeting.part(Rounds).screen()
        return data


@dataclass(frozen=True, slots=True)
class RoundClosed(Event):
    round: int
    op: str = ""

    type: ClassVar[str] = "round_closed"
    audience: ClassVar[tuple[Audience, ...]] = (Audience("round_closed", phone=ALL, projector=ALL, host=ALL),)

    def evolve(self, meeting: Meeting) -> None:
        current = meeting.part(Rounds).current
        if current is not None:
            current.closed_at = self.at

    def fingerprint(self) -> Fingerprint:
        return ("round_close",)

    def result(self) -> dict[str, Any]:
        return {"round": self.round}


def open_round(meeting: Meeting, command: OpenRound, now: float) -> list[Event]:
    if meeting.phase not in ROUND_PHASES:
        raise CommandRefused("phase_forbids", f"cannot open a round in phase {meeting.phase.value!r} (only during "
                                              "collecting or voting, when phones vote)", status=409)
    if not command.statements:
        raise CommandRefused("invalid_field", "a round needs at least one statement")
    if len(set(command.statements)) != len(command.statements):
        raise CommandRefused("invalid_field", "a round names each statement once")
    if len(command.statements) > MAX_ROUND_STATEMENTS:
        raise CommandRefused("invalid_field", f"a round holds at most {MAX_ROUND_STATEMENTS} statements")
    for sid in command.statements:
        statement = meeting.statements.get(sid)
        if statement is None:
            raise CommandRefused("unknown_statement", f"no statement {sid}", status=404)
        if statement.state is not StatementState.ACCEPTED:
            raise CommandRefused("not_votable", f"statement {sid} is {statement.state.value}, not open for votes")
        check_current(meeting, sid)  # with an agenda, a round is on the current question's statements
    number = len(meeting.part(Rounds).rounds) + 2
    return [RoundOpened(meeting.next_seq(), now, number, list(command.statements), command.op)]


def close_round(meeting: Meeting, command: CloseRound, now: float) -> list[Event]:
    current = meeting.part(Rounds).current
    if current is None:
        raise CommandRefused("no_change", "no round is open", status=409)
    return [RoundClosed(meeting.next_seq(), now, current.number, command.op)]


ROUND_OPEN = CommandSpec(
    "round_open", HOSTS,
    (Field("statements", list_field(int_field, MAX_ROUND_STATEMENTS), required=True, example=[0]),),
    command=OpenRound, handler=open_round, events=(RoundOpened,), state=(Rounds,),
)
ROUND_CLOSE = CommandSpec(
    "round_close", HOSTS, (), command=CloseRound, handler=close_round, events=(RoundClosed,), state=(Rounds,),
)
