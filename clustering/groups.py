"""Opinion groups: k-means on the 2-D map positions for each candidate k, scored by silhouette.

Pol.is first condenses participants into ~100 *base clusters* and then clusters those (weighted by
size), because its Clojure k-means on every participant was slow. On a 2-D map, scikit-learn's k-means
over all clustered participants takes a few milliseconds even at 20,000 people, and it is what
red-dwarf (the reference) does, so we cluster participants directly: same groups, one stage fewer.

Silhouette is exact up to `SILHOUETTE_SAMPLE` points and estimated on a fixed-seed sample above it
(it is quadratic in the number of points).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from sklearn.cluster import KMeans
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import silhouette_score

MIN_K = 2
"""Pol.is always looks for at least two groups."""

MAX_K = 5
"""Pol.is `:max-k 5`."""

KMEANS_N_INIT = 10
"""k-means++ restarts tried on a cold start besides the Pol.is start (see `POLIS_START_TOLERANCE`)."""

POLIS_START_TOLERANCE = 0.01
"""A cold start keeps the Pol.is-style solution (k-means from the first k distinct points, which is what
Pol.is and red-dwarf compute) unless a k-means++ restart lowers the within-group sum of squares by more
than 1%. Near-equal optima are then settled the way Pol.is settles them, while a clearly worse local
optimum (measured on london.youth.policing: 44% worse at k=4) is not kept just for compatibility."""

KMEANS_MAX_ITER = 300
"""scikit-learn's default; Lloyd converges in far fewer steps in 2-D."""

SILHOUETTE_SAMPLE = 3_000
"""Points used to score a clustering; exact below this size."""


@dataclass(frozen=True, eq=False)
class Clustering:
    """One k-means solution: `labels[i]` in 0..k-1 for each clustered participant."""

    k: int
    labels: NDArray[np.int64]
    centers: NDArray[np.float64]
    silhouette: float


def candidate_ks(points: NDArray[np.float64]) -> range:
    """k from 2 up to 5, capped so every group can hold a distinct point and silhouette is defined."""
    n = points.shape[0]
    if n < 3:
        return range(0)
    distinct = np.unique(points, axis=0).shape[0]
    return range(MIN_K, min(MAX_K, distinct, n - 1) + 1)


def fit_kmeans(
    points: NDArray[np.float64], k: int, init: NDArray[np.float64] | None, random_state: int,
) -> Clustering:
    """Lloyd k-means: one run from `init` (the previous update's centers) when given; on a cold start
    the Pol.is start and k-means++ restarts, see `POLIS_START_TOLERANCE`."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        if init is not None and init.shape == (k, points.shape[1]) and np.all(np.isfinite(init)):
            model = KMeans(k, init=init, n_init=1, max_iter=KMEANS_MAX_ITER, random_state=random_state)
            model.fit(points)
        else:
            start = np.unique(points, axis=0)[:k]
            model = KMeans(k, init=start, n_init=1, max_iter=KMEANS_MAX_ITER).fit(points)
            restarts = KMeans(k, init="k-means++", n_init=KMEANS_N_INIT, max_iter=KMEANS_MAX_ITER,
                              random_state=random_state).fit(points)
            if restarts.inertia_ < (1.0 - POLIS_START_TOLERANCE) * model.inertia_:
                model = restarts
    labels = model.labels_.astype(np.int64)
    return Clustering(k, labels, model.cluster_centers_.astype(np.float64),
                      _silhouette(points, labels, random_state))


def _silhouette(points: NDArray[np.float64], labels: NDArray[np.int64], random_state: int) -> float:
    """Mean silhouette, or -1 when undefined (a single non-empty cluster)."""
    if np.unique(labels).size < 2:
        return -1.0
    n = points.shape[0]
    if n > SILHOUETTE_SAMPLE:
        idx = np.random.default_rng(random_state).choice(n, SILHOUETTE_SAMPLE, replace=False)
        if np.unique(labels[idx]).size < 2:
            return -1.0
        return float(silhouette_score(points[idx], labels[idx]))
    return float(silhouette_score(points, labels))


def cluster_all_k(
    points: NDArray[np.float64],
    warm_centers: dict[int, NDArray[np.float64]],
    random_state: int,
) -> dict[int, Clustering]:
    """Every candidate k's clustering, warm-started per k where a previous solution exists."""
    return {k: fit_kmeans(points, k, warm_centers.get(k), random_state) for k in candidate_ks(points)}


def best_k(clusterings: dict[int, Clustering]) -> int:
    """The k with the highest silhouette; ties go to the smaller k."""
    return max(sorted(clusterings), key=lambda k: clusterings[k].silhouette)
