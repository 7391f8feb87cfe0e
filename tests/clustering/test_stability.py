"""A live map must stay calm: one more vote keeps ids and axes; k changes only after 4 wins."""

from __future__ import annotations

import numpy as np

from clustering import AGREE, AnalysisResult, VoteTable, analyze
from clustering.stability import K_BUFFER, KSmoother, align_axes, matched_labels
from tests.clustering.conftest import reference
from tests.clustering.synthetic import planted


def _add_vote(table: VoteTable, participant: object, statement: object, value: float) -> VoteTable:
    p = np.array([table.participant_ids[r] for r in table.rows] + [participant], dtype=object)
    s = np.array([table.statement_ids[c] for c in table.cols] + [statement], dtype=object)
    return VoteTable.from_arrays(p, s, np.append(table.values, value))


def _one_more_vote(name: str) -> tuple[AnalysisResult, AnalysisResult]:
    ref = reference(name)
    table, moderated = ref.conversation.votes, ref.conversation.moderated_out
    before = analyze(table, moderated_out=moderated)
    voted = set(zip(table.rows.tolist(), table.cols.tolist(), strict=True))
    counts = np.bincount(table.rows, minlength=table.n_participants)
    row = int(np.flatnonzero((counts >= 10) & (counts < table.n_statements - len(moderated)))[0])
    col = next(c for c in range(table.n_statements) if (row, c) not in voted
               and table.statement_ids[c] not in moderated)
    after = analyze(_add_vote(table, table.participant_ids[row], table.statement_ids[col], AGREE),
                    moderated_out=moderated, previous=before)
    return before, after


def test_one_more_vote_keeps_group_ids() -> None:
    """After one new vote nearly every participant keeps their group letter."""
    for name in ("brexit-consensus", "vtaiwan.uberx"):
        before, after = _one_more_vote(name)
        old = {m: g.id for g in before.groups for m in g.members}
        new = {m: g.id for g in after.groups for m in g.members}
        same = sum(old[p] == new.get(p) for p in old)
        assert after.k == before.k
        assert same >= 0.98 * len(old)


def test_one_more_vote_does_not_flip_axes() -> None:
    """After one new vote the map barely moves (the voter may; others stay put): no flips or swaps."""
    before, after = _one_more_vote("brexit-consensus")
    ids = sorted(before.positions, key=str)
    a = np.array([before.positions[p] for p in ids])
    b = np.array([after.positions[p] for p in ids])
    extent = np.abs(a).max()
    moved = np.linalg.norm(a - b, axis=1)
    assert np.sort(moved)[-2] < 0.01 * extent
    for axis in range(2):
        assert np.corrcoef(a[:, axis], b[:, axis])[0, 1] > 0.99


def test_k_smoother_switches_after_four_consecutive_wins() -> None:
    """The shown k changes only once a new k has won K_BUFFER (4) updates in a row."""
    assert K_BUFFER == 4
    state = KSmoother().update(2)
    shown = []
    for k in [3, 3, 2, 3, 3, 3, 3, 3]:
        state = state.update(k)
        shown.append(state.smoothed_k)
    assert shown == [2, 2, 2, 2, 2, 2, 3, 3]


def test_pipeline_holds_k_until_fourth_update() -> None:
    """A meeting whose data turn from 2 to 3 planted groups shows 3 groups on the 4th update only."""
    two, _ = planted(300, 40, 2, 30, seed=1)
    three, _ = planted(300, 40, 3, 30, seed=2)
    result = analyze(two)
    assert result.k == 2
    ks = []
    for _ in range(4):
        result = analyze(three, previous=result)
        ks.append(result.k)
    assert ks == [2, 2, 2, 3]


def test_align_axes_undoes_flip_and_swap() -> None:
    """Procrustes alignment recovers the previous orientation from flipped and swapped axes."""
    rng = np.random.default_rng(0)
    prev = np.linalg.qr(rng.normal(size=(30, 2)))[0].T
    scrambled = np.array([-prev[1], prev[0]])
    assert np.allclose(align_axes(scrambled, prev), prev)


def test_matched_labels_follow_members() -> None:
    """New clusters take the letter of the previous group they share most members with."""
    labels = np.array([1, 1, 1, 0, 0, 2])
    members = ["a", "b", "c", "d", "e", "f"]
    previous = {"A": frozenset({"a", "b", "c"}), "B": frozenset({"d", "e"})}
    assert matched_labels(labels, 3, members, previous) == ["B", "A", "C"]
