"""What still needs votes: for each statement whose lane is not settled, which opinion groups and
stakeholder roles lack votes, and the fewest more votes that would settle it.

The lane rules (`consensus.lanes`) make this exact. A statement's lane is `needs_votes` while some
opinion group has cast fewer than `min(LANE_MIN_VOTES, group size)` votes on it (without groups: while the
room has cast fewer than `LANE_MIN_VOTES`). A stakeholder role's voice enters the verdict (acceptable to
every group's majority, rejected) once `ROLE_MIN_VOTERS` of its members voted on the statement; until then a
role that has that many members who could vote can still change a decided lane. So, per statement:

    group g needs   max(0, min(LANE_MIN_VOTES, size_g) − seen_g)            (whole room: LANE_MIN_VOTES − seen)
    role r needs    max(0, ROLE_MIN_VOTERS − seen_r)   for roles with at least ROLE_MIN_VOTERS members

and it is *settled* when nothing is needed. One vote counts for its voter's group and role at once, so the
fewest more votes is not the sum of the needs: it is `Σ group needs + Σ role needs − M`, where `M` is the
largest number of people who have not voted on it yet and can each fill a need of their group *and* of
their role at once (a maximum flow from groups to roles through the people in each (group, role) cell).
Any set of voters that meets every need counts each voter at most twice, and the voters counted twice form
such a flow, so no smaller set exists; and the flow's people, topped up with people of the groups (roles)
still short, meet every need (see tests/clustering/test_readiness.py for both directions on planted data).

Who could still vote is the caller's to say (`participants`: the people present and not excluded from the
analysis, besides the voters); people outside every group count only for roles (and for the whole room).
Between two analyses the needs are those of the last one: routing may send a statement to a few more
people of a group than it needed before the next run says it is settled.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import maximum_flow

from clustering.consensus import LANE_MIN_VOTES, ROLE_MIN_VOTERS
from clustering.votes import Id, VoteTable

__all__ = ["WHOLE_ROOM", "Shortfall", "fewest_votes", "shortfalls"]

WHOLE_ROOM = "all"
"""The unit a statement's lane is decided on when there are no opinion groups (as `measures.ALL_VOTERS`)."""


@dataclass(frozen=True)
class Shortfall:
    """What one statement still needs before its lane is settled."""

    statement: Id
    lane: str
    groups: dict[str, int] = field(default_factory=dict)
    """More votes each opinion group (or `"all"`) must cast on it; only groups that are short."""
    roles: dict[str, int] = field(default_factory=dict)
    """More votes each stakeholder role must cast on it before its voice counts; only roles that are short."""
    votes: int = 0
    """The fewest more votes that meet every need above (one vote counts for its group and its role)."""
    reachable: bool = True
    """False when the people who could still vote cannot meet every need (a group or role has too few left):
    `votes` then counts what they can give, and the statement stays unsettled unless more people come."""

    def to_dict(self) -> dict[str, Any]:
        return {"statement": str(self.statement), "lane": self.lane, "groups": dict(self.groups),
                "roles": dict(self.roles), "votes": self.votes, "reachable": self.reachable}


def shortfalls(
    votes: VoteTable,
    lanes: Mapping[Any, str],
    group_of: Mapping[Any, str],
    roles: Mapping[Any, str],
    participants: Iterable[Id] = (),
) -> dict[Id, Shortfall]:
    """The statements of `lanes` that still need votes, with what each needs.

    `votes`: the analysed votes (any value, pass included: a pass is a vote seen). `lanes`: the analysis'
    lane per statement (`AnalysisResult.lanes`). `group_of`: opinion group per clustered participant
    (empty: no groups, the room is one unit). `roles`: stakeholder role per participant. `participants`:
    who else could still vote (present, not excluded); every voter of `votes` counts as present.
    Statements with nothing needed are left out.
    """
    people = list(dict.fromkeys([*votes.participant_ids, *participants]))
    group_names = sorted(set(group_of.values()))
    role_names = sorted(set(roles.values()))
    whole_room = not group_names
    g_index = {g: i for i, g in enumerate(group_names)}
    r_index = {r: i for i, r in enumerate(role_names)}
    n_groups = 1 if whole_room else len(group_names)
    n_roles = len(role_names)
    width = n_roles + 1  # the last role column: no role; the last group row: in no group
    no_group = n_groups
    cell_of: dict[Id, int] = {}
    for person in people:
        g = 0 if whole_room else g_index[group_of[person]] if person in group_of else no_group
        r = r_index[roles[person]] if person in roles else n_roles
        cell_of[person] = g * width + r
    n_cells = (n_groups + 1) * width
    sizes = np.bincount(np.fromiter(cell_of.values(), dtype=np.int64, count=len(cell_of)),
                        minlength=n_cells).reshape(n_groups + 1, width)
    group_floor = (np.full(n_groups, LANE_MIN_VOTES) if whole_room
                   else np.minimum(LANE_MIN_VOTES, np.maximum(sizes[:n_groups].sum(axis=1), 1)))
    counted_roles = sizes[:, :n_roles].sum(axis=0) >= ROLE_MIN_VOTERS

    row_cell = np.fromiter((cell_of[p] for p in votes.participant_ids), dtype=np.int64,
                           count=votes.n_participants)
    m = votes.n_statements
    voted_all = np.bincount(votes.cols * n_cells + row_cell[votes.rows],
                            minlength=m * n_cells).reshape(m, n_groups + 1, width)
    column = {s: j for j, s in enumerate(votes.statement_ids)}
    empty = np.zeros((n_groups + 1, width), dtype=np.int64)

    out: dict[Id, Shortfall] = {}
    names = [WHOLE_ROOM] if whole_room else group_names
    for statement, lane in lanes.items():
        j = column.get(statement)
        voted = voted_all[j] if j is not None else empty
        group_need = np.maximum(group_floor - voted[:n_groups].sum(axis=1), 0)
        role_need = np.where(counted_roles, np.maximum(ROLE_MIN_VOTERS - voted[:, :n_roles].sum(axis=0), 0), 0)
        if not group_need.any() and not role_need.any():
            continue
        needed, reachable = fewest_votes(group_need, role_need, sizes - voted)
        out[statement] = Shortfall(
            statement, lane,
            {names[g]: int(n) for g, n in enumerate(group_need.tolist()) if n},
            {role_names[r]: int(n) for r, n in enumerate(role_need.tolist()) if n},
            needed, reachable)
    return out


def fewest_votes(group_need: np.ndarray, role_need: np.ndarray, available: np.ndarray) -> tuple[int, bool]:
    """The fewest voters meeting every need, and whether the available people can meet them all.

    `available[g, r]`: people of group g and role r who could still vote; the last row is people in no
    group, the last column people with no role. Needs beyond what is available are capped there (and the
    answer is marked unreachable)."""
    n_groups, n_roles = len(group_need), len(role_need)
    group_have = available[:n_groups].sum(axis=1)
    role_have = available[:, :n_roles].sum(axis=0)
    g_need = np.minimum(group_need, group_have)
    r_need = np.minimum(role_need, role_have)
    reachable = bool(np.array_equal(g_need, group_need) and np.array_equal(r_need, role_need))
    total = int(g_need.sum() + r_need.sum())
    if not g_need.any() or not r_need.any():
        return total, reachable
    return total - _both(g_need, r_need, available[:n_groups, :n_roles]), reachable


def _both(group_need: np.ndarray, role_need: np.ndarray, cells: np.ndarray) -> int:
    """Maximum flow source -> group g (capacity its need) -> role r (the people in cell g, r) -> sink (the
    role's need): the most people who can each fill a group need and a role need."""
    n_groups, n_roles = cells.shape
    source, sink = 0, 1 + n_groups + n_roles
    edges: list[tuple[int, int, int]] = []
    for g in range(n_groups):
        if group_need[g]:
            edges.append((source, 1 + g, int(group_need[g])))
    for g, r in zip(*np.nonzero(cells), strict=True):
        edges.append((1 + int(g), 1 + n_groups + int(r), int(cells[g, r])))
    for r in range(n_roles):
        if role_need[r]:
            edges.append((1 + n_groups + r, sink, int(role_need[r])))
    rows, cols, caps = zip(*edges, strict=True)
    graph = sp.csr_matrix((np.asarray(caps, dtype=np.int32), (rows, cols)), shape=(sink + 1, sink + 1))
    return int(maximum_flow(graph, source, sink).flow_value)
