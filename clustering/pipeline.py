"""`analyze`: votes in, a frozen `AnalysisResult` out. The one entry point of the library.

Stages, each timed: matrix (factorise and centre), pca (components, alignment, projection), groups
(k-means per k, k smoothing, stable ids), stats (repness, consensus, acceptance, lanes, routing) and
result (building the frozen output). BLAS runs single-threaded inside: on the 2-core machines this
serves, multithreaded BLAS next to a busy event loop was measured 5-15x slower. The cyclic garbage
collector is paused during a run: the result is tens of thousands of small acyclic objects whose
creation would otherwise trigger repeated full collections (measured: 180 ms of 600 at 20,000 people).
"""

from __future__ import annotations

import gc
import time
from collections.abc import Collection, Iterable, Mapping
from contextlib import AbstractContextManager
from typing import Any

import numpy as np
from numpy.typing import NDArray
from threadpoolctl import ThreadpoolController

from clustering.consensus import (
    Acceptance,
    acceptable_to_all,
    acceptance,
    divisive,
    group_informed_consensus,
    lanes,
    majority_opinions,
)
from clustering.groups import SILHOUETTE_TOLERANCE, Clustering, best_k, cluster_all_k
from clustering.matrix import Tallies, VoteMatrix, build_matrix, select_participants, tally
from clustering.pca import principal_components, project
from clustering.repness import group_stats, select_representative
from clustering.result import (
    AcceptanceScore,
    AnalysisResult,
    ConsensusScore,
    Divisive,
    Group,
    Opinion,
    Representative,
    RoleSummary,
    Tally,
    WarmState,
)
from clustering.routing import priority
from clustering.stability import KSmoother, align_axes, matched_labels
from clustering.votes import Id, VoteTable

ALL_VOTERS = "all"
"""Name of the single pseudo-group used by the acceptance measures when there are no opinion groups
(too few participants, or everyone on one spot): the room as a whole."""

_threads = ThreadpoolController()


def _single_thread() -> AbstractContextManager[Any]:
    limiter: AbstractContextManager[Any] = _threads.limit(limits=1)
    return limiter


class _Clock:
    def __init__(self) -> None:
        self.start = self.last = time.perf_counter()
        self.laps: dict[str, float] = {}

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = (now - self.last) * 1000.0
        self.last = now

    def total(self) -> float:
        return (time.perf_counter() - self.start) * 1000.0


def analyze(
    votes: Iterable[tuple[Id, Id, float]] | VoteTable,
    *,
    moderated_out: Collection[Id] = frozenset(),
    roles: Mapping[Id, str] | None = None,
    previous: AnalysisResult | None = None,
    random_state: int = 0,
    statements: Iterable[Id] | None = None,
) -> AnalysisResult:
    """Cluster participants and measure agreement.

    `votes`: (participant, statement, value) triples with one vote per pair (the latest; later
    duplicates override earlier ones) or a `VoteTable`. `moderated_out`: statements zeroed out and
    excluded from every output. `roles`: stakeholder role per participant. `previous`: the last
    result for the same meeting, for warm starts, stable group ids and k smoothing. `statements`:
    known statements that may have no votes yet, so they still get a lane and a routing priority.
    """
    collecting = gc.isenabled()
    gc.disable()
    try:
        with _single_thread():
            return _analyze(votes, frozenset(moderated_out), roles or {}, previous, random_state,
                            tuple(statements or ()))
    finally:
        if collecting:
            gc.enable()


def _analyze(
    votes: Iterable[tuple[Id, Id, float]] | VoteTable,
    moderated_out: frozenset[Id],
    roles: Mapping[Id, str],
    previous: AnalysisResult | None,
    random_state: int,
    extra_statements: tuple[Id, ...],
) -> AnalysisResult:
    clock = _Clock()
    table = votes if isinstance(votes, VoteTable) else VoteTable.from_triples(votes)
    matrix = build_matrix(table, moderated_out)
    warm = previous.state if previous is not None else None
    clock.lap("matrix")

    prev_components = _previous_components(warm, table.statement_ids)
    components = principal_components(matrix.centred, start=_start_vector(prev_components),
                                      random_state=random_state)
    if prev_components is not None:
        components = align_axes(components, prev_components)
    projection = project(matrix, components)
    clock.lap("pca")

    rows = select_participants(matrix, keep=warm.clustered if warm else ())
    points = projection.positions[rows]
    clusterings, scores = cluster_all_k(points, warm.centers if warm else {}, random_state)
    smoother = KSmoother()
    k = 0
    letters: list[str] = []
    labels = np.zeros(0, dtype=np.int64)
    if clusterings:
        winner = best_k(clusterings, 0.0 if scores is None or scores.exact else SILHOUETTE_TOLERANCE)
        smoother = (warm.smoother if warm else KSmoother()).update(winner)
        k = smoother.smoothed_k if smoother.smoothed_k in clusterings else winner
        chosen = clusterings[k]
        members = [table.participant_ids[r] for r in rows.tolist()]
        letters = matched_labels(chosen.labels, k, members, warm.previous_groups if warm else {})
        order = sorted(range(k), key=lambda c: letters[c])
        rank = np.empty(k, dtype=np.int64)
        rank[np.asarray(order, dtype=np.int64)] = np.arange(k)
        labels = rank[chosen.labels]
        letters = [letters[c] for c in order]
    clock.lap("groups")

    result = _measure(matrix, projection.statement_xy, rows, labels, letters, roles, extra_statements,
                      moderated_out)
    clock.lap("stats")

    groups = _groups(table, rows, labels, letters, points, clusterings.get(k), result["picks"])
    positions = {table.participant_ids[r]: (float(x), float(y))
                 for r, (x, y) in zip(rows.tolist(), points.tolist(), strict=True)} if k else {}
    state = WarmState(
        statement_ids=table.statement_ids,
        components=components,
        centers={kk: c.centers for kk, c in clusterings.items()},
        smoother=smoother,
        previous_groups={g.id: frozenset(g.members) for g in groups},
        clustered=frozenset(table.participant_ids[r] for r in rows.tolist()) if k else frozenset(),
    )
    clock.lap("result")
    return AnalysisResult(
        participants=table.n_participants,
        statements=int((~matrix.moderated).sum()),
        votes=len(table),
        clustered=int(rows.size) if k else 0,
        k=k,
        groups=groups,
        positions=positions,
        consensus=result["consensus"],
        majority=result["majority"],
        acceptance=result["acceptance"],
        acceptable_to_all=tuple(a for a in result["acceptance"] if a.acceptable),
        divisive=result["divisive"],
        lanes=result["lanes"],
        priority=result["priority"],
        group_votes=result["group_votes"],
        roles=result["roles"],
        silhouettes={kk: c.silhouette for kk, c in clusterings.items()},
        silhouette_sample=scores.sample if scores is not None else 0,
        lane_votes=result["lane_votes"],
        timings=dict(clock.laps),
        elapsed_ms=clock.total(),
        state=state,
    )


def _previous_components(
    warm: WarmState | None, statement_ids: tuple[Id, ...],
) -> NDArray[np.float64] | None:
    """The previous components laid out in the current statement order (0 for new statements)."""
    if warm is None or not warm.statement_ids:
        return None
    where = {s: j for j, s in enumerate(warm.statement_ids)}
    out = np.zeros((warm.components.shape[0], len(statement_ids)))
    for j, s in enumerate(statement_ids):
        old = where.get(s)
        if old is not None:
            out[:, j] = warm.components[:, old]
    return out if np.any(out) else None


def _start_vector(components: NDArray[np.float64] | None) -> NDArray[np.float64] | None:
    return None if components is None else np.asarray(components[0])


def _tally_rows(t: Tallies, unit: int) -> list[Tally]:
    """One `Tally` per statement column for one unit (group, role or the room): built once and shared by
    every measure that reports them."""
    counts = zip(t.agree[unit].tolist(), t.acceptable[unit].tolist(), t.disagree[unit].tolist(),
                 t.passed[unit].tolist(), strict=True)
    return [Tally(*c) for c in counts]


def _tallies_to_dict(rows: list[Tally], ids: tuple[Id, ...], keep: NDArray[np.bool_]) -> dict[Id, Tally]:
    return {ids[j]: rows[j] for j in np.flatnonzero(keep).tolist()}


def _measure(
    matrix: VoteMatrix,
    statement_xy: NDArray[np.float64],
    rows: NDArray[np.int64],
    labels: NDArray[np.int64],
    letters: list[str],
    roles: Mapping[Id, str],
    extra_statements: tuple[Id, ...],
    moderated_out: frozenset[Id],
) -> dict[str, Any]:
    """Every per-statement measure. Without opinion groups the room is one unit (`ALL_VOTERS`)."""
    table = matrix.table
    ids = table.statement_ids
    eligible = ~matrix.moderated
    row_unit = np.full(table.n_participants, -1, dtype=np.int64)
    if letters:
        row_unit[rows] = labels
        units = list(letters)
    else:
        row_unit[:] = 0
        units = [ALL_VOTERS]
    unit_tallies = tally(table, row_unit, len(units))
    everyone = tally(table, np.zeros(table.n_participants, dtype=np.int64), 1)
    unit_rows = [_tally_rows(unit_tallies, g) for g in range(len(units))]
    room_rows = _tally_rows(everyone, 0)

    picks: dict[str, list[Representative]] = {}
    if letters:
        stats = group_stats(unit_tallies)
        for g, letter in enumerate(letters):
            picks[letter] = [Representative(ids[p.column], p.direction, p.share, p.z, p.repness,
                                            p.repness_z, p.best_agree, unit_rows[g][p.column])
                             for p in select_representative(stats, g, eligible)]

    def per_unit(j: int) -> dict[str, Tally]:
        return {u: unit_rows[g][j] for g, u in enumerate(units)}

    gic = group_informed_consensus(unit_tallies)
    columns = np.flatnonzero(eligible)
    by_gic = columns[np.argsort(-gic[columns], kind="stable")]
    unit_counts = {j: per_unit(j) for j in columns.tolist()}
    consensus = tuple(ConsensusScore(ids[j], float(gic[j]), unit_counts[j]) for j in by_gic.tolist())
    majority = tuple(Opinion(ids[p.column], p.direction, p.share, p.z, room_rows[p.column])
                     for p in majority_opinions(everyone, eligible))

    role_names, role_acc, role_summaries, role_rows = _roles(table, roles, eligible)
    unit_acc = acceptance(unit_tallies)
    accepted_flags = acceptable_to_all(unit_acc, role_acc)
    worst = unit_acc.share.min(axis=0) if unit_acc.share.size else np.zeros(len(ids))
    by_worst = columns[np.argsort(-worst[columns], kind="stable")]
    acceptance_scores = tuple(
        AcceptanceScore(
            ids[j], float(worst[j]), bool(accepted_flags[j]),
            {u: float(unit_acc.share[g, j]) for g, u in enumerate(units)},
            {r: float(role_acc.share[i, j]) for i, r in enumerate(role_names)
             if role_acc is not None and role_acc.seen[i, j] > 0},
            unit_counts[j],
            {r: role_rows[i][j] for i, r in enumerate(role_names)
             if role_acc is not None and role_acc.seen[i, j] > 0},
        )
        for j in by_worst.tolist())

    sizes = np.bincount(row_unit[row_unit >= 0], minlength=len(units)).astype(np.int64)
    lane_of = lanes(unit_acc, sizes, role_acc)
    total = unit_tallies.total()
    extremity = np.linalg.norm(statement_xy, axis=1) if statement_xy.size else np.zeros(len(ids))
    prio = priority(total.accepted[0], total.passed[0], total.seen[0], extremity)
    lane_map: dict[Id, str] = {ids[j]: str(lane_of[j]) for j in columns.tolist()}
    lane_votes: dict[Id, dict[str, Tally]] = {ids[j]: unit_counts[j] for j in columns.tolist()}
    prio_map: dict[Id, float] = {ids[j]: float(prio[j]) for j in columns.tolist()}
    unseen_priority = float(priority(np.zeros(1, np.int64), np.zeros(1, np.int64), np.zeros(1, np.int64),
                                     np.zeros(1))[0])
    for s in extra_statements:
        if s not in lane_map and s not in moderated_out:
            lane_map[s] = "needs_votes"
            lane_votes[s] = {u: Tally() for u in units}
            prio_map[s] = unseen_priority

    divisive_picks = tuple(
        Divisive(ids[d.column], d.spread, d.z, units[d.most], units[d.least],
                 {units[d.most]: unit_rows[d.most][d.column], units[d.least]: unit_rows[d.least][d.column]})
        for d in divisive(unit_tallies, eligible)) if letters else ()
    group_votes = {u: _tallies_to_dict(unit_rows[g], ids, eligible)
                   for g, u in enumerate(units)} if letters else {}
    return {"picks": picks, "consensus": consensus, "majority": majority, "acceptance": acceptance_scores,
            "lanes": lane_map, "lane_votes": lane_votes, "priority": prio_map, "divisive": divisive_picks,
            "group_votes": group_votes, "roles": role_summaries}


def _roles(
    table: VoteTable, roles: Mapping[Id, str], eligible: NDArray[np.bool_],
) -> tuple[list[str], Acceptance | None, dict[str, RoleSummary], list[list[Tally]]]:
    """Tallies per stakeholder role over every voter holding it (clustered or not)."""
    if not roles:
        return [], None, {}, []
    names = sorted({str(roles[p]) for p in table.participant_ids if p in roles})
    index = {r: i for i, r in enumerate(names)}
    row_role = np.fromiter((index[str(roles[p])] if p in roles else -1 for p in table.participant_ids),
                           dtype=np.int64, count=table.n_participants)
    tallies = tally(table, row_role, len(names))
    counts = np.bincount(row_role[row_role >= 0], minlength=len(names))
    rows = [_tally_rows(tallies, i) for i in range(len(names))]
    summaries = {r: RoleSummary(r, int(counts[i]), _tallies_to_dict(rows[i], table.statement_ids,
                                                                    eligible & (tallies.seen[i] > 0)))
                 for i, r in enumerate(names)}
    return names, acceptance(tallies), summaries, rows


def _groups(
    table: VoteTable,
    rows: NDArray[np.int64],
    labels: NDArray[np.int64],
    letters: list[str],
    points: NDArray[np.float64],
    clustering: Clustering | None,
    picks: dict[str, list[Representative]],
) -> tuple[Group, ...]:
    if clustering is None or not letters:
        return ()
    out = []
    for g, letter in enumerate(letters):
        mine = labels == g
        members = tuple(table.participant_ids[r] for r in rows[mine].tolist())
        center = points[mine].mean(axis=0) if mine.any() else np.zeros(2)
        out.append(Group(letter, members, (float(center[0]), float(center[1])), tuple(picks[letter])))
    return tuple(out)
