"""Opinion groups: k-means on the 2-D map positions for each candidate k, scored by silhouette.

Pol.is first condenses participants into ~100 *base clusters* and then clusters those (weighted by
size), because its Clojure k-means over every participant was slow. In 2-D a vectorised Lloyd step over
20,000 points costs well under a millisecond, and clustering participants directly is what red-dwarf
(the reference) does, so we skip the base clusters: same groups, one stage fewer.

k-means and silhouette are small numpy routines rather than scikit-learn estimators: with k <= 5 in
2-D, the estimators' per-call validation and thread-pool set-up cost more than the arithmetic, and the
pipeline runs dozens of fits per update. Silhouette reuses one distance matrix for every k and is
exact up to `SILHOUETTE_SAMPLE` points, estimated on a fixed-seed sample above (it is quadratic).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

MIN_K = 2
"""Pol.is always looks for at least two groups."""

MAX_K = 5
"""Pol.is `:max-k 5`."""

KMEANS_RESTARTS = 3
"""k-means++ restarts tried on a cold start besides the Pol.is start (see `POLIS_START_TOLERANCE`)."""

POLIS_START_TOLERANCE = 0.01
"""A cold start keeps the Pol.is-style solution (Lloyd from the lexicographically first k distinct
points: red-dwarf's order-independent reading of Pol.is's "first k distinct rows" start) unless a
k-means++ restart lowers the within-group sum of squares by more than 1%. Near-equal optima are then
settled the way Pol.is and red-dwarf settle them, while a clearly worse local optimum (measured on
london.youth.policing: 44% worse at k=4, which changes the chosen k) is not kept for compatibility."""

RESTART_SAMPLE = 500
"""Above this many participants the k-means++ restarts run on a fixed-seed sample of 500, and only the
best is refined on everyone: the restarts only have to find the right basin."""

KMEANS_MAX_ITER = 300
"""Lloyd iterations cap (scikit-learn's default); 2-D runs converge in tens."""

KMEANS_TOL = 1e-4
"""Stop when the centers' total squared shift falls below 1e-4 x the data's mean variance
(scikit-learn's `tol` default and rule)."""

SILHOUETTE_SAMPLE = 1_000
"""Points used to score a clustering: exact below, a fixed-seed sample above. The standard error of a
mean silhouette over 1,000 points is about 0.01, and Pol.is itself scores only ~100 base clusters."""


@dataclass(frozen=True, eq=False)
class Clustering:
    """One k-means solution: `labels[i]` in 0..k-1 for each clustered participant."""

    k: int
    labels: NDArray[np.int64]
    centers: NDArray[np.float64]
    inertia: float
    silhouette: float = -1.0


def candidate_ks(points: NDArray[np.float64]) -> range:
    """k from 2 up to 5, capped so every group can hold a distinct point and silhouette is defined."""
    n = points.shape[0]
    if n < 3:
        return range(0)
    distinct = np.unique(points, axis=0).shape[0]
    return range(MIN_K, min(MAX_K, distinct, n - 1) + 1)


def lloyd(points: NDArray[np.float64], centers: NDArray[np.float64], max_iter: int = KMEANS_MAX_ITER,
          ) -> Clustering:
    """Lloyd iterations until no label changes or the centers move less than `KMEANS_TOL` (the
    stopping rule of scikit-learn's KMeans, which red-dwarf uses). An emptied cluster restarts at the
    point farthest from its center, as in scikit-learn, so k groups stay k groups."""
    k = centers.shape[0]
    centers = centers.astype(np.float64, copy=True)
    labels = np.full(points.shape[0], -1, dtype=np.int64)
    tol = KMEANS_TOL * float(np.mean(np.var(points, axis=0))) if points.shape[0] else 0.0
    for _ in range(max_iter):
        new = _assign(points, centers)
        counts = np.bincount(new, minlength=k)
        if not counts.all():
            new, counts = _refill_empty(points, centers, new, counts)
        if np.array_equal(new, labels):
            break
        labels = new
        moved = np.empty_like(centers)
        for d in range(points.shape[1]):
            moved[:, d] = np.bincount(labels, weights=points[:, d], minlength=k) / counts
        shift = float(((moved - centers) ** 2).sum())
        centers = moved
        if shift <= tol:
            labels = _assign(points, centers)
            break
    inertia = float(((points - centers[labels]) ** 2).sum())
    return Clustering(k, labels, centers, inertia)


def _assign(points: NDArray[np.float64], centers: NDArray[np.float64]) -> NDArray[np.int64]:
    """Nearest center by −2x·c + ‖c‖² (‖x‖² is the same for every center, so it is left out)."""
    d = points @ (-2.0 * centers.T)
    d += (centers ** 2).sum(axis=1)
    return np.asarray(np.argmin(d, axis=1), dtype=np.int64)


def _refill_empty(
    points: NDArray[np.float64], centers: NDArray[np.float64], labels: NDArray[np.int64],
    counts: NDArray[np.int64],
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    labels = labels.copy()
    far = np.argsort(-((points - centers[labels]) ** 2).sum(axis=1), kind="stable")
    for c, p in zip(np.flatnonzero(counts == 0).tolist(), far.tolist(), strict=False):
        labels[p] = c
    return labels, np.bincount(labels, minlength=centers.shape[0])


def kmeans_plus_plus(points: NDArray[np.float64], k: int, rng: np.random.Generator) -> NDArray[np.float64]:
    """k-means++ seeding: each next center drawn with probability proportional to squared distance."""
    centers = [points[rng.integers(points.shape[0])]]
    closest = ((points - centers[0]) ** 2).sum(axis=1)
    for _ in range(1, k):
        total = closest.sum()
        pick = int(rng.choice(points.shape[0], p=closest / total)) if total > 0 else 0
        centers.append(points[pick])
        closest = np.minimum(closest, ((points - points[pick]) ** 2).sum(axis=1))
    return np.asarray(centers)


def fit_kmeans(
    points: NDArray[np.float64], k: int, init: NDArray[np.float64] | None, random_state: int,
) -> Clustering:
    """One Lloyd run from `init` (the previous update's centers) when given; on a cold start the
    Pol.is start and k-means++ restarts, see `POLIS_START_TOLERANCE`."""
    if init is not None and init.shape == (k, points.shape[1]) and np.all(np.isfinite(init)):
        return lloyd(points, init)
    best = lloyd(points, np.unique(points, axis=0)[:k])
    rng = np.random.default_rng([random_state, k])
    sample = points
    if points.shape[0] > RESTART_SAMPLE:
        sample = points[np.sort(rng.choice(points.shape[0], RESTART_SAMPLE, replace=False))]
    restarts = [lloyd(sample, kmeans_plus_plus(sample, k, rng)) for _ in range(KMEANS_RESTARTS)]
    challenger = min(restarts, key=lambda c: c.inertia)
    if sample is not points:
        challenger = lloyd(points, challenger.centers)
    if challenger.inertia < (1.0 - POLIS_START_TOLERANCE) * best.inertia:
        return challenger
    return best


def silhouettes(
    points: NDArray[np.float64], clusterings: dict[int, Clustering], random_state: int,
) -> dict[int, Clustering]:
    """Attach the mean silhouette to each clustering, sharing one distance matrix."""
    n = points.shape[0]
    idx = np.arange(n)
    if n > SILHOUETTE_SAMPLE:
        idx = np.sort(np.random.default_rng(random_state).choice(n, SILHOUETTE_SAMPLE, replace=False))
    sample = points[idx].astype(np.float32)
    sq = (sample ** 2).sum(axis=1)
    gram = sample @ sample.T
    gram *= -2.0
    gram += sq[:, None]
    gram += sq[None, :]
    dist = np.sqrt(np.maximum(gram, 0.0, out=gram), out=gram)
    out = {}
    for k, c in clusterings.items():
        out[k] = Clustering(c.k, c.labels, c.centers, c.inertia, _mean_silhouette(dist, c.labels[idx], k))
    return out


def _mean_silhouette(dist: NDArray[np.float64], labels: NDArray[np.int64], k: int) -> float:
    """Mean of (b − a) / max(a, b); a point alone in its cluster scores 0 (scikit-learn's rule)."""
    counts = np.bincount(labels, minlength=k)
    if np.count_nonzero(counts) < 2:
        return -1.0
    onehot = np.zeros((labels.size, k), dtype=dist.dtype)
    onehot[np.arange(labels.size), labels] = 1.0
    sums = dist @ onehot
    own = counts[labels]
    a = sums[np.arange(labels.size), labels] / np.maximum(own - 1, 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_other = sums / counts[None, :]
    mean_other[np.arange(labels.size), labels] = np.inf
    mean_other[:, counts == 0] = np.inf
    b = mean_other.min(axis=1)
    denom = np.maximum(a, b)
    s = np.where((own > 1) & (denom > 0), (b - a) / np.where(denom > 0, denom, 1.0), 0.0)
    return float(s.mean())


def cluster_all_k(
    points: NDArray[np.float64],
    warm_centers: dict[int, NDArray[np.float64]],
    random_state: int,
) -> dict[int, Clustering]:
    """Every candidate k's clustering with its silhouette, warm-started per k where possible."""
    fits = {k: fit_kmeans(points, k, warm_centers.get(k), random_state) for k in candidate_ks(points)}
    return silhouettes(points, fits, random_state) if fits else {}


def best_k(clusterings: dict[int, Clustering]) -> int:
    """The k with the highest silhouette; ties go to the smaller k."""
    return max(sorted(clusterings), key=lambda k: clusterings[k].silhouette)
