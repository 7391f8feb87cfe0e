"""Carrying exact silhouettes across warm updates, with a proof that the chosen k cannot have changed.

One new vote moves the voter on the map a lot, everyone else a little (the components move), and may
move a point or two across a k-means boundary for some k. Recomputing every silhouette exactly costs
O(n²) per update, the bulk of a warm update; but it is enough to know which k scores highest.

The *anchor* keeps, for the clustered participants at positions P⁰ and every candidate k, each point's
distance sums to every group (`sums`), from which a(i) (mean distance to its own group), b(i) (to the
nearest other group) and the silhouettes follow. A warm update first *moves* into the anchor, exactly,
the points whose label changed for some k and the `MAX_MOVES` points that moved most (one O(n) pass
each: subtract the old distances from everyone's sums, add the new ones). The rest moved by δᵢ =
|Pᵢ − P⁰ᵢ|, so every distance moved by at most δᵢ + δⱼ (triangle inequality) and

    |a(i) − a⁰(i)| <= δᵢ + (Σ_{j in own group} δⱼ − δᵢ) / (|own| − 1)
    |b(i) − b⁰(i)| <= δᵢ + max over other groups g of Σ_{j in g} δⱼ / |g|

As s = (b − a) / max(a, b) falls with a and rises with b, each s(i) lies in an interval, and so does each
k's mean. When the anchor's winning k's lower end beats every other k's upper end by more than
2 x `FLOAT_SLACK`, a cold run on the new positions picks the same k: the silhouettes are not recomputed,
the result reports the anchor's values and the bound (`silhouette_bound`). Otherwise, or when the
clustered participants or candidate ks differ, or after `MAX_CARRIED_UPDATES`, they are recomputed
exactly and become the new anchor.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray

from clustering.votes import Id

FLOAT_SLACK = 1e-4
"""Margin for rounding: the exact silhouettes are computed in float32 blocks and agree with
scikit-learn's float64 values to 1e-5 (tests/clustering/test_selection.py); a decision closer than twice
this margin is recomputed rather than certified."""

MAX_MOVES = 4
"""Points moved into the anchor exactly per update (each costs one O(n) pass over the sums)."""

MOVE_FLOOR = 1e-9
"""Points that moved less than this fraction of the map's RMS radius are left to the bound, not moved:
their contribution to it is negligible, and floating-point noise moves everyone by ~1e-15."""

MAX_CARRIED_UPDATES = 50
"""After this many carried updates the silhouettes are recomputed anyway, so rounding in the moved sums
cannot accumulate without limit."""


@dataclass(frozen=True, eq=False)
class SilhouetteAnchor:
    """Exact silhouette ingredients at `positions`: for each candidate k (`ks` ascending) the row of
    `labels`, and the columns `offsets[r]:offsets[r] + k` of `sums` (each point's distance sum to every
    group of that k). `means` are the mean silhouettes; `updates` counts warm updates carried since the
    last full computation."""

    members: tuple[Id, ...]
    positions: NDArray[np.float64]
    ks: tuple[int, ...]
    labels: NDArray[np.int64]
    sums: NDArray[np.float64]
    means: dict[int, float]
    updates: int = 0

    @property
    def offsets(self) -> list[int]:
        return [0, *np.cumsum(self.ks).tolist()][:-1]


def parts_from_sums(
    sums: NDArray[np.float64], labels: list[NDArray[np.int64]], ks: list[int],
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.int64]]:
    """a(i), b(i) (inf without another non-empty group) and own-group sizes per point (rows) and k
    (columns) from the distance sums."""
    n = sums.shape[0]
    a_out = np.empty((n, len(ks)))
    b_out = np.empty((n, len(ks)))
    own_out = np.empty((n, len(ks)), dtype=np.int64)
    idx = np.arange(n)
    offset = 0
    for c, (k, mine) in enumerate(zip(ks, labels, strict=True)):
        part = sums[:, offset:offset + k]
        count = np.bincount(mine, minlength=k)
        own = count[mine]
        own_out[:, c] = own
        a_out[:, c] = part[idx, mine] / np.maximum(own - 1, 1)
        nearest = np.full(n, np.inf)
        for g in np.flatnonzero(count).tolist():  # k <= 5 column passes beat a reduction along a short axis
            mean_g = sums[:, offset + g] / count[g]
            mean_g[mine == g] = np.inf
            np.minimum(nearest, mean_g, out=nearest)
        b_out[:, c] = nearest
        offset += k
    return a_out, b_out, own_out


def silhouette_from_parts(
    a: NDArray[np.float64], b: NDArray[np.float64], own: NDArray[np.int64],
) -> NDArray[np.float64]:
    """s(i) = (b − a) / max(a, b); 0 for a point alone in its group, with a = b = 0, or no other group
    (scikit-learn's rule, which red-dwarf uses)."""
    denom = np.maximum(a, b)
    ok = (own > 1) & (denom > 0) & np.isfinite(b)
    return np.asarray(np.where(ok, (b - a) / np.where(ok, denom, 1.0), 0.0))


def make_anchor(
    members: tuple[Id, ...], positions: NDArray[np.float64], labels: dict[int, NDArray[np.int64]],
    sums: NDArray[np.float64], means: dict[int, float], updates: int = 0,
) -> SilhouetteAnchor:
    ks = tuple(sorted(labels))
    return SilhouetteAnchor(members, positions, ks, np.stack([labels[k] for k in ks]), sums, dict(means), updates)


def _move(
    positions: NDArray[np.float64], labels: NDArray[np.int64], sums: NDArray[np.float64], offsets: NDArray[np.int64],
    ks: tuple[int, ...], p: int, target: NDArray[np.float64], new_labels: NDArray[np.int64],
) -> None:
    """Move point p to `target` with `new_labels` (one per k), updating everyone's sums in place."""
    old_d = _distances_to(positions, positions[p])
    new_d = _distances_to(positions, target)
    new_d[p] = 0.0
    sums[:, offsets + labels[:, p]] -= old_d[:, None]
    sums[:, offsets + new_labels] += new_d[:, None]
    positions[p] = target
    labels[:, p] = new_labels
    new_d[p] = 0.0
    flat = (labels + offsets[:, None]).ravel()
    sums[p] = np.bincount(flat, weights=np.tile(new_d, len(ks)), minlength=sums.shape[1])


def _distances_to(points: NDArray[np.float64], target: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.asarray(np.hypot(points[:, 0] - target[0], points[:, 1] - target[1]))


def _shifts(a: NDArray[np.float64], b: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.asarray(np.hypot(a[:, 0] - b[:, 0], a[:, 1] - b[:, 1]))


def certify(
    anchor: SilhouetteAnchor, members: tuple[Id, ...], positions: NDArray[np.float64],
    labels: dict[int, NDArray[np.int64]],
) -> tuple[SilhouetteAnchor, float] | None:
    """The anchor brought to these labels (and the most moved positions), and the widest half-interval of
    its mean silhouettes, when its winning k provably still wins at `positions`; None when that cannot
    be shown and the silhouettes must be recomputed."""
    if (tuple(sorted(labels)) != anchor.ks or positions.shape != anchor.positions.shape
            or members != anchor.members or anchor.updates >= MAX_CARRIED_UPDATES):
        return None
    new_labels = np.stack([labels[k] for k in anchor.ks])
    delta = _shifts(positions, anchor.positions)
    relabelled = np.flatnonzero((new_labels != anchor.labels).any(axis=0))
    if relabelled.size > MAX_MOVES:
        return None
    by_delta = np.argsort(-delta, kind="stable")[:MAX_MOVES]
    scale = float(np.sqrt(np.mean(anchor.positions ** 2) * 2))
    moving = np.union1d(relabelled, by_delta[delta[by_delta] > MOVE_FLOOR * scale])
    if moving.size == 0 and not np.any(delta):
        top = max(anchor.means.values())
        winner = min(k for k, v in anchor.means.items() if v >= top)
        if all(anchor.means[winner] - v > 2 * FLOAT_SLACK for k, v in anchor.means.items() if k != winner):
            return replace(anchor, updates=anchor.updates + 1), 0.0
        return None
    moved_positions = anchor.positions.copy()
    moved_labels = anchor.labels.copy()
    sums = anchor.sums.copy()
    offsets = np.asarray(anchor.offsets, dtype=np.int64)
    for p in moving.tolist():
        _move(moved_positions, moved_labels, sums, offsets, anchor.ks, p, positions[p], new_labels[:, p])
    a, b, own = parts_from_sums(sums, list(moved_labels), list(anchor.ks))
    if moving.size:
        values = silhouette_from_parts(a, b, own).mean(axis=0)
        means = {k: float(v) for k, v in zip(anchor.ks, values.tolist(), strict=True)}
    else:
        means = anchor.means
    moved = SilhouetteAnchor(anchor.members, moved_positions, anchor.ks, moved_labels, sums, means,
                             anchor.updates + 1)
    rest = _shifts(positions, moved_positions)
    err_a = np.empty_like(a)
    err_b = np.empty_like(b)
    for row, k in enumerate(anchor.ks):
        lab = moved_labels[row]
        sizes = np.bincount(lab, minlength=k)
        shift = np.bincount(lab, weights=rest, minlength=k)
        err_a[:, row] = rest + (shift[lab] - rest) / np.maximum(own[:, row] - 1, 1)
        per_group = (shift / np.maximum(sizes, 1)).tolist()
        worst_other = np.array([max((v for h, v in enumerate(per_group) if h != g), default=0.0)
                                for g in range(k)])
        err_b[:, row] = rest + worst_other[lab]
    low = silhouette_from_parts(a + err_a, np.maximum(b - err_b, 0.0), own).mean(axis=0).tolist()
    high = silhouette_from_parts(np.maximum(a - err_a, 0.0), b + err_b, own).mean(axis=0).tolist()
    lows = dict(zip(anchor.ks, low, strict=True))
    highs = dict(zip(anchor.ks, high, strict=True))
    top = max(means.values())
    winner = min(k for k, s in means.items() if s >= top)
    if any(lows[winner] - highs[k] <= 2 * FLOAT_SLACK for k in anchor.ks if k != winner):
        return None
    return moved, max(max(highs[k] - means[k], means[k] - lows[k]) for k in anchor.ks)
