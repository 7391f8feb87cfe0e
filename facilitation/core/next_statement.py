"""Which statement a participant sees next.

Priority, in order (documented in docs/protocol.md, "Next statement"):

1. **New statements first.** An accepted statement with fewer than :data:`NEW_STATEMENT_VOTES` votes
   is still unknown to the map; the one with the fewest votes (then the oldest) comes first, so every
   fresh statement quickly gets enough votes to be placed.
2. **Then what the phone can settle** (issue 24, :mod:`facilitation.core.wanted`): an unsettled statement on
   which the participant's opinion group or stakeholder role is short of votes (the last analysis's
   ``needs``), the closest to settled first: their vote is the one that decides its lane.
3. **Then the informative ones.** Among the rest, a statement is drawn at random with weight equal to
   the clustering library's routing priority (Pol.is's importance x novelty boost, squared): statements
   that separate or unite the opinion groups are shown more, yet every phone does not see the same order,
   which would starve the tail of votes.

The random source (or its seed) is passed in, so the choice is reproducible in tests and the core stays pure.

:func:`next_statement` states the rule over an explicit candidate list; :class:`Router` makes the same
choice for a live room without scanning every statement on every vote (an ack carries the phone's next
statement, so this runs once per vote): it keeps the few statements that are still "new", draws from the
weighted accepted list by bisection and rejects what the phone already voted on (rejection sampling draws
exactly the weighted distribution over the unvoted ones), and only scans when most draws are rejected.
"""

from __future__ import annotations

import bisect
import itertools
import random
from collections.abc import Mapping, Sequence

from facilitation.core.commands.agenda import Agenda, current_statements, remaining_in_question
from facilitation.core.commands.importance import Importance, importance_factor
from facilitation.core.commands.rounds import due
from facilitation.core.commands.spotlight import spotlit
from facilitation.core.meeting import Meeting, Statement
from facilitation.core.state import StatementState
from facilitation.core.wanted import Wanted

__all__ = ["NEW_STATEMENT_VOTES", "Router", "next_statement", "settled_by", "uniform", "weight"]

NEW_STATEMENT_VOTES = 5
"""A statement with fewer votes than this is "new": it goes before any priority-ranked statement."""

DEFAULT_PRIORITY = 1.0
"""The weight of a statement the last analysis did not rank (it was posted after the analysis ran)."""


def next_statement(
    candidates: Sequence[Statement], priorities: Mapping[int, float], rng: random.Random | int
) -> Statement | None:
    """Which of ``candidates`` (the statements a participant has not voted on) to show next; None if empty."""
    if not candidates:
        return None
    fresh = [s for s in candidates if s.votes < NEW_STATEMENT_VOTES]
    if fresh:
        return min(fresh, key=_newness)
    weights = [max(priorities.get(s.id, DEFAULT_PRIORITY), 1e-6) for s in candidates]
    if isinstance(rng, int):
        cumulative = list(itertools.accumulate(weights))
        index = bisect.bisect_right(cumulative, uniform(rng, REJECTION_DRAWS) * cumulative[-1])
        return candidates[min(index, len(candidates) - 1)]
    return rng.choices(list(candidates), weights=weights, k=1)[0]


def _newness(statement: Statement) -> tuple[int, float, int]:
    return statement.votes, statement.created_at, statement.id


_MASK = (1 << 64) - 1
_GAMMA = 0x9E3779B97F4A7C15
_MIX1 = 0xBF58476D1CE4E5B9
_MIX2 = 0x94D049BB133111EB
_UNIT = float(1 << 53)


def uniform(seed: int, draw: int = 0) -> float:
    """A number in [0, 1) from (``seed``, ``draw``), the same on every run and machine (splitmix64's
    finaliser). Seeding a ``random.Random`` per vote cost more than the rest of the routing. (Inlined in
    :meth:`Router._draw`; a test checks both give the same numbers.)"""
    z = (seed * _GAMMA + (draw + 1) * _MIX1) & _MASK
    z = ((z ^ (z >> 30)) * _MIX1) & _MASK
    z = ((z ^ (z >> 27)) * _MIX2) & _MASK
    return ((z ^ (z >> 31)) >> 11) / _UNIT


REJECTION_DRAWS = 12
"""Weighted draws tried before falling back to a scan of the unvoted statements (a phone that voted on
most of them): with half the weight left, 12 draws all miss 1 time in 4,096."""


class Router:
    """:func:`next_statement` for one live meeting, in time independent of the number of statements.

    Caches are keyed on the meeting's accepted list and the priorities mapping (both replaced, never
    mutated, when they change), so the room never has to tell the router anything, and a meeting rebuilt
    from the log (a new object) simply misses the caches once.
    """

    def __init__(self) -> None:
        self._accepted: list[Statement] | None = None
        self._fresh: list[Statement] = []
        self._weights_for: tuple[list[Statement], Mapping[int, float], int] | None = None
        self._cumulative: list[float] = []

    def next_for(self, meeting: Meeting, participant: int, priorities: Mapping[int, float],
                 seed: int, wanted: Wanted | None = None) -> Statement | None:
        """The statement :func:`next_statement` would pick among ``participant``'s unvoted ones, after
        any unsettled statement ``wanted`` says the participant's group or role is short of votes on."""
        return self.offer(meeting, participant, priorities, seed, wanted)[0]

    def offer(self, meeting: Meeting, participant: int, priorities: Mapping[int, float],
              seed: int, wanted: Wanted | None = None) -> tuple[Statement | None, int]:
        """:meth:`next_for` and how many statements ``participant`` has left (with an agenda, of the current
        question): what every vote's ack carries, the agenda read once for both."""
        single = meeting.part(Agenda).single
        remaining = meeting.remaining(participant) if single else remaining_in_question(meeting, participant)
        again = due(meeting, participant)  # a round the host opened: vote again on its statements first
        if again is not None:
            return meeting.statements[again], remaining
        if not single:
            return self._in_question(meeting, participant, priorities, seed, wanted), remaining
        if remaining <= 0:
            return None, remaining
        return self._draw(meeting, participant, priorities, seed, wanted), remaining

    def _draw(self, meeting: Meeting, participant: int, priorities: Mapping[int, float],
              seed: int, wanted: Wanted | None) -> Statement | None:
        """Without an agenda or an open round, for a participant with statements left."""
        accepted = meeting.accepted_statements()
        mine = meeting.votes.get(participant, {})
        focus = spotlit(meeting)
        if focus is not None and focus not in mine:  # the host asked the whole room to look at this one
            statement = meeting.statements.get(focus)
            if statement is not None and statement.state is StatementState.ACCEPTED:
                return statement
        fresh = self._fresh_statements(accepted)
        if fresh:
            unvoted_fresh = [s for s in fresh if s.id not in mine]
            if unvoted_fresh:
                return min(unvoted_fresh, key=_newness)
        settles = settled_by(meeting, participant, wanted, None)
        if settles is not None:
            return settles
        importance = meeting.part(Importance)
        cumulative = self._weights(accepted, priorities, importance)
        total, last = cumulative[-1], len(accepted) - 1
        spread = seed * _GAMMA  # uniform(seed, draw), inlined: a draw per rejected statement, on every ack
        for draw in range(1, REJECTION_DRAWS + 1):
            z = (spread + draw * _MIX1) & _MASK
            z = ((z ^ (z >> 30)) * _MIX1) & _MASK
            z = ((z ^ (z >> 27)) * _MIX2) & _MASK
            index = bisect.bisect_right(cumulative, ((z ^ (z >> 31)) >> 11) / _UNIT * total)
            statement = accepted[index if index < last else last]
            if statement.id not in mine:
                return statement
        unvoted = meeting.unvoted(participant)
        if importance.marks:  # a rare scan: most draws were rejected, and someone marked something
            priorities = {s.id: weight(s, priorities, importance) for s in unvoted}
        return next_statement(unvoted, priorities, seed)

    def _in_question(self, meeting: Meeting, participant: int, priorities: Mapping[int, float],
                     seed: int, wanted: Wanted | None = None) -> Statement | None:
        """With an agenda, the same rule over the current question's unvoted statements (a scan per vote:
        a question holds tens of statements, not thousands)."""
        mine = meeting.votes.get(participant, {})
        candidates = [meeting.statements[s] for s in current_statements(meeting) if s not in mine]
        focus = spotlit(meeting)
        if focus is not None and any(s.id == focus for s in candidates):
            return meeting.statements[focus]
        if not any(s.votes < NEW_STATEMENT_VOTES for s in candidates):
            settles = settled_by(meeting, participant, wanted, {s.id for s in candidates})
            if settles is not None:
                return settles
        return next_statement(candidates, priorities, seed)

    def _fresh_statements(self, accepted: list[Statement]) -> list[Statement]:
        """Accepted statements with fewer than NEW_STATEMENT_VOTES votes. Votes only ever grow, so once
        built (when the accepted list changes) the list only loses members."""
        if accepted is not self._accepted:
            self._accepted = accepted
            self._fresh = [s for s in accepted if s.votes < NEW_STATEMENT_VOTES]
        elif self._fresh and any(s.votes >= NEW_STATEMENT_VOTES for s in self._fresh):
            self._fresh = [s for s in self._fresh if s.votes < NEW_STATEMENT_VOTES]
        return self._fresh

    def _weights(self, accepted: list[Statement], priorities: Mapping[int, float],
                 importance: Importance) -> list[float]:
        """Cumulative routing weights: the analysis's priority times the importance factor of the marks
        (rebuilt when the accepted list, the priorities or a mark changes; marks are rare)."""
        key = self._weights_for
        if key is None or key[0] is not accepted or key[1] is not priorities or key[2] != importance.version:
            self._weights_for = (accepted, priorities, importance.version)
            weights = (weight(s, priorities, importance) for s in accepted)
            self._cumulative = list(itertools.accumulate(weights))
        return self._cumulative


def settled_by(meeting: Meeting, participant: int, wanted: Wanted | None,
               among: set[int] | None) -> Statement | None:
    """The first unsettled statement (in ``wanted``'s order, closest to settled first) that ``participant``
    has not voted on and whose short groups or roles include theirs; None when there is none. ``among``
    limits it to a question's statements (an agenda)."""
    if wanted is None:
        return None
    person = meeting.participants.get(participant)
    role = person.role if person is not None else ""
    mine = meeting.votes.get(participant, {})
    for statement_id in wanted.for_participant(wanted.group_of.get(participant), role):
        if statement_id in mine or (among is not None and statement_id not in among):
            continue
        statement = meeting.statements.get(statement_id)
        if statement is not None and statement.state is StatementState.ACCEPTED:
            return statement
    return None


def weight(statement: Statement, priorities: Mapping[int, float], importance: Importance) -> float:
    """A statement's routing weight: its priority (the analysis's, or the default for one posted since)
    times :func:`~facilitation.core.commands.importance.importance_factor` of its "matters to me" marks."""
    base = max(priorities.get(statement.id, DEFAULT_PRIORITY), 1e-6)
    marks = importance.count(statement.id)
    return base * importance_factor(marks, statement.votes) if marks else base
