"""Choosing k: exact silhouettes where affordable, a sample sized by its own error above, ties within the
tolerance to the smaller k, and no one-participant opinion group (docs/method.md, "4. Groups")."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.typing import NDArray
from sklearn.metrics import silhouette_score

from clustering import AGREE, DISAGREE, analyze
from clustering.groups import (
    MIN_GROUP_SIZE,
    SILHOUETTE_EXACT_MAX,
    SILHOUETTE_SE_RATIO,
    SILHOUETTE_TOLERANCE,
    Clustering,
    best_k,
    cluster_all_k,
    fit_all_k,
    point_silhouettes,
    score_silhouettes,
)
from tests.clustering.conftest import CONVERSATIONS, reference


def three_blobs(n: int, lift: float, seed: int = 0) -> NDArray[np.float64]:
    """Two unit blobs 6 apart and a third between them, `lift` above the line: low lifts make k=2 and
    k=3 nearly equally good (the third blob reads as part of either side)."""
    rng = np.random.default_rng(seed)
    m = n // 3
    right, middle = np.array([6.0, 0.0]), np.array([3.0, lift])
    return np.vstack([rng.normal(size=(m, 2)), rng.normal(size=(m, 2)) + right,
                      rng.normal(size=(n - 2 * m, 2)) + middle])


def _fake(silhouettes: dict[int, float]) -> dict[int, Clustering]:
    labels = np.zeros(1, dtype=np.int64)
    return {k: Clustering(k, labels, np.zeros((k, 2)), 0.0, s) for k, s in silhouettes.items()}


def test_ties_within_the_tolerance_go_to_the_smaller_k() -> None:
    """red-dwarf's rule for equal scores (GridSearchCV keeps the first, smallest, k) applied to a tie."""
    near = _fake({2: 0.500, 3: 0.505, 4: 0.30})
    assert best_k(near, SILHOUETTE_TOLERANCE) == 2
    assert best_k(near, 0.0) == 3
    assert best_k(_fake({2: 0.40, 3: 0.40}), 0.0) == 2
    assert best_k(_fake({2: 0.40, 3: 0.40 + 2 * SILHOUETTE_TOLERANCE}), SILHOUETTE_TOLERANCE) == 3


@pytest.mark.parametrize("name", CONVERSATIONS)
def test_exact_silhouettes_equal_scikit_learns(name: str) -> None:
    """On every shared conversation each k's silhouette is scikit-learn's silhouette_score (what red-dwarf
    computes) on all clustered participants, to float32 precision."""
    result = reference(name).ours
    assert result.silhouette_sample == result.clustered <= SILHOUETTE_EXACT_MAX
    points = np.array(list(result.positions.values()))
    fits = fit_all_k(points, sorted(result.silhouettes), {}, 0)
    for k, fit in fits.items():
        assert abs(result.silhouettes[k] - silhouette_score(points, fit.labels)) < 1e-5, k


def test_near_tie_below_the_exact_limit_follows_the_exact_values() -> None:
    """1,000 points where k=3 beats k=2 by less than the tolerance: exact scores, so k=3, as red-dwarf."""
    points = three_blobs(1_000, 2.05)
    clusterings, scores = cluster_all_k(points, {}, 0)
    assert scores is not None and scores.exact
    gap = clusterings[3].silhouette - clusterings[2].silhouette
    assert 0 < gap < SILHOUETTE_TOLERANCE
    for k in (2, 3):
        assert abs(clusterings[k].silhouette - silhouette_score(points, clusterings[k].labels)) < 1e-5
    assert best_k(clusterings, 0.0) == 3


@pytest.mark.slow
def test_near_tie_above_the_exact_limit_is_a_tie_for_the_smaller_k() -> None:
    """12,000 points where k=2 and k=3 are within the tolerance: the sample grows until its error on
    that gap is a quarter of the tolerance, the estimate is within 4 standard errors of the exact
    value, and the pipeline's rule picks the smaller k."""
    points = three_blobs(12_000, 1.6)
    clusterings, scores = cluster_all_k(points, {}, 0)
    assert scores is not None and not scores.exact
    assert SILHOUETTE_EXACT_MAX < scores.sample <= points.shape[0]
    estimate = clusterings[3].silhouette - clusterings[2].silhouette
    assert abs(estimate) < SILHOUETTE_TOLERANCE
    leader = 3 if estimate > 0 else 2
    other = 5 - leader
    assert scores.stderr[other] <= SILHOUETTE_TOLERANCE / SILHOUETTE_SE_RATIO
    exact = point_silhouettes(points, None, [clusterings[2], clusterings[3]]).mean(axis=0)
    assert abs((exact[1] - exact[0]) - estimate) <= 4 * scores.stderr[other]
    assert best_k(clusterings, SILHOUETTE_TOLERANCE) == 2


def test_sample_settles_clear_cases_quickly() -> None:
    """Well separated groups above the exact limit: the first sample decides, and its error on every gap
    is within a quarter of that gap."""
    points = three_blobs(SILHOUETTE_EXACT_MAX + 1_000, 4.0)
    fits = fit_all_k(points, [2, 3, 4, 5], {}, 0)
    scores = score_silhouettes(points, fits, 0)
    assert not scores.exact and scores.sample < points.shape[0]
    leader = max(scores.means, key=lambda k: scores.means[k])
    assert leader == 3
    for k, se in scores.stderr.items():
        assert se <= max(scores.means[leader] - scores.means[k], SILHOUETTE_TOLERANCE) / SILHOUETTE_SE_RATIO


def test_a_lone_participant_is_never_an_opinion_group() -> None:
    """Two camps and one participant far from both: the k that would give the outlier its own group is
    not a candidate; no group in the result has fewer than MIN_GROUP_SIZE members."""
    rng = np.random.default_rng(3)
    camps = np.vstack([rng.normal(size=(20, 2)) * 0.2, rng.normal(size=(20, 2)) * 0.2 + [3.0, 0.0]])
    points = np.vstack([camps, [[1.5, 40.0]]])
    fits = fit_all_k(points, [2, 3], {}, 0)
    assert np.bincount(fits[3].labels).min() == 1  # k=3 would isolate the outlier
    clusterings, _ = cluster_all_k(points, {}, 0)
    assert 3 not in clusterings
    assert all(np.bincount(c.labels).min() >= MIN_GROUP_SIZE for c in clusterings.values())


def test_a_meeting_with_an_outlier_shows_no_group_of_one() -> None:
    """End to end: 3 voters, one of them alone on the other side. Any split would leave a group of one,
    so there are no opinion groups and the room is analysed as one unit."""
    votes = [(p, s, AGREE) for p in ("a", "b") for s in range(8)]
    votes += [("c", s, DISAGREE) for s in range(8)]
    result = analyze(votes)
    assert result.groups == () and result.k == 0
    assert all(set(units) == {"all"} for units in result.lane_votes.values())
    assert all(g.size >= MIN_GROUP_SIZE for g in analyze(votes + [("d", s, DISAGREE) for s in range(8)]).groups)
