"""Two principal components of the centred sparse vote matrix, and the participants' map positions.

Exact PCA of the mean-imputed matrix equals a truncated SVD of the centred sparse matrix (see
`matrix.py`). With up to a few hundred statements we diagonalise the statements x statements Gram
matrix (exact, like red-dwarf's LAPACK PCA, and cheaper than a dense SVD). Larger ones use ARPACK
(`scipy.sparse.linalg.svds`) on the sparse matrix, which needs only matrix-vector products:
20,000 x 2,000 with 600k votes takes tens of milliseconds instead of seconds. A warm start hands
ARPACK the previous first component as its starting vector.

Signs of singular vectors are arbitrary. Without a previous result we fix them so that each
component's largest loading is positive (deterministic, and scikit-learn's convention, so cold maps
match red-dwarf's); with one, `stability.align_axes` rotates them to the previous orientation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from scipy.sparse.linalg import ArpackError, eigsh, svds

from clustering.matrix import VoteMatrix

N_COMPONENTS = 2
"""The map is 2-D (Pol.is `:n-comps 2`)."""

GRAM_MAX_SIDE = 800
"""When statements (or participants) number at most this, the components come from an exact
eigendecomposition of the small Gram matrix; above it ARPACK works on the sparse matrix."""

EIGH_MAX_SIDE = 64
"""Gram matrices up to this side go to LAPACK `eigh` (all eigenpairs, robust for tiny or degenerate
input); larger ones to ARPACK `eigsh` for the top two only, which is several times faster at 200."""

GRAM_MAX_CELLS = 2_000_000
"""...and only while the dense matrix stays small: forming CᵀC densely costs n·m² flops, so 10,000 x 500
(2.5 GFlop, ~1 s) goes to ARPACK instead (~50 ms)."""

RANK_TOL = 1e-9
"""Singular values below this fraction of the largest are treated as 0 (rank-deficient input, e.g.
everyone voting alike): the component is left at 0 instead of being numerical noise."""

ARPACK_TOL = 1e-8
"""Convergence tolerance for ARPACK; far below anything visible on the map."""

WARM_NCV = 8
"""Lanczos vectors for a warm-started solve (ARPACK's default is 20): with a start already close to the
answer a small basis restarts cheaply; measured ~1.4 ms instead of ~2.2 ms on a 174 x 174 Gram matrix."""

WARM_START_MIX = 0.5
"""The warm start is v₁ + ½ v₂ of the previous update, so the Krylov space holds both components from the
first step."""


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
    return components_with_gram(centred, start, random_state)[0]


def uses_gram(n: int, m: int) -> bool:
    """Whether a matrix of this shape takes the exact Gram path (see `GRAM_MAX_SIDE`)."""
    return min(n, m) <= GRAM_MAX_SIDE and n * m <= GRAM_MAX_CELLS


def components_with_gram(
    centred: sp.csr_matrix, start: NDArray[np.float64] | None = None, random_state: int = 0,
    gram: NDArray[np.float64] | None = None, previous: NDArray[np.float64] | None = None,
) -> tuple[NDArray[np.float64], NDArray[np.float64] | None]:
    """`principal_components`, and the statements x statements Gram matrix CᵀC when it was used (kept for
    the next warm update, see `clustering.warmgram`). A `gram` given by the caller (CᵀC of `centred`,
    updated incrementally) is used instead of forming it, and with the `previous` components (2 x m)
    the top eigenvectors come from a warm-started ARPACK solve (`warm_eigenvectors`)."""
    n, m = centred.shape
    out = np.zeros((N_COMPONENTS, m))
    if n == 0 or m == 0 or not np.any(centred.data):
        return out, None
    if gram is not None:
        found = (warm_eigenvectors(gram, previous) if previous is not None and m > EIGH_MAX_SIDE
                 else None)
        if found is None:
            return _fix_signs(_eigen_components(gram, out)), gram
        return _fix_signs(found), gram
    if uses_gram(n, m):
        if m <= n:
            dense = centred.toarray()
            gram = dense.T @ dense
            return _fix_signs(_eigen_components(gram, out)), gram
        return _fix_signs(_gram_components(centred, out)), None
    v0: NDArray[np.float64]
    if start is not None and n >= m and np.any(start):
        v0 = start
    else:
        v0 = np.random.default_rng(random_state).uniform(-1.0, 1.0, min(n, m))
    _, s, vt = svds(centred, k=N_COMPONENTS, v0=v0, tol=ARPACK_TOL, solver="arpack")
    order = np.argsort(-s)
    keep = s[order] > RANK_TOL * max(float(s.max()), 1e-300)
    out[:] = vt[order] * keep[:, None]
    return _fix_signs(out), None


def _eigen_components(gram: NDArray[np.float64], out: NDArray[np.float64]) -> NDArray[np.float64]:
    """Top eigenvectors of a statements x statements Gram matrix CᵀC (exact, as `_gram_components`)."""
    values, vectors = _top_eigenpairs(gram) if gram.shape[0] > EIGH_MAX_SIDE else np.linalg.eigh(gram)
    top = np.argsort(-values)[:N_COMPONENTS]
    scale = max(float(values.max()), 1e-300)
    for c, i in enumerate(top.tolist()):
        if values[i] > RANK_TOL**2 * scale and values[i] > 0:
            out[c] = vectors[:, i]
    return out


def warm_eigenvectors(
    gram: NDArray[np.float64], previous: NDArray[np.float64],
) -> NDArray[np.float64] | None:
    """The top two eigenvectors of `gram` by ARPACK, started from the previous ones.

    The same solver and tolerance as a cold start (`_top_eigenpairs`: `eigsh`, tol 0 = machine
    precision), so the result is as exact; only the start differs: the previous first and second
    components mixed (`WARM_START_MIX`) instead of a vector of ones, which lets a small Lanczos basis
    (`WARM_NCV`) converge in a few restarts after one vote. None when the start is unusable or the
    matrix is rank-deficient; the caller then diagonalises as on a cold start."""
    m = gram.shape[0]
    start = previous[0] + WARM_START_MIX * previous[1]
    if m <= WARM_NCV or not np.all(np.isfinite(start)) or not np.any(start):
        return None
    try:
        values, vectors = eigsh(gram, k=N_COMPONENTS, v0=start, tol=0.0, ncv=WARM_NCV)
    except ArpackError:
        return None
    order = np.argsort(-values)
    if values[order[0]] <= 0 or values[order[1]] <= RANK_TOL**2 * values[order[0]]:
        return None
    return np.asarray(vectors[:, order].T)


def _gram_components(centred: sp.csr_matrix, out: NDArray[np.float64]) -> NDArray[np.float64]:
    """Eigenvectors of the smaller Gram matrix (CᵀC or CCᵀ), formed densely with one BLAS product:
    exact, and for a few hundred statements a few milliseconds where a dense SVD takes tens."""
    n, m = centred.shape
    dense = centred.toarray()
    gram = dense.T @ dense if m <= n else dense @ dense.T
    side = gram.shape[0]
    values, vectors = _top_eigenpairs(gram) if side > EIGH_MAX_SIDE else np.linalg.eigh(gram)
    top = np.argsort(-values)[:N_COMPONENTS]
    scale = max(float(values.max()), 1e-300)
    for c, i in enumerate(top.tolist()):
        if values[i] <= RANK_TOL**2 * scale or values[i] <= 0:
            continue
        if m <= n:
            out[c] = vectors[:, i]
        else:
            v = dense.T @ vectors[:, i]
            out[c] = v / np.linalg.norm(v)
    return out


def _top_eigenpairs(gram: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """ARPACK's two largest eigenpairs; LAPACK when ARPACK cannot start (e.g. a zero Gram matrix)."""
    try:
        values, vectors = eigsh(gram, k=N_COMPONENTS, v0=np.ones(gram.shape[0]), tol=0.0)
    except ArpackError:
        values, vectors = np.linalg.eigh(gram)
    return np.asarray(values), np.asarray(vectors)


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
