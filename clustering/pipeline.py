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

from clustering.anchor import SilhouetteAnchor, make_anchor
from clustering.groups import SILHOUETTE_TOLERANCE, Clustering, SilhouetteScores, best_k, cluster_candidates
from clustering.matrix import VoteMatrix, build_matrix, select_participants
from clustering.measures import measure
from clustering.pca import components_with_gram, project, uses_gram
from clustering.result import AnalysisResult, Group, Representative, WarmState
from clustering.stability import KSmoother, alignment, matched_labels, matched_labels_by_rows
from clustering.votes import Id, VoteTable
from clustering.warm import WarmCache
from clustering.warmgram import GramCache, cache_for, updated_gram

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
    roles: Mapping[Any, str] | None = None,
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
    roles: Mapping[Any, str],
    previous: AnalysisResult | None,
    random_state: int,
    extra_statements: tuple[Id, ...],
) -> AnalysisResult:
    clock = _Clock()
    table = votes if isinstance(votes, VoteTable) else VoteTable.from_triples(votes)
    matrix = build_matrix(table, moderated_out)
    warm = previous.state if previous is not None else None
    cache = warm.cache if warm is not None else None
    clock.lap("matrix")

    prev_components = _previous_components(warm, table.statement_ids)
    components, gram_cache = _components(matrix, prev_components, cache.gram if cache else None, random_state)
    frame = None
    if components is prev_components:  # reused: the previous update's frame still applies
        frame = cache.frame if cache is not None else None
    elif prev_components is not None:
        frame = alignment(components, prev_components)
        components = np.asarray(frame @ components)
    projection = project(matrix, components)
    clock.lap("pca")

    same_people = cache is not None and cache.participant_ids == table.participant_ids
    rows = select_participants(matrix, keep=warm.clustered if warm else (),
                               keep_rows=cache.rows if cache is not None and same_people else None)
    points = projection.positions[rows]
    ids = table.participant_ids
    members = tuple([ids[r] for r in rows.tolist()])
    clusterings, scores, candidates, rivals = cluster_candidates(
        points, warm.centers if warm else {}, random_state, cache.anchor if cache else None, members,
        cache.kmeans if cache else None, frame, warm.rivals if warm else None)
    smoother = KSmoother()
    k = 0
    letters: list[str] = []
    labels = np.zeros(0, dtype=np.int64)
    if clusterings:
        winner = best_k(clusterings, 0.0 if scores is None or scores.exact else SILHOUETTE_TOLERANCE)
        smoother = (warm.smoother if warm else KSmoother()).update(winner)
        k = smoother.smoothed_k if smoother.smoothed_k in clusterings else winner
        chosen = clusterings[k]
        letters = _letters(chosen.labels, k, members, warm, cache)
        order = sorted(range(k), key=lambda c: letters[c])
        rank = np.empty(k, dtype=np.int64)
        rank[np.asarray(order, dtype=np.int64)] = np.arange(k)
        labels = rank[chosen.labels]
        letters = [letters[c] for c in order]
    clock.lap("groups")

    result, memo = measure(matrix, projection.statement_xy, rows, labels, letters, roles, extra_statements,
                           moderated_out, cache.stats if cache else None)
    clock.lap("stats")

    groups = _groups(members, labels, letters, points, clusterings.get(k), result["picks"])
    positions = (dict(zip(members, zip(points[:, 0].tolist(), points[:, 1].tolist(), strict=True), strict=True))
                 if k else {})
    new_cache = WarmCache(gram_cache, _anchor(scores, members, points, clusterings), memo,
                          members if k else (), labels.astype(np.int32) if k else np.zeros(0, dtype=np.int32),
                          tuple(letters), table.participant_ids,
                          rows.astype(np.int32) if k else np.zeros(0, dtype=np.int32), candidates,
                          frame)
    state = WarmState(
        statement_ids=table.statement_ids,
        components=components,
        centers={kk: c.centers for kk, c in clusterings.items()},
        rivals=rivals,
        smoother=smoother,
        previous_groups={g.id: frozenset(g.members) for g in groups},
        clustered=frozenset(members) if k else frozenset(),
        cache=new_cache,
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
        silhouette_bound=scores.bound if scores is not None else 0.0,
        lane_votes=result["lane_votes"],
        timings=dict(clock.laps),
        elapsed_ms=clock.total(),
        state=state,
    )


def _components(
    matrix: VoteMatrix, previous: NDArray[np.float64] | None, gram_cache: GramCache | None, random_state: int,
) -> tuple[NDArray[np.float64], GramCache | None]:
    """The two components, and CᵀC to keep for the next update when the exact Gram path applies:
    brought up to date from `gram_cache` with a warm Krylov solve when possible (`warmgram`), else
    formed and diagonalised exactly as on a cold start."""
    n, m = matrix.centred.shape
    if uses_gram(n, m) and 0 < m <= n:
        updated = updated_gram(matrix, gram_cache)
        if updated is not None:
            gram, entry = updated
            if gram_cache is not None and gram is gram_cache.gram and previous is not None:
                return previous, entry  # CᵀC unchanged to the bit: its eigenvectors are the previous ones
            return components_with_gram(matrix.centred, gram=gram, previous=previous)[0], entry
        components, formed = components_with_gram(matrix.centred, _start_vector(previous), random_state)
        return components, cache_for(matrix, formed) if formed is not None else None
    return components_with_gram(matrix.centred, _start_vector(previous), random_state)[0], None


def _letters(
    labels: NDArray[np.int64], k: int, members: tuple[Id, ...], warm: WarmState | None,
    cache: WarmCache | None,
) -> list[str]:
    """Stable group letters (`stability.matched_labels`); when the clustered participants are those of the
    previous update, the overlap is counted from its labels directly instead of through the member sets."""
    if warm is None:
        return matched_labels(labels, k, members, {})
    if cache is not None and cache.letters and cache.members == members:
        return matched_labels_by_rows(labels, k, cache.labels, list(cache.letters))
    return matched_labels(labels, k, members, warm.previous_groups)


def _anchor(
    scores: SilhouetteScores | None, members: tuple[Id, ...], points: NDArray[np.float64],
    clusterings: dict[int, Clustering],
) -> SilhouetteAnchor | None:
    """The anchor for the next update: this run's exact silhouettes, or the carried-over anchor."""
    if scores is None:
        return None
    if scores.anchor is not None:
        return scores.anchor
    if scores.sums is None:
        return None
    return make_anchor(members, points, {kk: c.labels for kk, c in clusterings.items()}, scores.sums,
                       scores.means)


def _previous_components(
    warm: WarmState | None, statement_ids: tuple[Id, ...],
) -> NDArray[np.float64] | None:
    """The previous components laid out in the current statement order (0 for new statements)."""
    if warm is None or not warm.statement_ids:
        return None
    if warm.statement_ids == statement_ids:
        return warm.components if np.any(warm.components) else None
    where = {s: j for j, s in enumerate(warm.statement_ids)}
    out = np.zeros((warm.components.shape[0], len(statement_ids)))
    for j, s in enumerate(statement_ids):
        old = where.get(s)
        if old is not None:
            out[:, j] = warm.components[:, old]
    return out if np.any(out) else None


def _start_vector(components: NDArray[np.float64] | None) -> NDArray[np.float64] | None:
    return None if components is None else np.asarray(components[0])


def _groups(
    members: tuple[Id, ...],
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
        group = tuple([members[i] for i in np.flatnonzero(mine).tolist()])
        center = points[mine].mean(axis=0) if mine.any() else np.zeros(2)
        out.append(Group(letter, group, (float(center[0]), float(center[1])), tuple(picks[letter])))
    return tuple(out)
