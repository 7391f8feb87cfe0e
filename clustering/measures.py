"""Every per-statement measure of one update, and the memo that lets the next update reuse them.

The arithmetic (tallies, repness, consensus, acceptance, lanes, routing) is a few numpy passes; what
costs is turning it into thousands of small frozen objects (`Tally`, `ConsensusScore`,
`AcceptanceScore`, per-group dicts). Each of those depends on one statement's column of counts only:
its tallies per unit (group, or the whole room), per role and for the room. So a warm update compares
the new count arrays with the previous ones (`StatsMemo`) and rebuilds the objects of the columns whose
counts changed, reusing the others as they are: the output is identical to a cold run's, because an
object is reused only when every number it is made from is equal. Orderings, lanes, priorities and
representative statements are recomputed every time from the arrays.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from clustering.consensus import (
    Acceptance,
    acceptance,
    divisive,
    group_informed_consensus,
    lanes,
    majority_opinions,
)
from clustering.matrix import _KIND, Tallies, VoteMatrix
from clustering.priorities import priority
from clustering.repness import group_stats, select_representative
from clustering.result import (
    AcceptanceScore,
    ConsensusScore,
    Divisive,
    Opinion,
    Representative,
    RoleSummary,
    Tally,
)
from clustering.votes import Id, VoteTable

ALL_VOTERS = "all"
"""Name of the single pseudo-group used by the acceptance measures when there are no opinion groups
(too few participants, or everyone on one spot): the room as a whole."""


@dataclass(frozen=True, eq=False)
class StatsMemo:
    """The previous update's count arrays and the objects built from each statement column."""

    key: tuple[Any, ...]
    counts: NDArray[np.int64]
    """Shape (statements, units + 1 + roles, 4): every count a column's objects are built from."""
    unit_rows: list[list[Tally]]
    room_rows: list[Tally]
    role_rows: list[list[Tally]]
    unit_counts: dict[int, dict[str, Tally]]
    consensus: dict[int, ConsensusScore]
    acceptance: dict[int, AcceptanceScore]
    sizes: NDArray[np.int64]
    extras: tuple[tuple[Id, ...], frozenset[Id]]
    output: dict[str, Any]
    """The whole previous output: reused but for routing priorities when no count changed."""


def _cells(table: VoteTable) -> NDArray[np.int64]:
    """Each vote's (statement, kind) cell: column x 4 + kind (agree, acceptable, disagree, pass)."""
    kind = _KIND[np.rint(table.values * 2.0).astype(np.int64) + 2]
    return np.asarray(table.cols * 4 + kind)


def _count(cells: NDArray[np.int64], row_group: NDArray[np.int64] | None, rows: NDArray[np.int64],
           n_groups: int, m: int) -> NDArray[np.int64]:
    """Counts per (group, statement, kind) from the vote cells; rows in group -1 are ignored. Counts come
    from the raw votes, moderated statements included (filtered later), as in Pol.is's `votes-base`."""
    if row_group is None:
        return np.bincount(cells, minlength=m * 4).reshape(1, m, 4).astype(np.int64)
    group = row_group[rows]
    member = group >= 0
    flat = group[member] * (m * 4) + cells[member]
    return np.bincount(flat, minlength=n_groups * m * 4).reshape(n_groups, m, 4).astype(np.int64)


def _tallies(counts: NDArray[np.int64]) -> Tallies:
    return Tallies(counts[:, :, 0], counts[:, :, 1], counts[:, :, 2], counts[:, :, 3])


def _rows(counts: NDArray[np.int64], old: list[Tally] | None, changed: NDArray[np.bool_] | None) -> list[Tally]:
    """One `Tally` per statement column of one unit's (statements, 4) counts, reusing unchanged ones."""
    if old is None or changed is None:
        return [Tally(*c) for c in counts.tolist()]
    out = list(old)
    for j in np.flatnonzero(changed).tolist():
        out[j] = Tally(*counts[j].tolist())
    return out


def measure(
    matrix: VoteMatrix,
    statement_xy: NDArray[np.float64],
    rows: NDArray[np.int64],
    labels: NDArray[np.int64],
    letters: list[str],
    roles: Mapping[Any, str],
    extra_statements: tuple[Id, ...],
    moderated_out: frozenset[Id],
    memo: StatsMemo | None = None,
) -> tuple[dict[str, Any], StatsMemo]:
    """Every per-statement measure, and the memo for the next update. Without opinion groups the room is
    one unit (`ALL_VOTERS`)."""
    table = matrix.table
    ids = table.statement_ids
    m = table.n_statements
    eligible = ~matrix.moderated
    row_unit = np.full(table.n_participants, -1, dtype=np.int64)
    if letters:
        row_unit[rows] = labels
        units = list(letters)
    else:
        row_unit[:] = 0
        units = [ALL_VOTERS]
    cells = _cells(table)
    unit_counts_arr = _count(cells, row_unit, table.rows, len(units), m)
    room_arr = _count(cells, None, table.rows, 1, m)
    role_names, row_role = _role_index(table, roles)
    role_arr = (_count(cells, row_role, table.rows, len(role_names), m) if role_names
                else np.zeros((0, m, 4), dtype=np.int64))
    stacked = np.concatenate([unit_counts_arr, room_arr, role_arr], axis=0).transpose(1, 0, 2)
    key = (ids, tuple(units), tuple(role_names), eligible.tobytes())
    reuse = memo is not None and memo.key == key and memo.counts.shape == stacked.shape
    changed = ((stacked != memo.counts).any(axis=(1, 2)) & eligible) if reuse and memo is not None else None
    old = memo if reuse else None
    sizes = np.bincount(row_unit[row_unit >= 0], minlength=len(units)).astype(np.int64)
    extras = (extra_statements, moderated_out)
    if (old is not None and changed is not None and not changed.any() and np.array_equal(sizes, old.sizes)
            and old.extras == extras):
        output = dict(old.output)
        output["priority"] = _priorities(unit_counts_arr, statement_xy, eligible, ids, extra_statements,
                                         output["lanes"], moderated_out)
        return output, StatsMemo(key, stacked, old.unit_rows, old.room_rows, old.role_rows, old.unit_counts,
                                 old.consensus, old.acceptance, sizes, extras, output)

    unit_tallies = _tallies(unit_counts_arr)
    everyone = _tallies(room_arr)
    unit_rows = [_rows(unit_counts_arr[g], old.unit_rows[g] if old else None, changed) for g in range(len(units))]
    room_rows = _rows(room_arr[0], old.room_rows if old else None, changed)
    role_rows = [_rows(role_arr[i], old.role_rows[i] if old else None, changed) for i in range(len(role_names))]
    fresh = (np.ones(m, dtype=np.bool_) if changed is None else changed)

    picks: dict[str, list[Representative]] = {}
    if letters:
        stats = group_stats(unit_tallies)
        for g, letter in enumerate(letters):
            picks[letter] = [Representative(ids[p.column], p.direction, p.share, p.z, p.repness,
                                            p.repness_z, p.best_agree, unit_rows[g][p.column])
                             for p in select_representative(stats, g, eligible)]

    columns = np.flatnonzero(eligible)
    column_list = columns.tolist()
    unit_counts: dict[int, dict[str, Tally]] = {}
    for j in column_list:
        if old is not None and not fresh[j]:
            unit_counts[j] = old.unit_counts[j]
        else:
            unit_counts[j] = {u: unit_rows[g][j] for g, u in enumerate(units)}

    gic = group_informed_consensus(unit_tallies)
    by_gic = columns[np.argsort(-gic[columns], kind="stable")]
    consensus_objs: dict[int, ConsensusScore] = {}
    for j in column_list:
        if old is not None and not fresh[j]:
            consensus_objs[j] = old.consensus[j]
        else:
            consensus_objs[j] = ConsensusScore(ids[j], float(gic[j]), unit_counts[j])
    consensus = tuple(consensus_objs[j] for j in by_gic.tolist())
    majority = tuple(Opinion(ids[p.column], p.direction, p.share, p.z, room_rows[p.column])
                     for p in majority_opinions(everyone, eligible))

    role_tallies = _tallies(role_arr) if role_names else None
    role_acc = acceptance(role_tallies) if role_tallies is not None else None
    unit_acc = acceptance(unit_tallies)
    lane_of = lanes(unit_acc, sizes, role_acc, whole_room=not letters)
    # acceptable to all = the acceptable lane: significantly accepted by every unit *and* enough votes from
    # each (one agree vote made a statement "acceptable to all" while its lane said it needed votes)
    accepted_flags = np.asarray(lane_of == "acceptable", dtype=np.bool_)
    picks = _shared_last(picks, accepted_flags, ids)
    worst = unit_acc.share.min(axis=0) if unit_acc.share.size else np.zeros(m)
    by_worst = columns[np.argsort(-worst[columns], kind="stable")]
    acceptance_objs: dict[int, AcceptanceScore] = {}
    for j in column_list:
        if old is not None and not fresh[j] and old.acceptance[j].acceptable == bool(accepted_flags[j]):
            acceptance_objs[j] = old.acceptance[j]
        else:
            acceptance_objs[j] = _acceptance_score(j, ids[j], worst, accepted_flags, units, unit_acc,
                                                   role_names, role_acc, unit_counts[j], role_rows)
    acceptance_scores = tuple(acceptance_objs[j] for j in by_worst.tolist())

    lane_list = lane_of.tolist()
    lane_map: dict[Id, str] = {ids[j]: str(lane_list[j]) for j in column_list}
    lane_votes: dict[Id, dict[str, Tally]] = {ids[j]: unit_counts[j] for j in column_list}
    for s in extra_statements:
        if s not in lane_map and s not in moderated_out:
            lane_map[s] = "needs_votes"
            lane_votes[s] = {u: Tally() for u in units}
    prio_map = _priorities(unit_counts_arr, statement_xy, eligible, ids, extra_statements, lane_map,
                           moderated_out)

    divisive_picks = tuple(
        Divisive(ids[d.column], d.spread, d.z, units[d.most], units[d.least],
                 {units[d.most]: unit_rows[d.most][d.column], units[d.least]: unit_rows[d.least][d.column]})
        for d in divisive(unit_tallies, eligible)) if letters else ()
    group_votes = {u: {ids[j]: unit_rows[g][j] for j in column_list}
                   for g, u in enumerate(units)} if letters else {}
    role_summaries = _role_summaries(table, role_names, row_role, role_arr, role_rows, eligible)
    output = {"picks": picks, "consensus": consensus, "majority": majority, "acceptance": acceptance_scores,
              "lanes": lane_map, "lane_votes": lane_votes, "priority": prio_map, "divisive": divisive_picks,
              "group_votes": group_votes, "roles": role_summaries}
    return output, StatsMemo(key, stacked, unit_rows, room_rows, role_rows, unit_counts, consensus_objs,
                             acceptance_objs, sizes, extras, output)


def _priorities(
    unit_counts: NDArray[np.int64], statement_xy: NDArray[np.float64], eligible: NDArray[np.bool_],
    ids: tuple[Id, ...], extra_statements: tuple[Id, ...], lane_map: dict[Id, str],
    moderated_out: frozenset[Id],
) -> dict[Id, float]:
    """Routing priority of every statement in `lane_map`: from the clustered (or all) voters' counts and
    the statement's extremity on this update's map, which moves with every vote."""
    total = _tallies(unit_counts).total()
    m = len(ids)
    extremity = np.linalg.norm(statement_xy, axis=1) if statement_xy.size else np.zeros(m)
    prio = priority(total.accepted[0], total.passed[0], total.seen[0], extremity).tolist()
    out: dict[Id, float] = {ids[j]: prio[j] for j in np.flatnonzero(eligible).tolist()}
    unseen = float(priority(np.zeros(1, np.int64), np.zeros(1, np.int64), np.zeros(1, np.int64), np.zeros(1))[0])
    for s in extra_statements:
        if s not in out and s not in moderated_out and s in lane_map:
            out[s] = unseen
    return out


def _acceptance_score(
    j: int, statement: Id, worst: NDArray[np.float64], accepted_flags: NDArray[np.bool_], units: list[str],
    unit_acc: Acceptance, role_names: list[str], role_acc: Acceptance | None, unit_counts: dict[str, Tally],
    role_rows: list[list[Tally]],
) -> AcceptanceScore:
    return AcceptanceScore(
        statement, float(worst[j]), bool(accepted_flags[j]),
        {u: float(unit_acc.share[g, j]) for g, u in enumerate(units)},
        {r: float(role_acc.share[i, j]) for i, r in enumerate(role_names)
         if role_acc is not None and role_acc.seen[i, j] > 0},
        unit_counts,
        {r: role_rows[i][j] for i, r in enumerate(role_names)
         if role_acc is not None and role_acc.seen[i, j] > 0},
    )


def _shared_last(picks: dict[str, list[Representative]], acceptable: NDArray[np.bool_],
                 ids: tuple[Id, ...]) -> dict[str, list[Representative]]:
    """Each group's representative statements with those every group can accept last, after everything
    that sets it apart (a stable sort: Pol.is's order, agrees before disagrees, otherwise). A statement
    group A agrees with and group B only finds acceptable is A's "best agree", but leading A's card with it
    told the room it was A's own view while the lanes called it acceptable to all; and a group whose other
    picks are disagrees showed it before its own 6-of-6 rejection, which a two-line card then hid (PO
    rehearsals)."""
    shared = {ids[j] for j in np.flatnonzero(acceptable).tolist()}
    if not shared:
        return picks
    return {g: sorted(reps, key=lambda r: (r.statement in shared, r.direction != "agree"))
            for g, reps in picks.items()}


def _role_index(table: VoteTable, roles: Mapping[Any, str]) -> tuple[list[str], NDArray[np.int64]]:
    """Role names (sorted) and each participant row's role index (-1: none)."""
    if not roles:
        return [], np.zeros(0, dtype=np.int64)
    names = sorted({str(roles[p]) for p in table.participant_ids if p in roles})
    index = {r: i for i, r in enumerate(names)}
    row_role = np.fromiter((index[str(roles[p])] if p in roles else -1 for p in table.participant_ids),
                           dtype=np.int64, count=table.n_participants)
    return names, row_role


def _role_summaries(
    table: VoteTable, names: list[str], row_role: NDArray[np.int64], role_arr: NDArray[np.int64],
    role_rows: list[list[Tally]], eligible: NDArray[np.bool_],
) -> dict[str, RoleSummary]:
    """Tallies per stakeholder role over every voter holding it (clustered or not)."""
    if not names:
        return {}
    ids = table.statement_ids
    counts = np.bincount(row_role[row_role >= 0], minlength=len(names))
    seen = role_arr.sum(axis=2)
    return {r: RoleSummary(r, int(counts[i]), {ids[j]: role_rows[i][j]
                                               for j in np.flatnonzero(eligible & (seen[i] > 0)).tolist()})
            for i, r in enumerate(names)}
