"""Opinion groups: k-means on the 2-D map positions for each candidate k, scored by silhouette.

Pol.is first condenses participants into ~100 *base clusters* and then clusters those (weighted by
size), because its Clojure k-means over every participant was slow. In 2-D a vectorised Lloyd step over
20,000 points costs well under a millisecond, and clustering participants directly is what red-dwarf
(the reference) does, so we skip the base clusters: same groups, one stage fewer.

k-means and silhouette are small numpy routines rather than scikit-learn estimators: with k <= 5 in
2-D, the estimators' per-call validation and thread-pool set-up cost more than the arithmetic, and the
pipeline runs dozens of fits per update. Silhouette reuses one distance matrix for every k and is
exact up to `SILHOUETTE_EXACT_MAX` points (blocked, float32), estimated above it on a fixed-seed sample
large enough that only candidates closer than `SILHOUETTE_TOLERANCE` are left undecided (a tie).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from clustering.anchor import SilhouetteAnchor, certify, parts_from_sums, silhouette_from_parts
from clustering.votes import Id

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
"""Above this many participants the k-means++ restarts run on one fixed-seed sample of 500 (shared by
every k), and only the best per k is refined on everyone: the restarts only have to find the right
basin."""

RESTART_MAX_ITER = 5
"""Lloyd iterations of a k-means++ restart before the best restart per k is run to convergence: enough
to tell the basins apart (on the six shared conversations 3 already give the same groups as running
every restart to convergence) at a fraction of the cost."""

KMEANS_MAX_ITER = 300
"""Lloyd iterations cap (scikit-learn's default); 2-D runs converge in tens."""

PASSES_MIN_POINTS = 1_000
"""From this many points the nearest centre is found by one pass per centre (see `_assign`)."""

KMEANS_TOL = 1e-4
"""Stop when the centers' total squared shift falls below 1e-4 x the data's mean variance
(scikit-learn's `tol` default and rule)."""

SILHOUETTE_EXACT_MAX = 5_000
"""Up to this many clustered participants the silhouette is exact (every pair: 25 million float32
distances at most, ~0.1 s in blocks), as red-dwarf computes it, so the chosen k is red-dwarf's."""

SILHOUETTE_BLOCK_CELLS = 4_000_000
"""Distances are computed at most this many float32 cells (16 MB) at a time."""

SILHOUETTE_MIN_BLOCK = 128
"""Rows per block at least; the exact computation uses about an eighth of the points per block, so the
upper triangle it skips is nearly half of the square."""

SILHOUETTE_TOLERANCE = 0.01
"""Above `SILHOUETTE_EXACT_MAX`, two ks whose estimated silhouettes are closer than this are a tie (the
smaller k wins, red-dwarf's rule for equal scores). Below it nothing is estimated and the exact values
decide, as in red-dwarf: brexit-consensus (k=3 by 0.009) and the held-out case that motivated this
(k=2 by 0.010, 0.398 vs 0.388, ~1,600 participants) are both decided exactly (docs/method.md)."""

SILHOUETTE_SE_RATIO = 4.0
"""The sample grows until every candidate's gap to the leader has a standard error of at most a quarter
of max(gap, tolerance), so a gap wider than the tolerance is never an artefact of the sample (4 sigma)."""

SILHOUETTE_SAMPLE_MIN = 1_000
"""The first sample above `SILHOUETTE_EXACT_MAX`; it grows as needed (up to everyone)."""

MIN_GROUP_SIZE = 2
"""A clustering that leaves a group of one participant is not a candidate: one person is not an opinion
group, and showing them as one would display their own votes as "the group's" shares. Pol.is and
red-dwarf have no such rule (a lone point scores 0 in the silhouette, which only discourages it). When
no k qualifies there are no groups and the room is analysed as one unit."""


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
    return range(MIN_K, min(MAX_K, _distinct_upto(points, MAX_K), n - 1) + 1)


def _distinct_upto(points: NDArray[np.float64], limit: int) -> int:
    """How many distinct 2-D points there are, counted up to `limit`: a few linear passes instead of the sort
    behind `np.unique(axis=0)`, which was a visible share of a warm update."""
    x, y = points[:, 0], points[:, 1]
    found = 0
    while x.size and found < limit:
        other = (x != x[0]) | (y != y[0])
        x, y = x[other], y[other]
        found += 1
    return found


def kmeans_tol(points: NDArray[np.float64]) -> float:
    """scikit-learn's absolute tolerance: `KMEANS_TOL` x the data's mean per-axis variance."""
    return KMEANS_TOL * float(np.mean(np.var(points, axis=0))) if points.shape[0] else 0.0


def lloyd(points: NDArray[np.float64], centers: NDArray[np.float64], max_iter: int = KMEANS_MAX_ITER,
          tol: float | None = None) -> Clustering:
    """Lloyd iterations until no label changes or the centers move less than `KMEANS_TOL` (the
    stopping rule of scikit-learn's KMeans, which red-dwarf uses). An emptied cluster restarts at the
    point farthest from its center, as in scikit-learn, so k groups stay k groups."""
    k = centers.shape[0]
    centers = centers.astype(np.float64, copy=True)
    labels = np.full(points.shape[0], -1, dtype=np.int64)
    tol = kmeans_tol(points) if tol is None else tol
    columns = [np.ascontiguousarray(points[:, d]) for d in range(points.shape[1])]
    for _ in range(max_iter):
        new = _assign(points, centers)
        counts = np.bincount(new, minlength=k)
        if not counts.all():
            new, counts = _refill_empty(points, centers, new, counts)
        if (new == labels).all():
            break
        labels = new
        moved = np.empty_like(centers)
        if counts.all():
            for d, c in enumerate(columns):
                moved[:, d] = np.bincount(labels, weights=c, minlength=k) / counts
        else:  # an empty cluster (duplicate positions) keeps its center
            moved[:] = centers
            filled = counts > 0
            for d, c in enumerate(columns):
                sums = np.bincount(labels, weights=c, minlength=k)
                moved[filled, d] = sums[filled] / counts[filled]
        delta = (moved - centers).ravel()
        shift = float(np.dot(delta, delta))
        centers = moved
        if shift <= tol:
            labels = _assign(points, centers)
            break
    inertia = float(((points - centers[labels]) ** 2).sum())
    return Clustering(k, labels, centers, inertia)


def _assign(points: NDArray[np.float64], centers: NDArray[np.float64]) -> NDArray[np.int64]:
    """Nearest center by −2x·c + ‖c‖² (‖x‖² is the same for every center, so it is left out), one pass
    per center keeping the running minimum: `argmin` along a last axis of length k <= 5 was the slower
    half of a Lloyd iteration from ~1,000 points (measured 2-4x slower at k = 2). Below `PASSES_MIN_POINTS`
    the per-call cost of the extra passes wins, and the matrix product stays (measured at 204 points, k = 5:
    10 us vs 22). Ties go to the lower index either way, as `argmin`. Map positions are 2-D; other widths
    take the matrix product."""
    if points.shape[1] != 2 or points.shape[0] < PASSES_MIN_POINTS:
        d = points @ (-2.0 * centers.T)
        d += (centers ** 2).sum(axis=1)
        return np.asarray(np.argmin(d, axis=1), dtype=np.int64)
    x, y = points[:, 0], points[:, 1]
    scale = -2.0 * centers
    offset = (centers ** 2).sum(axis=1)
    best = x * scale[0, 0] + y * scale[0, 1] + offset[0]
    labels = np.zeros(points.shape[0], dtype=np.int64)
    for j in range(1, centers.shape[0]):
        d = x * scale[j, 0] + y * scale[j, 1] + offset[j]
        labels[d < best] = j
        np.minimum(best, d, out=best)
    return labels


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
    n = points.shape[0]
    centers = [points[rng.integers(n)]]
    closest = ((points - centers[0]) ** 2).sum(axis=1)
    for _ in range(1, k):
        cumulative = np.cumsum(closest)
        total = float(cumulative[-1])
        pick = min(int(np.searchsorted(cumulative, rng.random() * total, side="right")), n - 1) if total > 0 else 0
        centers.append(points[pick])
        closest = np.minimum(closest, ((points - points[pick]) ** 2).sum(axis=1))
    return np.asarray(centers)


def lloyd_batch(
    points: NDArray[np.float64], inits: list[NDArray[np.float64]], max_iter: int = KMEANS_MAX_ITER,
    tol: float | None = None,
) -> list[Clustering]:
    """`lloyd` from several starts on the same points at once (same rule, same result per start), one
    numpy pass per iteration over all of them: for the short k-means++ restarts the per-call overhead of
    numpy, not the arithmetic, dominated a loop of separate runs. Converged runs drop out."""
    runs, n = len(inits), points.shape[0]
    if runs == 0:
        return []
    ks = [int(c.shape[0]) for c in inits]
    width = max(ks)
    centers = np.zeros((runs, width, 2))
    valid = np.zeros((runs, width), dtype=np.bool_)
    for r, c in enumerate(inits):
        centers[r, :ks[r]] = c
        valid[r, :ks[r]] = True
    barrier = np.where(valid, 0.0, np.inf)
    tol = kmeans_tol(points) if tol is None else tol
    labels = np.full((runs, n), -1, dtype=np.int64)
    active = np.ones(runs, dtype=np.bool_)
    x, y = np.ascontiguousarray(points[:, 0]), np.ascontiguousarray(points[:, 1])
    for _ in range(max_iter):
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        c = centers[idx]
        scale = -2.0 * c
        offset = (c ** 2).sum(axis=2) + barrier[idx]
        best = x * scale[:, 0, 0, None] + y * scale[:, 0, 1, None] + offset[:, 0, None]
        new = np.zeros(best.shape, dtype=np.int64)
        for j in range(1, width):  # k passes beat argmin along a last axis of length <= 5
            d = x * scale[:, j, 0, None] + y * scale[:, j, 1, None] + offset[:, j, None]
            new[d < best] = j
            np.minimum(best, d, out=best)
        offsets = (np.arange(idx.size) * width)[:, None]
        counts = np.bincount((new + offsets).ravel(), minlength=idx.size * width).reshape(idx.size, width)
        for row in np.flatnonzero(((counts == 0) & valid[idx]).any(axis=1)).tolist():
            r, k = int(idx[row]), ks[int(idx[row])]
            new[row], counts[row, :k] = _refill_empty(points, centers[r, :k], new[row], counts[row, :k])
        same = (new == labels[idx]).all(axis=1)
        active[idx[same]] = False
        moving = ~same
        if not moving.any():
            break
        ui, nl, cnt = idx[moving], new[moving], counts[moving]
        labels[ui] = nl
        flat = (nl + (np.arange(ui.size) * width)[:, None]).ravel()
        sx = np.bincount(flat, weights=np.tile(x, ui.size), minlength=ui.size * width).reshape(ui.size, width)
        sy = np.bincount(flat, weights=np.tile(y, ui.size), minlength=ui.size * width).reshape(ui.size, width)
        old = centers[ui]
        filled = cnt > 0
        safe = np.where(filled, cnt, 1)
        moved = old.copy()
        moved[:, :, 0] = np.where(filled, sx / safe, old[:, :, 0])  # an empty cluster keeps its center
        moved[:, :, 1] = np.where(filled, sy / safe, old[:, :, 1])
        shift = (((moved - old) ** 2).sum(axis=2) * valid[ui]).sum(axis=1)
        centers[ui] = moved
        for r in ui[shift <= tol].tolist():
            labels[r] = _assign(points, centers[r, :ks[r]])
            active[r] = False
    out = []
    for r, k in enumerate(ks):
        c = centers[r, :k].copy()
        out.append(Clustering(k, labels[r].copy(), c, float(((points - c[labels[r]]) ** 2).sum())))
    return out


@dataclass(frozen=True, eq=False)
class Candidates:
    """The Pol.is start's solutions per k (labels as int8, k <= 5, to stay small when handed between
    processes) and a digest of the points they were computed on: reused as they are when the next
    update's points are the same to the bit (see `fit_candidates`)."""

    digest: bytes
    polis_labels: dict[int, NDArray[np.int8]]
    polis_centers: dict[int, NDArray[np.float64]]
    polis_inertia: dict[int, float]

    def polis(self, k: int) -> Clustering:
        return Clustering(k, self.polis_labels[k].astype(np.int64), self.polis_centers[k], self.polis_inertia[k])


def _digest(points: NDArray[np.float64]) -> bytes:
    """Identifies the points to the bit (blake2b of their bytes)."""
    return hashlib.blake2b(np.ascontiguousarray(points).tobytes(), digest_size=16).digest()


def fit_all_k(
    points: NDArray[np.float64], ks: list[int], warm_centers: dict[int, NDArray[np.float64]],
    random_state: int,
) -> dict[int, Clustering]:
    """k-means for every k in `ks`: one Lloyd run from the previous update's centers where they fit;
    otherwise (cold) the Pol.is start and `KMEANS_RESTARTS` k-means++ restarts, see
    `POLIS_START_TOLERANCE`. Above `RESTART_SAMPLE` participants the restarts run on one fixed-seed
    sample (shared by every k). Restarts stop after `RESTART_MAX_ITER` iterations; the best per k is then
    run to convergence on everyone."""
    return fit_candidates(points, ks, warm_centers, random_state)[0]


def fit_candidates(
    points: NDArray[np.float64], ks: list[int], warm_centers: dict[int, NDArray[np.float64]],
    random_state: int, candidates: Candidates | None = None, frame: NDArray[np.float64] | None = None,
    rivals: dict[int, NDArray[np.float64]] | None = None,
) -> tuple[dict[int, Clustering], Candidates, dict[int, NDArray[np.float64]]]:
    """`fit_all_k` for an update: the clusterings, the Pol.is solutions to reuse next time, and the
    restart candidates' centers where they differ from the Pol.is solution (`rivals`, kept in the warm
    state).

    A cold start keeps the Pol.is start's solution unless the best restart beats it by more than
    `POLIS_START_TOLERANCE`. For a k the previous update kept (`warm_centers`), the Pol.is candidate is
    computed exactly as a cold start does (Lloyd from the lexicographically first k distinct points, in
    the cold start's orientation `frame`: one new vote can change those, and the basin with them;
    measured on london.youth.policing, k=4's silhouette 0.42 warm vs 0.48 cold when only the previous
    centers were refined), the k-means++ restarts are stood in for by one Lloyd run from the previous
    restart candidate (`rivals[k]`, or the previous centers when the restarts had reached the Pol.is
    solution), and the same rule picks. Only the restarts are skipped: a cold start could still find a
    better restart basin than the previous one, which the tests on the shared conversations check does
    not happen there. When the points are the previous update's to the bit (a vote on a moderated
    statement), the Pol.is solutions are too (`candidates`)."""
    dims = points.shape[1]
    rivals = rivals or {}

    def fits(c: NDArray[np.float64] | None, k: int) -> bool:
        return c is not None and c.shape == (k, dims) and bool(np.all(np.isfinite(c)))

    tol = kmeans_tol(points)
    out: dict[int, Clustering] = {}
    polis: dict[int, Clustering] = {}
    kept_rivals: dict[int, NDArray[np.float64]] = {}
    digest = _digest(points)
    same_points = candidates is not None and candidates.digest == digest
    distinct: NDArray[np.float64] | None = None
    cold: list[int] = []
    for k in ks:
        if not fits(warm_centers.get(k), k):
            cold.append(k)
            continue
        rival = rivals.get(k)
        start = rival if rival is not None and fits(rival, k) else warm_centers[k]
        if same_points and candidates is not None and k in candidates.polis_labels:
            polis[k] = candidates.polis(k)  # same points, same start: the same Lloyd run
        else:
            distinct = _polis_starts(points, frame) if distinct is None else distinct
            polis[k] = lloyd(points, distinct[:k], tol=tol)
        out[k], kept = _choose(polis[k], lloyd(points, start, tol=tol))
        if kept is not None:
            kept_rivals[k] = kept
    if cold:
        distinct = _polis_starts(points, frame) if distinct is None else distinct
        starts = [distinct[:k] for k in cold]
        sample = points
        if points.shape[0] > RESTART_SAMPLE:
            pick = np.random.default_rng([random_state]).choice(points.shape[0], RESTART_SAMPLE, replace=False)
            sample = points[np.sort(pick)]
        seeds: list[NDArray[np.float64]] = []
        for k in cold:
            rng = np.random.default_rng([random_state, k])
            seeds += [kmeans_plus_plus(sample, k, rng) for _ in range(KMEANS_RESTARTS)]
        firsts = [lloyd(points, start, tol=tol) for start in starts]
        restarts = lloyd_batch(sample, seeds, RESTART_MAX_ITER, tol if sample is points else None)
        challengers = [min(restarts[i * KMEANS_RESTARTS:(i + 1) * KMEANS_RESTARTS], key=lambda c: c.inertia)
                       for i in range(len(cold))]
        challengers = [lloyd(points, c.centers, tol=tol) for c in challengers]
        for k, best, rival_fit in zip(cold, firsts, challengers, strict=True):
            polis[k] = best
            out[k], kept = _choose(best, rival_fit)
            if kept is not None:
                kept_rivals[k] = kept
    return out, Candidates(digest, {k: c.labels.astype(np.int8) for k, c in polis.items()},
                           {k: c.centers for k, c in polis.items()}, {k: c.inertia for k, c in polis.items()}), \
        kept_rivals


def _polis_starts(points: NDArray[np.float64], frame: NDArray[np.float64] | None) -> NDArray[np.float64]:
    """The first `MAX_K` distinct points in lexicographic order, the Pol.is start's order, taken in the
    cold-start frame: a warm map is the cold one turned by `frame` (`stability.alignment`) to keep its
    orientation, and lexicographic order is not invariant under turning, while k-means is."""
    if frame is None:
        return _lexicographic_first(points, MAX_K)
    return np.asarray(_lexicographic_first(points @ frame, MAX_K) @ frame.T)


def _lexicographic_first(points: NDArray[np.float64], limit: int) -> NDArray[np.float64]:
    """`np.unique(points, axis=0)[:limit]` for 2-D points, by `limit` linear passes instead of a sort."""
    x, y = points[:, 0], points[:, 1]
    out: list[tuple[float, float]] = []
    while x.size and len(out) < limit:
        low = x.min()
        at = x == low
        low_y = y[at].min()
        out.append((float(low), float(low_y)))
        other = ~at | (y != low_y)
        x, y = x[other], y[other]
    return np.asarray(out, dtype=np.float64).reshape(-1, 2)


def _choose(best: Clustering, challenger: Clustering) -> tuple[Clustering, NDArray[np.float64] | None]:
    """The `POLIS_START_TOLERANCE` rule, and the challenger's centers to warm-start next time (None when
    it reached the Pol.is solution's labels)."""
    if np.array_equal(challenger.labels, best.labels):
        return best, None
    chosen = challenger if challenger.inertia < (1.0 - POLIS_START_TOLERANCE) * best.inertia else best
    return chosen, challenger.centers


def fit_kmeans(
    points: NDArray[np.float64], k: int, init: NDArray[np.float64] | None, random_state: int,
) -> Clustering:
    """One k's clustering (see `fit_all_k`)."""
    return fit_all_k(points, [k], {} if init is None else {k: init}, random_state)[k]


@dataclass(frozen=True, eq=False)
class SilhouetteScores:
    """Mean silhouette per k, and how it was measured.

    `exact`: every clustered participant scored. Otherwise `sample` participants were scored (each
    against everyone, so each point's value is exact and only the mean is estimated) and `stderr[k]` is
    the standard error of k's mean minus the leader's (0 for the leader), from the per-point
    differences: the candidates share the sample, so their errors largely cancel."""

    means: dict[int, float]
    exact: bool
    sample: int
    stderr: dict[int, float]
    sums: NDArray[np.float64] | None = None
    """Exact runs: each point's distance sums to every group of every k, for a `SilhouetteAnchor`."""
    bound: float = 0.0
    """Carried from an anchor (`anchor.certify`): the means are within this of the exact ones."""
    anchor: SilhouetteAnchor | None = None
    """The anchor the means were carried from (moved to this run's labels), when they were."""


def _one_hot(labels: list[NDArray[np.int64]], ks: list[int], n: int) -> NDArray[np.float32]:
    """Membership of every point in every candidate's clusters, side by side: one matrix product then
    gives each point's distance sums to every cluster of every k."""
    out = np.zeros((n, sum(ks)), dtype=np.float32)
    offset = 0
    rows = np.arange(n)
    for lab, k in zip(labels, ks, strict=True):
        out[rows, offset + lab] = 1.0
        offset += k
    return out


def _complex(points: NDArray[np.float64]) -> NDArray[np.complex64]:
    """2-D points as single-precision complex numbers x + iy: a distance is then one subtraction and
    one `abs` (measured 1.7x faster than squaring and adding the coordinate differences, same float32
    accuracy)."""
    z = np.empty(points.shape[0], dtype=np.complex64)
    z.real = points[:, 0]
    z.imag = points[:, 1]
    return z


def _distances(z: NDArray[np.complex64], rows: NDArray[np.int64] | slice, cols: slice) -> NDArray[np.float32]:
    """Euclidean distances between two sets of 2-D points, straight from the coordinates."""
    return np.asarray(np.abs(z[rows, None] - z[None, cols]), dtype=np.float32)


def _silhouette_values(
    sums: NDArray[np.float64], labels_of: list[NDArray[np.int64]], clusterings: list[Clustering],
) -> NDArray[np.float64]:
    """s(i) per point and clustering from each point's distance sums to every cluster."""
    a, b, own = parts_from_sums(sums, labels_of, [c.k for c in clusterings])
    return silhouette_from_parts(a, b, own)


def exact_silhouettes(
    points: NDArray[np.float64], clusterings: list[Clustering],
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """s(i) of every point under each clustering (exact, see `point_silhouettes`), and the distance sums
    they come from (for a `SilhouetteAnchor`)."""
    sums = _exact_sums(points, clusterings)
    return _silhouette_values(sums, [c.labels for c in clusterings], clusterings), sums


def _exact_sums(points: NDArray[np.float64], clusterings: list[Clustering]) -> NDArray[np.float64]:
    """Each point's distance sums to every cluster of every clustering, upper triangle in blocks."""
    n = points.shape[0]
    onehot = _one_hot([c.labels for c in clusterings], [c.k for c in clusterings], n)
    z = _complex(points)
    sums = np.zeros((n, onehot.shape[1]), dtype=np.float64)
    block = max(SILHOUETTE_MIN_BLOCK, min(SILHOUETTE_BLOCK_CELLS // max(n, 1), n // 8 + 1))
    for a in range(0, n, block):
        b = min(n, a + block)
        dist = _distances(z, slice(a, b), slice(a, n))
        sums[a:b] += dist @ onehot[a:]
        if b < n:
            sums[b:] += dist[:, b - a:].T @ onehot[a:b]
    return sums


def point_silhouettes(
    points: NDArray[np.float64], rows: NDArray[np.int64] | None, clusterings: list[Clustering],
) -> NDArray[np.float64]:
    """Silhouette s(i) of each point `rows[i]` (every point when `rows` is None) under each clustering,
    against all points: shape (len(rows), len(clusterings)).

    Distances are computed in float32 blocks of about `SILHOUETTE_BLOCK_CELLS` cells, directly from the
    coordinates (no Gram-matrix cancellation), so memory stays ~16 MB whatever the size. One matrix
    product per block gives the distance sums to every cluster of every k at once. For every point
    (exact) only the upper triangle is computed, each block adding its transpose to the later rows.
    s(i) = (b − a) / max(a, b), 0 for a point alone in its cluster (scikit-learn's rule, which red-dwarf
    uses)."""
    if rows is None:
        return exact_silhouettes(points, clusterings)[0]
    n = points.shape[0]
    onehot = _one_hot([c.labels for c in clusterings], [c.k for c in clusterings], n)
    z = _complex(points)
    out = np.empty((rows.size, len(clusterings)))
    block = max(1, SILHOUETTE_BLOCK_CELLS // max(n, 1))
    for start in range(0, rows.size, block):
        chunk = rows[start:start + block]
        sums = (_distances(z, chunk, slice(0, n)) @ onehot).astype(np.float64)
        out[start:start + chunk.size] = _chunk_silhouettes(sums, chunk, clusterings)
    return out


def _chunk_silhouettes(
    sums: NDArray[np.float64], chunk: NDArray[np.int64], clusterings: list[Clustering],
) -> NDArray[np.float64]:
    """s(i) for the points `chunk` from their distance sums to every cluster (group sizes over all)."""
    out = np.empty((chunk.size, len(clusterings)))
    idx = np.arange(chunk.size)
    offset = 0
    for c, clustering in enumerate(clusterings):
        k = clustering.k
        part = sums[:, offset:offset + k]
        offset += k
        count = np.bincount(clustering.labels, minlength=k)
        mine = clustering.labels[chunk]
        own = count[mine]
        a = part[idx, mine] / np.maximum(own - 1, 1)
        with np.errstate(divide="ignore", invalid="ignore"):
            mean_other = part / count[None, :]
        mean_other[idx, mine] = np.inf
        mean_other[:, count == 0] = np.inf
        out[:, c] = silhouette_from_parts(a[:, None], mean_other.min(axis=1)[:, None], own[:, None])[:, 0]
    return out


def _paired_stderr(values: NDArray[np.float64], leader: int) -> NDArray[np.float64]:
    """Standard error of each column's mean minus the leader column's mean (paired per point)."""
    if values.shape[0] < 2:
        return np.full(values.shape[1], np.inf)
    diff = values - values[:, [leader]]
    return np.asarray(diff.std(axis=0, ddof=1) / np.sqrt(values.shape[0]))


def score_silhouettes(
    points: NDArray[np.float64], clusterings: dict[int, Clustering], random_state: int,
) -> SilhouetteScores:
    """Mean silhouette of every candidate k.

    Exact (every point against every point) up to `SILHOUETTE_EXACT_MAX` points. Above it, a fixed-seed
    sample of at least `SILHOUETTE_SAMPLE_MIN` points, grown until the standard error of every
    candidate's gap to the leader is at most a quarter (`SILHOUETTE_SE_RATIO`) of the larger of that gap
    and `SILHOUETTE_TOLERANCE`: a gap wider than the tolerance is then at least 4 standard errors, so the
    sample ranks such candidates as the exact computation would, and a candidate within the tolerance
    is known to within a quarter of it (a tie for `best_k`). Far-behind candidates settle at once; only
    near ones make the sample grow, up to everyone (exact) if need be."""
    ks = sorted(clusterings)
    fits = [clusterings[k] for k in ks]
    n = points.shape[0]
    if n <= SILHOUETTE_EXACT_MAX:
        values, sums = exact_silhouettes(points, fits)
        return SilhouetteScores({k: float(v) for k, v in zip(ks, values.mean(axis=0).tolist(), strict=True)},
                                True, n, {k: 0.0 for k in ks}, sums)
    order = np.random.default_rng([random_state, n]).permutation(n).astype(np.int64)
    size = min(n, SILHOUETTE_SAMPLE_MIN)
    values = point_silhouettes(points, order[:size], fits)
    while True:
        means = values.mean(axis=0)
        leader = int(np.argmax(means))
        stderr = _paired_stderr(values, leader)
        gap = means[leader] - means
        limit = np.maximum(gap, SILHOUETTE_TOLERANCE) / SILHOUETTE_SE_RATIO
        if size >= n or bool(np.all(stderr <= limit)):
            break
        wanted = int(np.ceil(float(np.max((stderr / limit) ** 2)) * size * 1.1))
        grown = min(n, max(wanted, size + SILHOUETTE_SAMPLE_MIN))
        values = np.vstack([values, point_silhouettes(points, order[size:grown], fits)])
        size = grown
    exact = size >= n
    return SilhouetteScores({k: float(v) for k, v in zip(ks, means.tolist(), strict=True)}, exact, size,
                            {k: 0.0 if exact else float(e) for k, e in zip(ks, stderr.tolist(), strict=True)})


def silhouettes(
    points: NDArray[np.float64], clusterings: dict[int, Clustering], random_state: int,
) -> tuple[dict[int, Clustering], SilhouetteScores]:
    """Attach the mean silhouette to each clustering (see `score_silhouettes`)."""
    scores = score_silhouettes(points, clusterings, random_state)
    out = {k: Clustering(c.k, c.labels, c.centers, c.inertia, scores.means[k]) for k, c in clusterings.items()}
    return out, scores


def too_small(clustering: Clustering) -> bool:
    """A clustering with a group of fewer than `MIN_GROUP_SIZE` participants is not a candidate."""
    sizes = np.bincount(clustering.labels, minlength=clustering.k)
    return bool(sizes.min() < MIN_GROUP_SIZE)


def cluster_all_k(
    points: NDArray[np.float64],
    warm_centers: dict[int, NDArray[np.float64]],
    random_state: int,
) -> tuple[dict[int, Clustering], SilhouetteScores | None]:
    """Every candidate k's clustering with its silhouette (see `cluster_candidates`)."""
    clusterings, scores, _, _ = cluster_candidates(points, warm_centers, random_state)
    return clusterings, scores


def cluster_candidates(
    points: NDArray[np.float64],
    warm_centers: dict[int, NDArray[np.float64]],
    random_state: int,
    anchor: SilhouetteAnchor | None = None,
    members: tuple[Id, ...] = (),
    candidates: Candidates | None = None,
    frame: NDArray[np.float64] | None = None,
    rivals: dict[int, NDArray[np.float64]] | None = None,
) -> tuple[dict[int, Clustering], SilhouetteScores | None, Candidates, dict[int, NDArray[np.float64]]]:
    """Every candidate k's clustering with its silhouette, warm-started per k where possible. A k whose
    clustering leaves a group smaller than `MIN_GROUP_SIZE` is dropped (see `MIN_GROUP_SIZE`). With an
    `anchor` (the last exact silhouettes, `members` naming the rows of `points`), the silhouettes are
    carried over instead of recomputed when `anchor.certify` proves the choice of k unchanged. Also returns
    the Pol.is solutions and the restart candidates of the kept ks for the next update (`fit_candidates`)."""
    fits, kept, new_rivals = fit_candidates(points, list(candidate_ks(points)), warm_centers, random_state,
                                            candidates, frame, rivals)
    fits = {k: c for k, c in sorted(fits.items()) if not too_small(c)}
    new_rivals = {k: c for k, c in new_rivals.items() if k in fits}
    if not fits:
        return {}, None, kept, new_rivals
    if anchor is not None:
        certified = certify(anchor, members, points, {k: c.labels for k, c in fits.items()})
        if certified is not None:
            moved, bound = certified
            carried = {k: Clustering(c.k, c.labels, c.centers, c.inertia, moved.means[k]) for k, c in fits.items()}
            return carried, SilhouetteScores(dict(moved.means), True, points.shape[0], {k: 0.0 for k in fits},
                                             bound=bound, anchor=moved), kept, new_rivals
    return (*silhouettes(points, fits, random_state), kept, new_rivals)


def best_k(clusterings: dict[int, Clustering], tolerance: float = 0.0) -> int:
    """The k with the highest mean silhouette; ks within `tolerance` of the highest are a tie, and a tie
    goes to the smaller k (red-dwarf's rule: its GridSearchCV ranks equal scores alike and keeps the
    first, i.e. the smallest, k of the grid). `tolerance` is 0 when the silhouettes are exact."""
    top = max(c.silhouette for c in clusterings.values())
    return min(k for k, c in clusterings.items() if c.silhouette >= top - tolerance)
