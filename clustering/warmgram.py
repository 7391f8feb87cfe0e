"""The Gram matrix CᵀC kept between updates and brought up to date column by column.

On the exact PCA path (`pca.uses_gram`) forming CᵀC densely is most of the PCA's cost (n·m² flops:
vtaiwan.uberx, 1,921 x 197, ~5 ms). One vote on statement j changes column j of the centred matrix C
(the vote, and the column mean that centres every vote on j) and nothing else, so only row and column j
of CᵀC change: CᵀC[:, j] = Cᵀ C[:, j], one sparse product.

Which columns changed is found without the previous votes: each column carries a fingerprint, the sum
over its votes of a 53-bit hash of (participant row, vote code), plus its vote count and mean. A changed
column whose fingerprint, count and mean all stay equal needs a hash sum to repeat to the last bit of a
float64 (probability ~1e-13 per changed column). Rows are participant positions, so the cache is used
only when the participants are the same ids in the same order (a newcomer's first vote rebuilds CᵀC:
exact, just not incremental), with the same statements and moderation. More than
`MAX_CHANGED_FRACTION` of the columns changed also rebuilds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from clustering.matrix import VoteMatrix
from clustering.votes import Id

MAX_CHANGED_FRACTION = 0.25
"""Above this share of changed columns, forming CᵀC afresh (one BLAS product) is cheaper."""

_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


@dataclass(frozen=True, eq=False)
class GramCache:
    """CᵀC of one update and what identifies the matrix it came from."""

    participant_ids: tuple[Id, ...]
    statement_ids: tuple[Id, ...]
    moderated: NDArray[np.bool_]
    counts: NDArray[np.int64]
    means: NDArray[np.float64]
    fingerprint: NDArray[np.float64]
    gram: NDArray[np.float64]


def fingerprints(matrix: VoteMatrix) -> NDArray[np.float64]:
    """Per statement column: the sum of a splitmix64 hash of (row, vote code) over its votes, in [0, 1)
    per vote (53 bits)."""
    table = matrix.table
    code = np.rint(table.values * 2.0).astype(np.int64) + 2
    x = (table.rows.astype(np.uint64) * np.uint64(8) + code.astype(np.uint64)) * _GOLDEN
    x ^= x >> np.uint64(30)
    x *= _MIX1
    x ^= x >> np.uint64(27)
    x *= _MIX2
    x ^= x >> np.uint64(31)
    weights = (x >> np.uint64(11)).astype(np.float64) * (1.0 / 9007199254740992.0)
    return np.bincount(table.cols, weights=weights, minlength=matrix.n_statements).astype(np.float64)


def cache_for(matrix: VoteMatrix, gram: NDArray[np.float64], prints: NDArray[np.float64] | None = None,
              ) -> GramCache:
    """The cache entry for `gram` = CᵀC of `matrix`."""
    table = matrix.table
    counts = np.bincount(table.cols, minlength=matrix.n_statements).astype(np.int64)
    return GramCache(table.participant_ids, table.statement_ids, matrix.moderated, counts,
                     matrix.column_means, fingerprints(matrix) if prints is None else prints, gram)


def updated_gram(matrix: VoteMatrix, cache: GramCache | None) -> tuple[NDArray[np.float64], GramCache] | None:
    """CᵀC of `matrix` from the previous update's, and the new cache entry; None when it must be formed
    afresh (no cache, other participants or statements, moderation changed, too many columns changed).
    The cached array itself is returned when no entry changed (e.g. a vote on a moderated statement,
    whose column is zeroed), so callers can tell by identity that the components cannot have moved."""
    table = matrix.table
    m = matrix.n_statements
    if (cache is None or cache.gram.shape != (m, m) or cache.statement_ids != table.statement_ids
            or cache.participant_ids != table.participant_ids
            or not np.array_equal(cache.moderated, matrix.moderated)):
        return None
    prints = fingerprints(matrix)
    counts = np.bincount(table.cols, minlength=m).astype(np.int64)
    changed = np.flatnonzero((prints != cache.fingerprint) | (counts != cache.counts)
                             | (matrix.column_means != cache.means))
    if changed.size > MAX_CHANGED_FRACTION * m:
        return None
    gram = cache.gram
    if changed.size:
        columns = _gram_columns(matrix, changed)
        if not np.array_equal(columns, cache.gram[:, changed]):
            gram = gram.copy()
            gram[:, changed] = columns
            gram[changed, :] = columns.T
    entry = GramCache(table.participant_ids, table.statement_ids, matrix.moderated, counts,
                      matrix.column_means, prints, gram)
    return gram, entry


def _gram_columns(matrix: VoteMatrix, changed: NDArray[np.int64]) -> NDArray[np.float64]:
    """CᵀC[:, j] = Σᵢ C[i, j] C[i, :] for each changed column j, straight from the stored entries."""
    centred = matrix.centred
    data, cols, rows = centred.data, centred.indices, matrix.entry_rows
    out = np.empty((matrix.n_statements, changed.size))
    for t, j in enumerate(changed.tolist()):
        column = np.zeros(matrix.n_participants)
        here = cols == j
        column[rows[here]] = data[here]
        out[:, t] = np.bincount(cols, weights=data * column[rows], minlength=matrix.n_statements)
    return out
