"""The incremental warm update must give what recomputing gives: same k, groups, counts and shares.

Two references: a cold run on the updated votes (what the map would show without history), and a warm run
from the same previous result with its reuse cache removed (`WarmState.cache`): the latter isolates the
incremental shortcuts (Gram update, carried silhouettes, reused statistics), which must change nothing
but the silhouettes, and those only within the reported bound.
"""

from __future__ import annotations

import dataclasses
import pickle
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from clustering import ACCEPTABLE, AGREE, DISAGREE, PASS, AnalysisResult, VoteTable, analyze
from clustering.anchor import FLOAT_SLACK, certify, make_anchor
from clustering.matrix import build_matrix
from clustering.stability import K_BUFFER
from clustering.warmgram import fingerprints
from tests.clustering.conftest import CONVERSATIONS, reference
from tests.clustering.synthetic import planted


def _triples(table: VoteTable) -> list[tuple[Any, Any, float]]:
    return [(table.participant_ids[r], table.statement_ids[c], v)
            for r, c, v in zip(table.rows.tolist(), table.cols.tolist(), table.values.tolist(), strict=True)]


def _with(table: VoteTable, extra: list[tuple[Any, Any, float]]) -> VoteTable:
    """The table with `extra` votes appended (later votes win)."""
    rows = _triples(table) + extra
    p = np.empty(len(rows), dtype=object)
    p[:] = [r[0] for r in rows]
    s = np.empty(len(rows), dtype=object)
    s[:] = [r[1] for r in rows]
    return VoteTable.from_arrays(p, s, np.array([r[2] for r in rows]))


def _first_unseen(table: VoteTable, moderated: frozenset[Any], active: bool, skip: int = 0) -> tuple[Any, Any]:
    """A participant with >= 7 votes and a statement they have not voted on (an active one if asked)."""
    counts = np.bincount(table.rows, minlength=table.n_participants)
    voted = set(zip(table.rows.tolist(), table.cols.tolist(), strict=True))
    candidates = np.flatnonzero((counts >= 7) & (counts < table.n_statements - len(moderated))).tolist()
    for row in candidates[skip:]:
        for col in range(table.n_statements):
            if (row, col) not in voted and (not active or table.statement_ids[col] not in moderated):
                return table.participant_ids[row], table.statement_ids[col]
    raise AssertionError("no unseen pair")


def _without_cache(result: AnalysisResult) -> AnalysisResult:
    """The same previous result without its reuse cache: the warm path recomputes everything."""
    assert result.state is not None
    return dataclasses.replace(result, state=dataclasses.replace(result.state, cache=None))


def _partition(result: AnalysisResult) -> list[tuple[str, ...]]:
    """The groups as sorted member lists, whatever their letters."""
    return sorted(tuple(sorted(map(str, g.members))) for g in result.groups)


def _canonical(result: AnalysisResult) -> dict[str, Any]:
    """Everything a reader sees, with group letters replaced by the group's members (warm runs keep the
    previous letters, cold runs letter by size) and floats rounded far below anything shown."""
    name = {g.id: tuple(sorted(map(str, g.members))) for g in result.groups}

    def unit(u: str) -> Any:
        return name.get(u, u)

    def r(x: float) -> float:
        return round(float(x), 9)

    return {
        "counts": (result.participants, result.statements, result.votes, result.clustered, result.k),
        "groups": sorted((name[g.id], [(str(p.statement), p.direction, r(p.share), r(p.z), p.counts)
                                        for p in g.representative]) for g in result.groups),
        "consensus": [(str(c.statement), r(c.score), sorted((unit(u), t) for u, t in c.groups.items()))
                      for c in result.consensus],
        "majority": [(str(o.statement), o.direction, r(o.share), o.counts) for o in result.majority],
        "acceptance": [(str(a.statement), r(a.worst_share), a.acceptable,
                        sorted((unit(u), r(s)) for u, s in a.group_shares.items()),
                        sorted((unit(u), t) for u, t in a.group_counts.items())) for a in result.acceptance],
        "divisive": [(str(d.statement), r(d.spread), unit(d.most), unit(d.least)) for d in result.divisive],
        "lanes": sorted((str(s), lane) for s, lane in result.lanes.items()),
        "priority": sorted((str(s), round(p, 6)) for s, p in result.priority.items()),
        "group_votes": sorted((unit(u), sorted((str(s), t) for s, t in votes.items()))
                              for u, votes in result.group_votes.items()),
    }


def _assert_same_as_recomputed(update: AnalysisResult, reference_run: AnalysisResult) -> None:
    """The incremental update equals the warm update without cache, silhouettes within the bound."""
    assert _canonical(update) == _canonical(reference_run)
    assert update.to_dict()["groups"] == reference_run.to_dict()["groups"]
    assert set(update.silhouettes) == set(reference_run.silhouettes)
    for k, s in update.silhouettes.items():
        assert abs(s - reference_run.silhouettes[k]) <= update.silhouette_bound + FLOAT_SLACK, k


@pytest.mark.parametrize("name", CONVERSATIONS)
@pytest.mark.parametrize("active", [False, True], ids=["first-unseen", "active-statement"])
def test_one_vote_warm_equals_cold(name: str, active: bool) -> None:
    """After one new vote the warm update has the cold run's k, groups, counts and shares."""
    ref = reference(name)
    table, moderated = ref.conversation.votes, ref.conversation.moderated_out
    first = analyze(table, moderated_out=moderated)
    participant, statement = _first_unseen(table, moderated, active)
    updated = _with(table, [(participant, statement, AGREE)])
    warm = analyze(updated, moderated_out=moderated, previous=first)
    cold = analyze(updated, moderated_out=moderated)
    _assert_same_as_recomputed(warm, analyze(updated, moderated_out=moderated, previous=_without_cache(first)))
    assert warm.state is not None
    assert warm.state.smoother.last_k == cold.k  # the silhouette winner is the cold run's
    if warm.k != cold.k:  # shown only after K_BUFFER consecutive wins (london.youth.policing: 3 -> 4)
        assert warm.k == first.k and warm.state.smoother.last_k_count < K_BUFFER
        return
    assert _partition(warm) == _partition(cold)
    assert _canonical(warm) == _canonical(cold)


def test_one_vote_reuses_the_previous_work() -> None:
    """A vote on an active statement takes the incremental paths: the Gram matrix is updated, the
    silhouettes are carried with a bound, and the cache is handed on (so a regression to recomputing
    everything fails here, not just in the benchmark)."""
    ref = reference("vtaiwan.uberx")
    table, moderated = ref.conversation.votes, ref.conversation.moderated_out
    first = analyze(table, moderated_out=moderated)
    participant, statement = _first_unseen(table, moderated, True)
    warm = analyze(_with(table, [(participant, statement, DISAGREE)]), moderated_out=moderated, previous=first)
    assert first.state is not None and first.state.cache is not None and warm.state is not None
    cache = warm.state.cache
    assert cache is not None and cache.gram is not None and cache.anchor is not None and cache.stats is not None
    assert cache.anchor.updates == 1 and 0 < warm.silhouette_bound < 0.01
    assert first.state.cache.gram is not None and cache.gram.gram is not first.state.cache.gram.gram
    assert first.silhouette_bound == 0.0


def _synthetic_changes(table: VoteTable) -> list[Callable[[VoteTable, set[Any]], tuple[VoteTable, set[Any]]]]:
    """Updates of every kind a live meeting makes, in order."""
    ids = table.participant_ids
    rng = np.random.default_rng(7)

    def vote(t: VoteTable, mod: set[Any]) -> tuple[VoteTable, set[Any]]:
        p, s = _first_unseen(t, frozenset(mod), True, skip=3)
        return _with(t, [(p, s, DISAGREE)]), mod

    def change(t: VoteTable, mod: set[Any]) -> tuple[VoteTable, set[Any]]:
        r = int(t.rows[5])
        c = int(t.cols[5])
        old = float(t.values[5])
        return _with(t, [(t.participant_ids[r], t.statement_ids[c], AGREE if old != AGREE else DISAGREE)]), mod

    def newcomer(t: VoteTable, mod: set[Any]) -> tuple[VoteTable, set[Any]]:
        who = f"new-{len(t.participant_ids)}"
        picks = rng.choice(t.n_statements, 9, replace=False).tolist()
        return _with(t, [(who, t.statement_ids[c], float(rng.choice([AGREE, DISAGREE, PASS]))) for c in picks]), mod

    def statement(t: VoteTable, mod: set[Any]) -> tuple[VoteTable, set[Any]]:
        sid = 10_000 + t.n_statements
        voters = rng.choice(t.n_participants, 40, replace=False).tolist()
        return _with(t, [(t.participant_ids[r], sid, float(rng.choice([AGREE, DISAGREE]))) for r in voters]), mod

    def moderate(t: VoteTable, mod: set[Any]) -> tuple[VoteTable, set[Any]]:
        return t, mod | {t.statement_ids[3]}

    def swap(t: VoteTable, mod: set[Any]) -> tuple[VoteTable, set[Any]]:
        """Two participants exchange their votes on one statement: counts and means stay, C changes."""
        col = int(t.cols[0])
        on = np.flatnonzero(t.cols == col)
        agree = next(i for i in on.tolist() if t.values[i] == AGREE)
        disagree = next(i for i in on.tolist() if t.values[i] == DISAGREE)
        a, d = t.participant_ids[int(t.rows[agree])], t.participant_ids[int(t.rows[disagree])]
        return _with(t, [(a, t.statement_ids[col], DISAGREE), (d, t.statement_ids[col], AGREE)]), mod

    assert ids
    return [vote, vote, change, swap, newcomer, vote, statement, vote, moderate, vote, change, newcomer,
            vote, swap, vote]


@pytest.mark.parametrize("source", ["synthetic", "brexit-consensus"])
def test_many_changes_stay_equal_to_recomputing(source: str) -> None:
    """Through votes, changed and swapped votes, newcomers, new and moderated-out statements, every
    incremental update equals the same warm update recomputed from scratch, and matches a cold run's
    groups whenever the k-smoothing rule shows the same k."""
    if source == "synthetic":
        table, _ = planted(300, 40, 3, 20, seed=3)
        moderated: set[Any] = set()
    else:
        ref = reference(source)
        table, moderated = ref.conversation.votes, set(ref.conversation.moderated_out)
    previous = analyze(table, moderated_out=moderated)
    for step, change in enumerate(_synthetic_changes(table)):
        table, moderated = change(table, moderated)
        update = analyze(table, moderated_out=moderated, previous=previous)
        recomputed = analyze(table, moderated_out=moderated, previous=_without_cache(previous))
        _assert_same_as_recomputed(update, recomputed)
        cold = analyze(table, moderated_out=moderated)
        assert update.state is not None
        if update.k == cold.k:
            if source == "synthetic":
                assert _partition(update) == _partition(cold), step
        else:  # the smoother holds the shown k until the new one has won K_BUFFER updates in a row
            assert update.state.smoother.smoothed_k == update.k != update.state.smoother.last_k, step
        previous = update


def test_stored_result_warm_starts_without_the_cache() -> None:
    """A result read back from its stored JSON has no reuse cache, warm-starts all the same and gives the
    same update as the in-memory one."""
    table, _ = planted(200, 30, 2, 15, seed=1)
    first = analyze(table)
    again = AnalysisResult.from_dict(first.to_dict(digits=None, warm=True))
    assert again.state is not None and again.state.cache is None
    p, s = _first_unseen(table, frozenset(), True)
    updated = _with(table, [(p, s, AGREE)])
    _assert_same_as_recomputed(analyze(updated, previous=first), analyze(updated, previous=again))


def test_the_cache_pickles_with_the_state() -> None:
    """The live server hands the previous result to a worker process: the numeric caches (Gram matrix,
    silhouette anchor, k-means candidates) survive pickling, the statistics memo is left behind, and the
    update made from the unpickled state equals the one recomputed without any cache."""
    table, _ = planted(200, 30, 2, 15, seed=2)
    first = pickle.loads(pickle.dumps(AnalysisResult(state=analyze(table).state)))
    assert first.state is not None and first.state.cache is not None
    cache = first.state.cache
    assert cache.gram is not None and cache.anchor is not None and cache.kmeans is not None and cache.stats is None
    p, s = _first_unseen(table, frozenset(), True)
    updated = _with(table, [(p, s, AGREE)])
    _assert_same_as_recomputed(analyze(updated, previous=first), analyze(updated, previous=_without_cache(first)))


def test_fingerprints_see_swapped_votes() -> None:
    """Two participants exchanging an agree and a disagree on one statement leave its counts and mean
    unchanged but not its fingerprint (a sum of a linear hash would miss this)."""
    table = VoteTable.from_triples([("a", 1, AGREE), ("b", 1, DISAGREE), ("a", 2, PASS), ("b", 2, AGREE)])
    swapped = VoteTable.from_triples([("a", 1, DISAGREE), ("b", 1, AGREE), ("a", 2, PASS), ("b", 2, AGREE)])
    before, after = fingerprints(build_matrix(table, ())), fingerprints(build_matrix(swapped, ()))
    assert before[0] != after[0] and before[1] == after[1]


def test_certify_refuses_a_close_call() -> None:
    """When the bound leaves two ks too close to call, the silhouettes must be recomputed (None)."""
    rng = np.random.default_rng(0)
    points = np.vstack([rng.normal(-3, 1, (30, 2)), rng.normal(3, 1, (30, 2))])
    labels = {2: (points[:, 0] > 0).astype(np.int64), 3: (points[:, 0] > 0).astype(np.int64) + (points[:, 1] > 2)}
    sums = np.zeros((60, 5))
    for row, k in enumerate((2, 3)):
        offset = (0, 2)[row]
        d = np.linalg.norm(points[:, None] - points[None], axis=2)
        for g in range(k):
            sums[:, offset + g] = d[:, labels[k] == g].sum(axis=1)
    members = tuple(range(60))
    far = make_anchor(members, points, labels, sums, {2: 0.60, 3: 0.40})
    certified = certify(far, members, points.copy(), labels)
    assert certified is not None and certified[1] == 0.0
    close = make_anchor(members, points, labels, sums, {2: 0.60, 3: 0.5999})
    assert certify(close, members, points.copy(), labels) is None
    assert certify(far, members, points + 1e-6, labels) is not None
    moved = points.copy()
    moved[:, 0] *= 1.5
    assert certify(far, members, moved, labels) is None


@pytest.mark.parametrize("seed", range(12))
def test_random_update_chains_equal_recomputing(seed: int) -> None:
    """Small random meetings (2-60 people, 1-25 statements, every vote code, roles on odd seeds) through
    eight random changes each: every incremental update equals the update recomputed without the cache.
    Small, dense, tie-prone inputs are where a shortcut's edge cases show (empty groups, rank-deficient
    matrices, ks appearing and disappearing)."""
    rng = np.random.default_rng(seed)
    codes = [AGREE, DISAGREE, PASS, ACCEPTABLE]
    n, m = int(rng.integers(2, 60)), int(rng.integers(1, 25))
    votes: dict[tuple[int, int], float] = {}
    for _ in range(int(rng.integers(1, n * m + 1))):
        votes[(int(rng.integers(n)), int(rng.integers(m)))] = float(rng.choice(codes))
    moderated: set[int] = set()
    previous: AnalysisResult | None = None
    for _ in range(8):
        kind = int(rng.integers(5))
        if kind == 0:
            for _ in range(int(rng.integers(1, 4))):
                votes[(int(rng.integers(n)), int(rng.integers(m)))] = float(rng.choice(codes))
        elif kind == 1:
            n += 1
            for c in rng.choice(m, min(m, 8), replace=False).tolist():
                votes[(n - 1, int(c))] = float(rng.choice(codes))
        elif kind == 2:
            m += 1
            for r in rng.choice(n, min(n, 5), replace=False).tolist():
                votes[(int(r), m - 1)] = float(rng.choice(codes))
        elif kind == 3 and m > 1:
            moderated ^= {int(rng.integers(m))}
        else:
            key = list(votes)[int(rng.integers(len(votes)))]
            votes[key] = float(rng.choice(codes))
        triples = [(p, s, v) for (p, s), v in votes.items()]
        roles = {p: ("x" if p % 3 else "y") for p in range(n)} if seed % 2 else None
        update = analyze(triples, moderated_out=frozenset(moderated), roles=roles, previous=previous)
        if previous is not None:
            _assert_same_as_recomputed(update, analyze(triples, moderated_out=frozenset(moderated), roles=roles,
                                                       previous=_without_cache(previous)))
        previous = update
