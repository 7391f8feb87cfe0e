"""What still needs votes, in the exports (issue 24): the console's "needs 3 more 攤商 votes", for every report.

The figures come from the function that gives the console its list (``clustering.readiness.shortfalls``,
which ``facilitation.analysis.worker.needs_votes`` calls on each run and :mod:`facilitation.core.wanted`
reads for routing), called the way the worker calls it: the analysed votes (the host's exclusions left out,
as the analysis leaves them out), the report's opinion groups, the participants' roles, and the report's
lanes; everyone who voted counts as someone who could still vote. It runs on the export's own votes, not on
the list the last run sent the console, so each figure checks against the counts in the same export even
when votes came after that run: a group's ``have`` is the votes of its members on the statement (its
column in the statement table, pass included), ``floor`` is ``min(LANE_MIN_VOTES, group size)`` (without
groups: ``LANE_MIN_VOTES`` votes of the room), a role's ``floor`` is ``ROLE_MIN_VOTERS``, and
``more = floor - have``. One vote counts for its voter's group and role at once, so ``votes``, the fewest
more votes that settle the statement, can be less than the sum of the ``more``s (docs/method.md, "What
still needs votes").
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass

import numpy as np

__all__ = ["NeedsVotes", "Short", "needs_votes"]


@dataclass(frozen=True)
class Short:
    """One opinion group (``"all"``: the whole room, when there are no groups) or stakeholder role short of
    votes on a statement: it has cast ``have`` of the ``floor`` its voice needs, ``more`` to go."""

    name: str
    more: int
    have: int
    floor: int


@dataclass(frozen=True)
class NeedsVotes:
    """A statement whose lane is not settled yet (or that a short role could still move), and who can settle it."""

    statement: int
    lane: str
    """Its lane in the report (``needs_votes``, or a decided lane a role short of voters could still change)."""
    votes: int
    """The fewest more votes that meet every need below."""
    reachable: bool
    """False when the people who voted so far cannot give them all (more people must come)."""
    groups: tuple[Short, ...]
    roles: tuple[Short, ...]
    kind: str = "short"
    """``short``: the groups and roles above are short of votes. Two more for a statement the report lists as
    needing votes while no group or role is short: ``only_passes``, every vote is a pass (the report does not
    call that a verdict, and no number of further passes settles it: someone must take a position), and
    ``enough_now``, it has the votes it needs but the analysis the report shows has not placed it (the votes
    came after that run: the next one places it)."""


def needs_votes(
    votes: Mapping[int, Mapping[int, float]],
    lanes: Mapping[int, str],
    group_of: Mapping[int, str],
    roles: Mapping[int, str],
) -> tuple[NeedsVotes, ...]:
    """The statements of ``lanes`` that still need votes, the closest to settled first (the console's order:
    reachable first, then fewest votes, then statement).

    ``votes``: participant -> statement -> vote code, the analysed votes only (nobody excluded);
    ``group_of``: the report's opinion group of each clustered participant; ``roles``: each participant's
    stakeholder role (those without one left out)."""
    from clustering.readiness import WHOLE_ROOM, shortfalls
    from clustering.votes import VoteTable

    count = sum(len(mine) for mine in votes.values())
    table = VoteTable.from_arrays(  # int arrays: factorised ~10x faster than triples of objects
        np.fromiter((p for p, mine in votes.items() for _ in mine), dtype=np.int64, count=count),
        np.fromiter((s for mine in votes.values() for s in mine), dtype=np.int64, count=count),
        np.fromiter((v for mine in votes.values() for v in mine.values()), dtype=np.float64, count=count))
    voters = set(votes)
    keyed_groups: dict[Hashable, str] = {p: g for p, g in group_of.items() if p in voters}
    keyed_roles: dict[Hashable, str] = {p: r for p, r in roles.items() if r}
    found = shortfalls(table, dict(lanes), keyed_groups, keyed_roles)

    votes_on: dict[int, int] = {}
    group_votes: dict[tuple[int, str], int] = {}
    role_votes: dict[tuple[int, str], int] = {}
    wanted = {int(str(n.statement)) for n in found.values()}
    for p, mine in votes.items():  # one pass: what each group and role has on each unsettled statement
        group, role = keyed_groups.get(p), keyed_roles.get(p)
        for statement in wanted.intersection(mine):
            votes_on[statement] = votes_on.get(statement, 0) + 1
            if group is not None:
                group_votes[(statement, group)] = group_votes.get((statement, group), 0) + 1
            if role is not None:
                role_votes[(statement, role)] = role_votes.get((statement, role), 0) + 1

    def short(statement: int, name: str, more: int, counted: Mapping[tuple[int, str], int]) -> Short:
        have = votes_on.get(statement, 0) if name == WHOLE_ROOM and not keyed_groups else \
            counted.get((statement, name), 0)
        return Short(name, more, have, have + more)

    return tuple(
        NeedsVotes(int(str(n.statement)), n.lane, n.votes, n.reachable,
                   tuple(short(int(str(n.statement)), name, more, group_votes) for name, more in n.groups.items()),
                   tuple(short(int(str(n.statement)), name, more, role_votes) for name, more in n.roles.items()))
        for n in sorted(found.values(), key=lambda s: (not s.reachable, s.votes, int(str(s.statement)))))
