"""What still needs votes (clustering/readiness.py), on planted meetings whose answers are known."""

from __future__ import annotations

import itertools
import random

import numpy as np
import pytest

from clustering import AGREE, DISAGREE, PASS, VoteTable, analyze
from clustering.consensus import LANE_MIN_VOTES, ROLE_MIN_VOTERS, acceptance, lanes
from clustering.matrix import Tallies
from clustering.readiness import WHOLE_ROOM, fewest_votes, shortfalls


def table(votes: list[tuple[str, str, float]]) -> VoteTable:
    return VoteTable.from_triples(votes)


def test_a_short_group_needs_exactly_what_the_lane_rule_asks() -> None:
    """Group A (3 people) with 2 votes needs 1 more (its whole size), B (8 people) with 5 votes needs none."""
    group_of = {f"a{i}": "A" for i in range(3)} | {f"b{i}": "B" for i in range(8)}
    votes = [("a0", "s", AGREE), ("a1", "s", DISAGREE)] + [(f"b{i}", "s", PASS) for i in range(5)]
    found = shortfalls(table(votes), {"s": "needs_votes"}, group_of, {}, group_of)
    assert found["s"].groups == {"A": 1}
    assert found["s"].roles == {}
    assert found["s"].votes == 1 and found["s"].reachable


def test_a_settled_statement_is_left_out() -> None:
    """Every group at its minimum and no role short: nothing is needed, the statement is not listed."""
    group_of = {f"a{i}": "A" for i in range(5)} | {f"b{i}": "B" for i in range(5)}
    votes = [(p, "s", AGREE) for p in group_of]
    assert shortfalls(table(votes), {"s": "acceptable"}, group_of, {}, group_of) == {}


def test_a_role_with_enough_members_but_few_votes_is_short_on_a_decided_lane() -> None:
    """Vendors (6 members, 2 voted) need 3 more before their voice counts, even on a decided lane; a role of
    4 members can never count (ROLE_MIN_VOTERS) and is never asked for."""
    group_of = {f"p{i}": "A" if i < 10 else "B" for i in range(20)}
    roles = {f"p{i}": "攤商" for i in (0, 1, 10, 11, 12, 13)} | {f"p{i}": "里長" for i in (2, 3, 4, 5)}
    votes = [(f"p{i}", "s", AGREE) for i in (0, 5, 6, 7, 8, 14, 15, 16, 17, 18)]
    found = shortfalls(table(votes), {"s": "acceptable"}, group_of, roles, group_of)["s"]
    assert found.groups == {}
    assert found.roles == {"攤商": ROLE_MIN_VOTERS - 1}  # only p0 of the six voted
    assert found.votes == found.roles["攤商"]


def test_one_vote_fills_a_group_need_and_a_role_need_at_once() -> None:
    """A needs 2, vendors need 2, and two vendors of A have not voted: 2 votes settle it, not 4."""
    group_of = {f"a{i}": "A" for i in range(6)} | {f"b{i}": "B" for i in range(6)}
    roles = {"a0": "vendor", "a1": "vendor", "b0": "vendor", "b1": "vendor", "b2": "vendor"}
    votes = [(f"a{i}", "s", AGREE) for i in (2, 3, 4)] + [(f"b{i}", "s", AGREE) for i in range(6)]
    found = shortfalls(table(votes), {"s": "needs_votes"}, group_of, roles, group_of)["s"]
    assert found.groups == {"A": 2}
    assert found.roles == {"vendor": 2}
    assert found.votes == 2


def test_without_groups_the_room_needs_five_and_a_small_room_cannot_settle() -> None:
    """No groups: the room needs LANE_MIN_VOTES votes; with only 4 people present it is unreachable."""
    votes = [("p0", "s", AGREE), ("p1", "s", AGREE), ("p2", "s", DISAGREE)]
    roomy = shortfalls(table(votes), {"s": "needs_votes"}, {}, {}, [f"p{i}" for i in range(10)])["s"]
    assert roomy.groups == {WHOLE_ROOM: LANE_MIN_VOTES - 3} and roomy.votes == 2 and roomy.reachable
    small = shortfalls(table(votes), {"s": "needs_votes"}, {}, {}, ["p0", "p1", "p2", "p3"])["s"]
    assert small.groups == {WHOLE_ROOM: 2} and small.votes == 1 and not small.reachable


def test_a_statement_nobody_voted_on_needs_every_group() -> None:
    """A statement without a vote (posted after the run) needs min(5, size) of every group."""
    group_of = {f"a{i}": "A" for i in range(3)} | {f"b{i}": "B" for i in range(9)}
    votes = [("a0", "t", AGREE)]
    found = shortfalls(table(votes), {"s": "needs_votes"}, group_of, {}, group_of)["s"]
    assert found.groups == {"A": 3, "B": 5} and found.votes == 8


def _brute_force(group_need: list[int], role_need: list[int], people: list[tuple[int, int]]) -> int | None:
    """The smallest set of people (group, role; -1 for none) meeting every need, by trying every subset."""
    for size in range(len(people) + 1):
        for chosen in itertools.combinations(people, size):
            g = [sum(1 for p in chosen if p[0] == i) for i in range(len(group_need))]
            r = [sum(1 for p in chosen if p[1] == i) for i in range(len(role_need))]
            if all(a >= b for a, b in zip(g, group_need, strict=True)) and all(
                    a >= b for a, b in zip(r, role_need, strict=True)):
                return size
    return None


@pytest.mark.parametrize("seed", range(40))
def test_fewest_votes_is_the_true_minimum(seed: int) -> None:
    """On random small rooms, the flow answer equals the smallest set found by trying every subset."""
    rng = random.Random(seed)
    n_groups, n_roles = rng.randint(1, 3), rng.randint(1, 3)
    people = [(rng.randint(-1, n_groups - 1), rng.randint(-1, n_roles - 1)) for _ in range(rng.randint(3, 11))]
    available = np.zeros((n_groups + 1, n_roles + 1), dtype=np.int64)
    for g, r in people:
        available[g if g >= 0 else n_groups, r if r >= 0 else n_roles] += 1
    group_need = np.array([rng.randint(0, int(available[g].sum())) for g in range(n_groups)])
    role_need = np.array([rng.randint(0, int(available[:, r].sum())) for r in range(n_roles)])
    found, reachable = fewest_votes(group_need, role_need, available)
    assert reachable
    assert found == _brute_force(group_need.tolist(), role_need.tolist(), people)


def test_the_votes_it_names_settle_the_lane() -> None:
    """Cast exactly `votes` more votes from the short groups' people and the lane rule no longer says
    needs_votes (planted: groups fixed, any values)."""
    rng = np.random.default_rng(3)
    group_of = {f"p{i}": "AB"[i % 2] for i in range(14)}
    voted = {f"p{i}" for i in (0, 2, 1)}
    votes = [(p, "s", float(rng.choice([AGREE, DISAGREE]))) for p in sorted(voted)]
    found = shortfalls(table(votes), {"s": "needs_votes"}, group_of, {}, group_of)["s"]
    extra = []
    for group, need in found.groups.items():
        extra += [p for p in sorted(group_of) if group_of[p] == group and p not in voted][:need]
    assert len(extra) == found.votes
    everyone = votes + [(p, "s", AGREE) for p in extra]
    counts = np.zeros((2, 1, 4), dtype=np.int64)
    for p, _, v in everyone:
        counts[0 if group_of[p] == "A" else 1, 0, 0 if v == AGREE else 2] += 1
    tallies = Tallies(counts[:, :, 0], counts[:, :, 1], counts[:, :, 2], counts[:, :, 3])
    assert lanes(acceptance(tallies), np.array([7, 7]), None)[0] != "needs_votes"


def test_on_an_analysis_every_needs_votes_statement_is_listed() -> None:
    """On a real analysis, every statement in the needs_votes lane has a shortfall, and a statement listed
    with a decided lane is short only on roles."""
    rng = np.random.default_rng(1)
    votes = []
    for p in range(40):
        for s in range(12):
            if rng.random() < (0.9 if s < 8 else 0.08):
                votes.append((p, s, float(rng.choice([AGREE, DISAGREE, PASS]))))
    roles = {p: "vendor" if p % 4 == 0 else "resident" for p in range(40)}
    result = analyze(votes, roles=roles)
    group_of = {m: g.id for g in result.groups for m in g.members}
    found = shortfalls(VoteTable.from_triples(votes), result.lanes, group_of, roles, range(40))
    for statement, lane in result.lanes.items():
        if lane == "needs_votes":
            assert statement in found and found[statement].groups
        elif statement in found:
            assert not found[statement].groups and found[statement].roles


def test_each_unit_is_routed_the_statements_it_is_short_on_closest_first() -> None:
    """wanted_by: per group and role, the statements it lacks votes on, the fewest-votes-to-settle first."""
    from clustering.priorities import wanted_by
    from clustering.readiness import Shortfall

    found = {
        7: Shortfall(7, "needs_votes", {"A": 3}, {"攤商": 2}, votes=4),
        3: Shortfall(3, "needs_votes", {"A": 1, "B": 2}, {}, votes=3),
        5: Shortfall(5, "acceptable", {}, {"攤商": 1}, votes=1),
    }
    assert wanted_by(found) == {("group", "A"): (3, 7), ("group", "B"): (3,), ("role", "攤商"): (5, 7)}


def test_importance_raises_the_routing_weight_by_the_share_that_marked_it() -> None:
    """Nobody: x1; 4 of 4 voters: (1 + 4/5)² = 3.24; the factor grows with the share."""
    from clustering.priorities import importance_factor

    factor = importance_factor(np.array([0, 4, 2]), np.array([10, 4, 4]))
    assert factor.tolist() == pytest.approx([1.0, 3.24, 1.96])
