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
    from clustering.readiness import shortfalls
    from clustering.votes import VoteTable

    table = VoteTable.from_triples((p, s, value) for p, mine in votes.items() for s, value in mine.items())
    voters = set(votes)
    keyed_groups: dict[Hashable, str] = {p: g for p, g in group_of.items() if p in voters}
    keyed_roles: dict[Hashable, str] = {p: r for p, r in roles.items() if r}
    found = shortfalls(table, dict(lanes), keyed_groups, keyed_roles)

    def have(statement: int, unit: str, of: Mapping[Hashable, str] | None) -> int:
        return sum(1 for p, mine in votes.items() if statement in mine and (of is None or of.get(p) == unit))

    out = []
    for short in sorted(found.values(), key=lambda s: (not s.reachable, s.votes, int(str(s.statement)))):
        statement = int(str(short.statement))
        groups = []
        for name, more in short.groups.items():
            got = have(statement, name, keyed_groups or None)
            groups.append(Short(name, more, got, got + more))
        out.append(NeedsVotes(
            statement, short.lane, short.votes, short.reachable, tuple(groups),
            tuple(Short(name, more, got, got + more) for name, more in short.roles.items()
                  for got in [have(statement, name, keyed_roles)])))
    return tuple(out)
