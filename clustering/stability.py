"""What keeps a live map calm: axis alignment, group-count hysteresis and stable group ids.

A projector redraws the map every few seconds. Exact recomputation would let it jump: singular vector
signs are arbitrary, k-means labels are arbitrary integers, and the silhouette-best k can flip back and
forth between two values as single votes arrive. Each of those is fixed here against the previous
result, never by changing the math itself.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import linear_sum_assignment

K_BUFFER = 4
"""A new group count must win this many consecutive updates before the map switches to it
(Pol.is `:group-k-buffer 4`)."""

GROUP_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
"""Group ids: letters, assigned in order of size on a cold start and kept by matching afterwards."""


def align_axes(
    components: NDArray[np.float64], previous: NDArray[np.float64],
) -> NDArray[np.float64]:
    """Rotate/reflect `components` within their plane to best match `previous` (same column order).

    This is the orthogonal Procrustes solution R = U Vᵀ from the SVD of previous·componentsᵀ. When the
    principal plane barely moves (one new vote), R is a signed permutation: it undoes the arbitrary sign
    flips and axis swaps of the SVD. When the two leading variances are nearly equal the exact axes can
    spin inside the plane; R keeps the map's orientation instead. Returns the aligned components.
    """
    return np.asarray(alignment(components, previous) @ components)


def alignment(components: NDArray[np.float64], previous: NDArray[np.float64]) -> NDArray[np.float64]:
    """The 2 x 2 rotation/reflection R of `align_axes` (aligned = R @ components): positions on the aligned
    map are the unaligned ones times Rᵀ. The identity when the planes share nothing."""
    overlap = previous @ components.T
    if not np.any(overlap):
        return np.eye(components.shape[0])
    u, _, vt = np.linalg.svd(overlap)
    return np.asarray(u @ vt)


@dataclass(frozen=True)
class KSmoother:
    """Pol.is's `group-k-smoother`: the k on screen changes only after a new k wins `K_BUFFER`
    consecutive updates."""

    last_k: int = 0
    last_k_count: int = 0
    smoothed_k: int = 0

    def update(self, this_k: int) -> KSmoother:
        """Record this update's silhouette-best k and decide which k to show."""
        count = self.last_k_count + 1 if this_k == self.last_k else 1
        if count >= K_BUFFER or self.smoothed_k == 0:
            return KSmoother(this_k, count, this_k)
        return KSmoother(this_k, count, self.smoothed_k)


def cold_labels(labels: NDArray[np.int64], k: int) -> list[str]:
    """Letters for clusters 0..k-1 without history: the largest group is A (ties: first member)."""
    sizes = np.bincount(labels, minlength=k)
    first = np.array([np.flatnonzero(labels == c)[0] if sizes[c] else labels.size for c in range(k)])
    order = sorted(range(k), key=lambda c: (-sizes[c], first[c]))
    letters = [""] * k
    for rank, c in enumerate(order):
        letters[c] = GROUP_LETTERS[rank]
    return letters


def matched_labels(
    labels: NDArray[np.int64],
    k: int,
    members: Sequence[object],
    previous: Mapping[str, frozenset[Any]],
) -> list[str]:
    """Letters for clusters 0..k-1 that keep the previous ids of the groups they mostly continue.

    The Hungarian method (`linear_sum_assignment`) pairs new clusters with previous groups so that the
    total number of shared members is largest. A new cluster paired with a group it shares nobody with,
    or left unpaired because k grew, takes the first letter not in use, so letters stay short.
    """
    if not previous:
        return cold_labels(labels, k)
    old_ids = sorted(previous)
    overlap = np.zeros((k, len(old_ids)), dtype=np.int64)
    index = {gid: j for j, gid in enumerate(old_ids)}
    owner: dict[object, int] = {}
    for gid, group in previous.items():
        for member in group:
            owner[member] = index[gid]
    for member, label in zip(members, labels.tolist(), strict=True):
        j = owner.get(member)
        if j is not None:
            overlap[label, j] += 1
    return _assign_letters(overlap, old_ids, labels, k)


def _assign_letters(
    overlap: NDArray[np.int64], old_ids: list[str], labels: NDArray[np.int64], k: int,
) -> list[str]:
    """Hungarian pairing of new clusters (rows) with previous groups (columns, in id order)."""
    rows, cols = linear_sum_assignment(-overlap)
    letters = [""] * k
    for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
        if overlap[r, c] > 0:
            letters[r] = old_ids[c]
    free = iter(ch for ch in GROUP_LETTERS if ch not in set(letters))
    sizes = np.bincount(labels, minlength=k)
    for c in sorted(range(k), key=lambda c: -sizes[c]):
        if not letters[c]:
            letters[c] = next(free)
    return letters


def matched_labels_by_rows(
    labels: NDArray[np.int64], k: int, previous_labels: NDArray[np.integer[Any]], previous_letters: list[str],
) -> list[str]:
    """`matched_labels` when the clustered participants are the previous update's, in the same order:
    `previous_labels[i]` indexes `previous_letters`, so the overlap is one `bincount`."""
    old = len(previous_letters)
    overlap = np.bincount(labels * old + previous_labels, minlength=k * old).reshape(k, old)
    order = sorted(range(old), key=lambda j: previous_letters[j])
    return _assign_letters(overlap[:, order], [previous_letters[j] for j in order], labels, k)
