"""Two principal components of the centred sparse vote matrix, and the participants' map positions.

Exact PCA of the mean-imputed matrix equals a truncated SVD of the centred sparse matrix (see
`matrix.py`). Small matrices use a dense LAPACK SVD (exact, what red-dwarf's scikit-learn PCA does);
large ones use ARPACK (`scipy.sparse.linalg.svds`) on the sparse matrix, which needs only
matrix-vector products: 20,000 x 2,000 with 600k votes takes tens of milliseconds instead of seconds.
A warm start hands ARPACK the previous first component as its starting vector.

Signs of singular vectors are arbitrary. Without a previous result we fix them so that each
component's largest loading is positive (deterministic); with one, `stability.align_axes` flips or
swaps them to match the previous orientation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from scipy.sparse.linalg import svds

from clustering.matrix import VoteMatrix

N_COMPONENTS = 2
"""The map is 2-D (Pol.is `:n-comps 2`)."""

DENSE_SVD_MAX_CELLS = 1_000_000
"""Below this many cells a dense SVD is faster than ARPACK and exact to the last digit."""

ARPACK_TOL = 1e-8
"""Convergence tolerance for ARPACK; far below anything visible on the map."""


@dataclass(frozen=True, eq=False)
class Projection:
    """`components[c, j]` is statement column j's loading on axis c (zero for moderated columns);
    `positions[i]` is participant row i on the map."""

    components: NDArray[np.float64]
    positions: NDArray[np.float64]
    statement_xy: NDArray[np.float64]


def principal_components(
    centred: sp.csr_matrix, start: NDArray[np.float64] | None = None, random_state: int = 0,
) -> NDArray[np.float64]:
    """Top right singular vectors of the centred matrix, shape (2, statements), zero-padded when the
    matrix has rank below 2."""
    n, m = centred.shape
    out = np.zeros((N_COMPONENTS, m))
    if n == 0 or m == 0 or centred.nnz == 0:
        return out
    k = min(N_COMPONENTS, n, m)
    if n * m <= DENSE_SVD_MAX_CELLS or min(n, m) <= N_COMPONENTS + 1:
        _, s, vt = np.linalg.svd(centred.toarray(), full_matrices=False)
        out[:k] = vt[:k] * (s[:k, None] > 0)
        return _fix_signs(out)
    v0: NDArray[np.float64]
    if start is not None and n >= m and np.any(start):
        v0 = start
    else:
        v0 = np.random.default_rng(random_state).uniform(-1.0, 1.0, min(n, m))
    _, s, vt = svds(centred, k=k, v0=v0, tol=ARPACK_TOL, solver="arpack")
    order = np.argsort(-s)
    out[:k] = vt[order] * (s[order, None] > 0)
    return _fix_signs(out)


def _fix_signs(components: NDArray[np.float64]) -> NDArray[np.float64]:
    """Make each component's largest-magnitude loading positive, a deterministic cold-start choice."""
    for c in range(components.shape[0]):
        j = int(np.argmax(np.abs(components[c])))
        if components[c, j] < 0:
            components[c] = -components[c]
    return components


def project(matrix: VoteMatrix, components: NDArray[np.float64]) -> Projection:
    """Sparsity-aware projection (Pol.is `sparsity-aware-project-ptpt`).

    Each participant's projection, over the cells they filled, is multiplied by
    sqrt(statements / cells filled), so someone who voted on few statements is not pulled to the
    centre merely because their unseen cells sit at the mean. Statements are placed by projecting a
    virtual participant who only agreed with that one statement; its distance from the centre is the
    statement's *extremity*, used by routing.
    """
    m = matrix.n_statements
    raw = np.asarray(matrix.centred @ components.T) if m else np.zeros((matrix.n_participants, 2))
    scale = np.sqrt(m / np.maximum(matrix.cells_filled, 1)) if m else np.ones(matrix.n_participants)
    positions = raw * scale[:, None]
    agree_offset = np.where(matrix.moderated, 0.0, 1.0 - matrix.column_means)
    statement_xy = (components * agree_offset[None, :]).T * np.sqrt(m)
    return Projection(components, positions, statement_xy)
