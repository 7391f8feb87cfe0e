"""Hand-made vote tables whose statistics are computed independently here, from the formulas in
docs/method.md, and compared with the library's."""

from __future__ import annotations

import math

import numpy as np
import pytest

from clustering import ACCEPTABLE, AGREE, DISAGREE, PASS
from clustering.consensus import acceptance, group_informed_consensus, lanes, majority_opinions
from clustering.matrix import Tallies
from clustering.priorities import priority
from clustering.repness import group_stats, select_representative


def tallies(agree: list[list[int]], disagree: list[list[int]], passed: list[list[int]],
            acceptable: list[list[int]] | None = None) -> Tallies:
    """Tallies from per (group, statement) count lists."""
    a = np.array(agree)
    return Tallies(a, np.array(acceptable) if acceptable is not None else np.zeros_like(a),
                   np.array(disagree), np.array(passed))


def two_prop(s1: int, s2: int, n1: int, n2: int) -> float:
    """Pol.is two-proportion test with every count + 1, written out longhand."""
    s1, s2, n1, n2 = s1 + 1, s2 + 1, n1 + 1, n2 + 1
    p = (s1 + s2) / (n1 + n2)
    return (s1 / n1 - s2 / n2) / math.sqrt(p * (1 - p) * (1 / n1 + 1 / n2))


def test_agree_share_and_test() -> None:
    """pa = (agrees + 1) / (votes + 2) and pat = 2·sqrt(n+1)·((a+1)/(n+1) − ½)."""
    s = group_stats(tallies([[8], [1]], [[1], [7]], [[1], [2]]))
    assert s.pa[0, 0] == pytest.approx(9 / 12)
    assert s.pat[0, 0] == pytest.approx(2 * math.sqrt(11) * (9 / 11 - 0.5))
    assert s.pd[1, 0] == pytest.approx(8 / 12)


def test_representativeness_against_other_groups() -> None:
    """ra = pa / pa(rest) and rat is the two-proportion test against the union of the other groups."""
    s = group_stats(tallies([[8], [1], [2]], [[1], [7], [6]], [[1], [2], [2]]))
    rest_pa = (1 + 2 + 1) / (20 + 2)
    assert s.ra[0, 0] == pytest.approx((9 / 12) / rest_pa)
    assert s.rat[0, 0] == pytest.approx(two_prop(8, 3, 10, 20))
    assert s.rdt[1, 0] == pytest.approx(two_prop(7, 7, 10, 20))


def test_representative_selection_prefers_significant_and_puts_agrees_first() -> None:
    """Significant statements are kept (best agree first), agrees before disagrees, at most 5."""
    agree = [[18, 1, 10, 2, 17, 16, 15], [2, 18, 10, 2, 3, 4, 5]]
    disagree = [[1, 18, 9, 17, 2, 3, 4], [17, 1, 9, 16, 16, 15, 14]]
    passed = [[1, 1, 1, 1, 1, 1, 1], [1, 1, 1, 2, 1, 1, 1]]
    s = group_stats(tallies(agree, disagree, passed))
    picks = select_representative(s, 0, np.ones(7, dtype=bool))
    assert 1 <= len(picks) <= 5
    assert picks[0].best_agree and picks[0].direction == "agree"
    directions = [p.direction for p in picks]
    assert directions == sorted(directions)  # "agree" < "disagree"
    assert 2 not in {p.column for p in picks}  # split evenly in both groups: not representative
    assert 3 not in {p.column for p in picks}  # both groups disagree: nothing sets group 0 apart


def test_moderated_statements_are_never_representative() -> None:
    """Ineligible (moderated-out) columns are skipped."""
    s = group_stats(tallies([[18, 5], [2, 5]], [[1, 5], [17, 5]], [[1, 0], [1, 0]]))
    picks = select_representative(s, 0, np.array([False, True]))
    assert all(p.column == 1 for p in picks)


def test_group_informed_consensus_is_product_of_smoothed_shares() -> None:
    """Consensus = Π over groups of (accepted + 1) / (votes + 2); acceptable counts as accepted."""
    t = tallies([[8, 2]], [[1, 2]], [[1, 0]], acceptable=[[0, 4]])
    t2 = Tallies(np.vstack([t.agree, [[3, 0]]]), np.vstack([t.acceptable, [[0, 0]]]),
                 np.vstack([t.disagree, [[3, 5]]]), np.vstack([t.passed, [[0, 0]]]))
    gic = group_informed_consensus(t2)
    assert gic[0] == pytest.approx((9 / 12) * (4 / 8))
    assert gic[1] == pytest.approx((7 / 10) * (1 / 7))


def test_majority_opinions_threshold_and_order() -> None:
    """Majority: share > ½ and z > 1.2816, ranked by share·z; disagrees listed separately."""
    total = tallies([[20, 12, 2, 6]], [[1, 2, 19, 5]], [[0, 1, 0, 0]])
    picks = majority_opinions(total, np.ones(4, dtype=bool))
    assert [(p.column, p.direction) for p in picks] == [(0, "agree"), (1, "agree"), (2, "disagree")]
    assert picks[0].share == pytest.approx(21 / 23)
    assert picks[0].z == pytest.approx(2 * math.sqrt(22) * (21 / 22 - 0.5))


def test_acceptable_to_all_needs_every_group() -> None:
    """A statement is acceptable to all only when each group's accepted share is significantly > ½."""
    t = tallies([[8, 8], [2, 1]], [[1, 1], [1, 8]], [[1, 1], [1, 1]], acceptable=[[0, 0], [6, 0]])
    acc = acceptance(t)
    assert acc.share[1, 0] == pytest.approx((8 + 1) / (10 + 2))
    out = lanes(acc, np.array([10, 10]), None)
    assert list(out) == ["acceptable", "disputed"]


def test_roles_with_five_voters_can_block_acceptance() -> None:
    """A role with >= 5 voters that does not accept a statement keeps it out of acceptable-to-all."""
    groups = acceptance(tallies([[9], [9]], [[0], [0]], [[1], [1]]))
    big_role = acceptance(tallies([[1]], [[5]], [[0]]))
    small_role = acceptance(tallies([[0]], [[4]], [[0]]))
    sizes = np.array([10, 10])
    assert list(lanes(groups, sizes, big_role)) == ["disputed"]
    assert list(lanes(groups, sizes, small_role)) == ["acceptable"]


def test_lanes_rejected_and_needs_votes() -> None:
    """Disagreed by every group is rejected; fewer than min(5, group size) votes is needs_votes."""
    t = tallies([[0, 9], [1, 1]], [[9, 0], [8, 0]], [[1, 0], [1, 2]])
    out = lanes(acceptance(t), np.array([10, 10]), None)
    assert list(out) == ["rejected", "needs_votes"]


def test_priority_formula() -> None:
    """priority = (a·(1−p)·(1+E) · (1 + 8·2^(−S/5)))² with a, p smoothed."""
    got = priority(np.array([6, 0]), np.array([2, 0]), np.array([10, 0]), np.array([0.5, 0.0]))
    a, p = 7 / 12, 3 / 12
    expected = (a * (1 - p) * 1.5 * (1 + 8 * 2 ** (-10 / 5))) ** 2
    assert got[0] == pytest.approx(expected)
    assert got[1] == pytest.approx((0.5 * 0.5 * 9) ** 2)


def test_vote_codes() -> None:
    """The exported vote codes, including the consent scale's acceptable at +0.5."""
    assert (AGREE, DISAGREE, PASS, ACCEPTABLE) == (1.0, -1.0, 0.0, 0.5)


def test_the_best_agreed_statement_reads_as_agree_even_when_others_agree_more() -> None:
    """Group 0 agrees with statement 0 (18 of 20) but the others agree even more (40 of 40), so Pol.is's
    rat > rdt rule would label it "disagree" with group 0's disagree share (1 of 20): it is shown as the
    agreement it was chosen for, with the agree share."""
    s = group_stats(tallies([[18, 2], [40, 30]], [[1, 17], [0, 5]], [[1, 1], [0, 5]]))
    assert s.rdt[0, 0] > s.rat[0, 0]
    picks = select_representative(s, 0, np.ones(2, dtype=bool))
    head = picks[0]
    assert head.best_agree and head.column == 0
    assert head.direction == "agree" and head.share == pytest.approx(19 / 22)


def test_without_groups_a_verdict_needs_five_voters() -> None:
    """The whole room as one unit needs 5 votes on a statement before its lane is decided, however few
    have voted so far; a small group needs only all of its members (min(5, size)). One agree from the
    only voter had made a statement "acceptable to all" in a room of twelve."""
    one = acceptance(tallies([[1]], [[0]], [[0]]))
    assert list(lanes(one, np.array([1]), None, whole_room=True)) == ["needs_votes"]
    assert list(lanes(one, np.array([1]), None)) == ["acceptable"]  # a one-member group: all of it voted
    four = acceptance(tallies([[4]], [[0]], [[0]]))
    five = acceptance(tallies([[5]], [[0]], [[0]]))
    assert list(lanes(four, np.array([4]), None, whole_room=True)) == ["needs_votes"]
    assert list(lanes(five, np.array([5]), None, whole_room=True)) == ["acceptable"]
