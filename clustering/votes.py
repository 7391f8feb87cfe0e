"""Vote codes and the compact vote table every stage of the pipeline reads.

A meeting's votes arrive as (participant, statement, value) triples. The pipeline never looks at them
as Python objects again: they are factorised once into integer row/column indices plus a float value
array (coordinate format), which is all a sparse PCA and a few `np.bincount` calls need.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

AGREE = 1.0
"""Agree. Pol.is exports also use +1 (Pol.is stores -1 internally and flips it on export)."""

DISAGREE = -1.0
"""Disagree, -1 as in Pol.is exports."""

PASS = 0.0
"""Pass / unsure: seen, counted as a vote, but neither for nor against (Pol.is: 0)."""

ACCEPTABLE = 0.5
"""Consent scale: "not my preference, but I can live with it".

On the map it sits half-way between pass and agree, so a participant who finds many things acceptable
drifts towards the agreeing side without being confused with an enthusiast. In every acceptance measure
(group-informed consensus, acceptable-to-all, lanes, routing) it counts as acceptance; where a measure
asks what a group specifically *endorses* (representative statements, majority opinions) it counts only
as a vote seen, because "I can live with it" is not an endorsement. Pol.is has no such value, so on
Pol.is data every result is unchanged by this choice.
"""

VOTE_VALUES: frozenset[float] = frozenset({AGREE, DISAGREE, PASS, ACCEPTABLE})

Id = Hashable
"""Participant and statement ids: any hashable (the server uses str, Pol.is exports int)."""


class InvalidVoteError(ValueError):
    """A vote value outside the four codes, or arrays of mismatched lengths."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return f"invalid votes: {self.message}"


def _sort_key(value: Any) -> tuple[int, Any]:
    """Order ids deterministically even when ints and strings are mixed."""
    if isinstance(value, bool | int | np.integer):
        return (0, int(value))
    return (1, str(value))


DENSE_SPAN_PER_ID = 8
"""Integer ids whose range is at most this many times their count (plus `DENSE_SPAN_SLACK`) are
factorised through a presence array over the range instead of a sort: the server's and Pol.is's ids are
small consecutive integers, and the sort was most of building a live run's vote table."""
DENSE_SPAN_SLACK = 4096
_RADIX_LIMIT = 1 << 16


def _factorize(ids: NDArray[Any]) -> tuple[tuple[Id, ...], NDArray[np.int64]]:
    """Map ids to 0..n-1 in sorted id order, so row order never depends on arrival order."""
    if ids.size == 0:
        return (), np.zeros(0, dtype=np.int64)
    if ids.dtype.kind in "iu":
        dense = _factorize_dense(ids)
        if dense is not None:
            return dense
    if ids.dtype.kind in "iuU":
        uniques, inverse = np.unique(ids, return_inverse=True)
        return tuple(uniques.tolist()), inverse.astype(np.int64).ravel()
    index: dict[Id, int] = {}
    codes = np.fromiter((index.setdefault(i, len(index)) for i in ids.tolist()), dtype=np.int64,
                        count=ids.size)
    firsts = list(index)
    order = sorted(range(len(firsts)), key=lambda j: _sort_key(firsts[j]))
    remap = np.empty(len(firsts), dtype=np.int64)
    remap[np.asarray(order, dtype=np.int64)] = np.arange(len(firsts), dtype=np.int64)
    return tuple(firsts[j] for j in order), remap[codes]


def _factorize_dense(ids: NDArray[Any]) -> tuple[tuple[Id, ...], NDArray[np.int64]] | None:
    """`np.unique(ids, return_inverse=True)` for integers over a narrow range, in linear time; None when
    the range is too wide for it (see `DENSE_SPAN_PER_ID`)."""
    low, high = int(ids.min()), int(ids.max())
    span = high - low + 1
    if span > DENSE_SPAN_PER_ID * ids.size + DENSE_SPAN_SLACK:
        return None
    offsets = ids.astype(np.int64) - low
    present = np.zeros(span, dtype=np.bool_)
    present[offsets] = True
    code = np.cumsum(present, dtype=np.int64) - 1
    return tuple((np.flatnonzero(present) + low).tolist()), code[offsets]


def _last_per_cell(rows: NDArray[np.int64], cols: NDArray[np.int64], n: int, m: int) -> NDArray[np.int64] | None:
    """Indices of the last entry for each (row, col) cell, in row-then-column order, from a stable sort
    (equal cells keep their arrival order, so the last of each run is the latest vote). None when the
    entries are already one per cell in that order (a table's own arrays), which needs no sort.

    Up to 65,536 rows and columns the sort is two stable passes on 16-bit keys, column then row, which
    numpy does as radix sorts: at 600,000 votes ~20 ms instead of ~95 for one sort of the cell numbers."""
    key = rows * m + cols
    if bool(np.all(key[1:] > key[:-1])):
        return None
    if n <= _RADIX_LIMIT and m <= _RADIX_LIMIT:
        by_col = np.argsort(cols.astype(np.uint16), kind="stable")
        order = by_col[np.argsort(rows[by_col].astype(np.uint16), kind="stable")]
    else:
        order = np.argsort(key, kind="stable")
    ordered = key[order]
    last = np.empty(key.size, dtype=np.bool_)
    last[-1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=last[:-1])
    return np.asarray(order[last], dtype=np.int64)


@dataclass(frozen=True, eq=False)
class VoteTable:
    """Effective votes in coordinate form: `values[i]` is participant `participant_ids[rows[i]]` on
    statement `statement_ids[cols[i]]`. One entry per (participant, statement) pair, sorted by row
    then column, so the sparse matrix is built without another sort.

    Build it with `from_arrays` (vectorised, for big inputs) or `from_triples`. When a pair occurs more
    than once the *last* occurrence wins, so passing a vote log in time order gives the latest vote per
    pair, which is the rule Pol.is applies; callers holding unordered history must pick the latest
    themselves (see `clustering.polis_io`).
    """

    participant_ids: tuple[Id, ...]
    statement_ids: tuple[Id, ...]
    rows: NDArray[np.int64]
    cols: NDArray[np.int64]
    values: NDArray[np.float64]

    @classmethod
    def from_arrays(
        cls,
        participants: Sequence[Id] | NDArray[Any],
        statements: Sequence[Id] | NDArray[Any],
        values: Sequence[float] | NDArray[Any],
    ) -> VoteTable:
        """Factorise parallel arrays of ids and vote codes; later duplicates override earlier ones."""
        p = np.asarray(participants)
        s = np.asarray(statements)
        v = np.asarray(values, dtype=np.float64)
        if not (p.shape == s.shape == v.shape) or p.ndim != 1:
            raise InvalidVoteError(
                f"participants, statements and values must be 1-D and equal length, got "
                f"{p.shape}, {s.shape}, {v.shape}")
        bad = ~np.isin(v, np.fromiter(VOTE_VALUES, dtype=np.float64))
        if bad.any():
            raise InvalidVoteError(f"value {v[bad][0]!r} is not one of AGREE, DISAGREE, PASS, ACCEPTABLE")
        participant_ids, rows = _factorize(p)
        statement_ids, cols = _factorize(s)
        if rows.size:
            keep = _last_per_cell(rows, cols, len(participant_ids), len(statement_ids))
            if keep is not None:
                rows, cols, v = rows[keep], cols[keep], v[keep]
        return cls(participant_ids, statement_ids, rows, cols, v)

    @classmethod
    def from_triples(cls, votes: Iterable[tuple[Id, Id, float]]) -> VoteTable:
        """Build from (participant, statement, value) triples; later duplicates win."""
        triples = list(votes)
        if not triples:
            return cls.empty()
        participants, statements, values = zip(*triples, strict=True)
        p = np.empty(len(triples), dtype=object)
        p[:] = participants
        s = np.empty(len(triples), dtype=object)
        s[:] = statements
        return cls.from_arrays(p, s, values)

    @classmethod
    def empty(cls) -> VoteTable:
        """A table with no votes."""
        none = np.zeros(0, dtype=np.int64)
        return cls((), (), none, none.copy(), np.zeros(0, dtype=np.float64))

    @property
    def n_participants(self) -> int:
        return len(self.participant_ids)

    @property
    def n_statements(self) -> int:
        return len(self.statement_ids)

    def __len__(self) -> int:
        return int(self.values.size)
