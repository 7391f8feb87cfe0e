"""The participants x statements vote matrix, kept sparse, and who enters the analysis.

Pol.is works on a dense matrix with empty (nil) cells for unseen statements and mean-imputes them before
PCA. Mean imputation followed by centring leaves every unseen cell at exactly 0, so the centred matrix
has the sparsity pattern of the votes themselves: `centred[i, j] = vote[i, j] - mean[j]` where a vote
exists, 0 elsewhere. We build that matrix directly in CSR form and never materialise the dense one,
which is what makes 20,000 x 2,000 cheap.

Moderated-out statements are zeroed for everyone, as Pol.is (`zero-out-columns`) and red-dwarf do. A
zeroed cell holds a value, so it counts as a vote when a participant's projection is scaled (see
`pca.py`); after centring those columns are all 0 and contribute nothing to the components.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from clustering.votes import AGREE, DISAGREE, Id, VoteTable

MIN_VOTES_TO_CLUSTER = 7
"""A participant enters the clustering after voting on min(7, statements) statements
(Pol.is `conversation.clj`, `:in-conv`)."""

GREEDY_MIN_PARTICIPANTS = 15
"""If fewer qualify, the most active voters are added up to 15 (Pol.is `greedy-n`)."""


@dataclass(frozen=True, eq=False)
class VoteMatrix:
    """Votes of one meeting laid out for the pipeline.

    `moderated[j]` marks statement column j as moderated out. `votes_cast[i]` counts participant i's
    real votes (every statement, moderated or not: Pol.is counts them on the raw matrix to decide who
    is in the conversation); `cells_filled[i]` adds the zeroed moderated cells, which is the count the
    sparsity-aware projection divides by.
    """

    table: VoteTable
    moderated: NDArray[np.bool_]
    centred: sp.csr_matrix
    column_means: NDArray[np.float64]
    votes_cast: NDArray[np.int64]
    cells_filled: NDArray[np.int64]
    entry_rows: NDArray[np.int64]
    """The row of each stored entry of `centred` (its CSR data order), for column-wise work without
    converting the matrix."""

    @property
    def n_participants(self) -> int:
        return self.table.n_participants

    @property
    def n_statements(self) -> int:
        return self.table.n_statements


def build_matrix(table: VoteTable, moderated_out: Collection[Id]) -> VoteMatrix:
    """Centre the votes by their column means (= mean imputation) with moderated columns zeroed."""
    n, m = table.n_participants, table.n_statements
    moderated_set = set(moderated_out)
    moderated = np.fromiter((s in moderated_set for s in table.statement_ids), dtype=np.bool_, count=m)
    rows, cols, values = table.rows, table.cols, table.values
    if rows.size and np.any(rows[1:] < rows[:-1]):
        order = np.argsort(rows, kind="stable")
        rows, cols, values = rows[order], cols[order], values[order]
    n_moderated = int(moderated.sum())
    if n_moderated:
        active = ~moderated[cols]
        rows_a, cols_a, values_a = rows[active], cols[active], values[active]
    else:
        rows_a, cols_a, values_a = rows, cols, values
    sums = np.bincount(cols_a, weights=values_a, minlength=m)
    seen = np.bincount(cols_a, minlength=m)
    means = np.divide(sums, seen, out=np.zeros(m), where=seen > 0)
    per_row = np.bincount(rows_a, minlength=n)
    index_type = np.int32 if max(n, m, rows_a.size) < 2**31 - 1 else np.int64
    indptr = np.zeros(n + 1, dtype=index_type)
    np.cumsum(per_row, out=indptr[1:])
    centred = sp.csr_matrix((values_a - means[cols_a], cols_a.astype(index_type), indptr), shape=(n, m))
    votes_cast = np.bincount(rows, minlength=n).astype(np.int64) if n_moderated else per_row.astype(np.int64)
    cells_filled = per_row.astype(np.int64) + n_moderated
    return VoteMatrix(table, moderated, centred, means, votes_cast, cells_filled, rows_a)


def select_participants(matrix: VoteMatrix, keep: Collection[Id] = (),
                        keep_rows: NDArray[np.integer[Any]] | None = None) -> NDArray[np.int64]:
    """Row indices of the participants who enter the clustering, in row order.

    Pol.is rule: at least min(7, statements) votes; if fewer than 15 qualify, top up with the most
    active remaining voters. `keep` (the previous result's clustered participants) stay in once in,
    as Pol.is's `in-conv` set only grows, so a participant never drops off the live map. `keep_rows`
    gives them as row indices instead, when the caller knows the rows (same participants as before).
    """
    counts = matrix.votes_cast
    threshold = min(MIN_VOTES_TO_CLUSTER, matrix.n_statements)
    chosen = counts >= max(threshold, 1)
    if keep_rows is not None:
        chosen[keep_rows] = True
    elif keep:
        keep_set = keep if isinstance(keep, set | frozenset) else set(keep)
        chosen |= np.fromiter((p in keep_set for p in matrix.table.participant_ids), dtype=np.bool_,
                              count=matrix.n_participants)
    missing = GREEDY_MIN_PARTICIPANTS - int(chosen.sum())
    if missing > 0:
        candidates = np.flatnonzero(~chosen & (counts > 0))
        by_activity = candidates[np.argsort(-counts[candidates], kind="stable")]
        chosen[by_activity[:missing]] = True
    return np.flatnonzero(chosen).astype(np.int64)


_KIND = np.array([2, -1, 3, 1, 0], dtype=np.int64)
"""Tally column of each vote code, indexed by 2·value + 2: disagree (−1) → 2, pass (0) → 3, acceptable
(+½) → 1, agree (+1) → 0 (a lookup instead of four comparisons)."""
assert _KIND[int(2 * AGREE) + 2] == 0 and _KIND[int(2 * DISAGREE) + 2] == 2


@dataclass(frozen=True, eq=False)
class Tallies:
    """Vote counts per (group, statement): arrays of shape (groups, statements)."""

    agree: NDArray[np.int64]
    acceptable: NDArray[np.int64]
    disagree: NDArray[np.int64]
    passed: NDArray[np.int64]

    @property
    def seen(self) -> NDArray[np.int64]:
        return self.agree + self.acceptable + self.disagree + self.passed

    @property
    def accepted(self) -> NDArray[np.int64]:
        """Agree or acceptable: the numerator of every acceptance measure."""
        return self.agree + self.acceptable

    def total(self) -> Tallies:
        """The same counts summed over groups, as a single-row table."""
        return Tallies(*(a.sum(axis=0, keepdims=True) for a in
                         (self.agree, self.acceptable, self.disagree, self.passed)))


def tally(table: VoteTable, row_group: NDArray[np.int64], n_groups: int) -> Tallies:
    """Count each vote kind per group and statement; rows with group -1 are ignored.

    Counts come from the raw votes, moderated statements included (they are filtered later), as in
    Pol.is's `votes-base`.
    """
    m = table.n_statements
    group = row_group[table.rows] if table.rows.size else np.zeros(0, dtype=np.int64)
    member = group >= 0
    values = table.values[member]
    kind = _KIND[np.rint(values * 2.0).astype(np.int64) + 2]
    cell = (group[member] * m + table.cols[member]) * 4 + kind
    counts = np.bincount(cell, minlength=n_groups * m * 4).reshape(n_groups, m, 4).astype(np.int64)
    return Tallies(counts[:, :, 0], counts[:, :, 1], counts[:, :, 2], counts[:, :, 3])
