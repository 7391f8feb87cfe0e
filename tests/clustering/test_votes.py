"""`VoteTable.from_arrays` against a plain-Python reading of its rule, on generated vote logs: ids
factorised in sorted order, one entry per (participant, statement) holding the latest vote, entries in
row-then-column order. The generated logs cover the fast paths (narrow integer ranges, 16-bit sorts,
input already in table order) and the general ones (wide or negative ids, strings, mixed types)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from clustering import ACCEPTABLE, AGREE, DISAGREE, PASS, VoteTable
from clustering.votes import _sort_key

VALUES = np.array([AGREE, ACCEPTABLE, PASS, DISAGREE])


def _reference(participants: list[Any], statements: list[Any], values: list[float]) -> VoteTable:
    latest: dict[tuple[Any, Any], float] = {}
    for p, s, v in zip(participants, statements, values, strict=True):
        latest[(p, s)] = v
    people = sorted({p for p, _ in latest}, key=_sort_key)
    topics = sorted({s for _, s in latest}, key=_sort_key)
    row = {p: i for i, p in enumerate(people)}
    col = {s: j for j, s in enumerate(topics)}
    cells = sorted(latest, key=lambda ps: (row[ps[0]], col[ps[1]]))
    return VoteTable(tuple(people), tuple(topics), np.array([row[p] for p, _ in cells], dtype=np.int64),
                     np.array([col[s] for _, s in cells], dtype=np.int64),
                     np.array([latest[c] for c in cells], dtype=np.float64))


def _same(a: VoteTable, b: VoteTable) -> None:
    assert a.participant_ids == b.participant_ids
    assert [type(x) for x in a.participant_ids] == [type(x) for x in b.participant_ids]
    assert a.statement_ids == b.statement_ids
    assert np.array_equal(a.rows, b.rows) and np.array_equal(a.cols, b.cols)
    assert np.array_equal(a.values, b.values)


def _log(rng: np.random.Generator, kind: str, size: int) -> tuple[Any, Any, Any]:
    people, topics = max(2, size // 6), max(2, size // 20)
    p = rng.integers(0, people, size)
    s = rng.integers(0, topics, size)
    v = VALUES[rng.integers(0, 4, size)]
    if kind == "dense":
        return p.astype(np.int32), s.astype(np.int32), v
    if kind == "offset":  # a narrow range far from zero, negative too
        return (p - 5_000_000).astype(np.int64), (s + 2**40).astype(np.int64), v
    if kind == "wide":  # ids spread over a range far wider than their count: the sorting path
        return p * 1_000_003 + 7, s * 999_983, v
    if kind == "many":  # more than 65,536 statements: the one-key sort
        return p % 3, rng.permutation(70_000 + size)[:size], v
    if kind == "str":
        return np.array([f"u{x}" for x in p]), np.array([f"s{x}" for x in s]), v
    if kind == "mixed":
        ids = np.empty(size, dtype=object)
        ids[:] = [int(x) if x % 2 else f"x{x}" for x in p.tolist()]
        return ids, s, v
    raise AssertionError(kind)


@pytest.mark.parametrize("kind", ["dense", "offset", "wide", "many", "str", "mixed"])
def test_from_arrays_keeps_the_latest_vote_per_pair_in_table_order(kind: str) -> None:
    rng = np.random.default_rng([7, len(kind)])
    for size in (1, 2, 17, 500, 4_000):
        p, s, v = _log(rng, kind, size)
        built = VoteTable.from_arrays(p, s, v)
        _same(built, _reference(list(p.tolist()), list(s.tolist()), list(v.tolist())))
        # a table's own arrays are already one per cell in order: building again changes nothing
        again = VoteTable.from_arrays(np.asarray(built.participant_ids, dtype=object)[built.rows],
                                      np.asarray(built.statement_ids, dtype=object)[built.cols], built.values)
        _same(again, built)


def test_a_changed_vote_overrides_the_earlier_one_whatever_the_order() -> None:
    """The same pair voted three times, interleaved with others: the last one counts."""
    p = np.array([3, 1, 3, 2, 3, 1], dtype=np.int32)
    s = np.array([9, 9, 9, 9, 9, 8], dtype=np.int32)
    v = np.array([AGREE, PASS, DISAGREE, AGREE, ACCEPTABLE, DISAGREE])
    table = VoteTable.from_arrays(p, s, v)
    got = {(table.participant_ids[r], table.statement_ids[c]): x
           for r, c, x in zip(table.rows.tolist(), table.cols.tolist(), table.values.tolist(), strict=True)}
    assert got == {(1, 8): DISAGREE, (1, 9): PASS, (2, 9): AGREE, (3, 9): ACCEPTABLE}
    assert table.participant_ids == (1, 2, 3) and table.statement_ids == (8, 9)
