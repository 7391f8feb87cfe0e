"""The live router (:class:`facilitation.core.next_statement.Router`) against the rule stated by ``next_statement``.

The router keeps caches so an ack does not scan every statement; these tests drive a meeting through
random posts, moderation (out and back in), votes and changed votes, and after every step compare the
router with a brute-force evaluation of the rule: the same "remaining", the same new statement when one
is due, a statement the phone has not voted on otherwise, and weighted draws in the right proportions.
"""

from __future__ import annotations

import random
from collections import Counter

import pytest

from facilitation.core.errors import ClientError
from facilitation.core.meeting import Meeting, Moderate, PostStatement, Vote
from facilitation.core.next_statement import NEW_STATEMENT_VOTES, Router, uniform
from tests.core.helpers import NOW, join, new_meeting

VALUES = ("agree", "disagree", "pass", "acceptable")


def _reference_fresh(meeting: Meeting, participant: int) -> int | None:
    fresh = [s for s in meeting.unvoted(participant) if sum(s.tally.values()) < NEW_STATEMENT_VOTES]
    if not fresh:
        return None
    return min(fresh, key=lambda s: (sum(s.tally.values()), s.created_at, s.id)).id


def _step(meeting: Meeting, rng: random.Random, people: list[int], n: int) -> None:
    roll = rng.random()
    try:
        if roll < 0.08:
            meeting.apply(PostStatement(rng.choice(people), f"Statement {n} {rng.random()}.", op=f"p{n}"), NOW + n)
        elif roll < 0.14 and meeting.statements:
            action = rng.choice(("accept", "hide", "reject"))
            meeting.apply(Moderate(rng.choice(list(meeting.statements)), action,
                                   reason="off topic" if action == "reject" else "", op=f"m{n}"), NOW + n)
        elif meeting.accepted_statements():
            statement = rng.choice(meeting.accepted_statements()).id
            meeting.apply(Vote(rng.choice(people), statement, rng.choice(VALUES), op=f"v{n}"), NOW + n)
    except ClientError:
        pass  # a refused command (e.g. moderating to the same state) changes nothing


@pytest.mark.parametrize("seed", range(6))
def test_router_follows_the_rule_through_random_meetings(seed: int) -> None:
    rng = random.Random(seed)
    meeting = new_meeting(seeds=tuple(f"Seed {i}." for i in range(12)))
    people = [join(meeting, f"router-token-{seed}-{i:06d}") for i in range(15)]
    router = Router()
    priorities: dict[int, float] = {}
    for n in range(900):
        _step(meeting, rng, people, n)
        if n % 150 == 0:
            priorities = {s: rng.uniform(0.1, 5.0) for s in meeting.statements}  # a new analysis
        for participant in people[:5]:
            unvoted = {s.id for s in meeting.unvoted(participant)}
            assert meeting.remaining(participant) == len(unvoted)
            pick = router.next_for(meeting, participant, priorities, seed * 7919 + n)
            if not unvoted:
                assert pick is None
                continue
            assert pick is not None and pick.id in unvoted
            fresh = _reference_fresh(meeting, participant)
            if fresh is not None:
                assert pick.id == fresh


def test_weighted_draws_follow_the_priorities_among_unvoted() -> None:
    """Rejection sampling over the whole accepted list must give the weights restricted to unvoted ones."""
    meeting = new_meeting(seeds=tuple(f"Seed {i}." for i in range(8)))
    voters = [join(meeting, f"weight-token-{i:06d}") for i in range(NEW_STATEMENT_VOTES + 1)]
    for i, v in enumerate(voters[:NEW_STATEMENT_VOTES]):
        for s in range(8):
            meeting.apply(Vote(v, s, "pass", op=f"w{i}-{s}"), NOW)
    me = voters[-1]
    for s in (0, 1, 2):  # the phone already voted on the three heaviest
        meeting.apply(Vote(me, s, "agree", op=f"me{s}"), NOW)
    priorities = {0: 50.0, 1: 50.0, 2: 50.0, 3: 4.0, 4: 2.0, 5: 1.0, 6: 1.0, 7: 0.5}
    router = Router()
    draws = 20_000
    counts = Counter(router.next_for(meeting, me, priorities, seed).id for seed in range(draws))  # type: ignore[union-attr]
    assert set(counts) <= {3, 4, 5, 6, 7}
    total = sum(priorities[s] for s in (3, 4, 5, 6, 7))
    for s in (3, 4, 5, 6, 7):
        expected = draws * priorities[s] / total
        assert abs(counts[s] - expected) < 5 * expected ** 0.5 + 10, (s, counts[s], expected)


def test_a_phone_that_voted_on_almost_everything_gets_the_last_one() -> None:
    """The scan fallback: nearly every weighted draw is rejected, the one unvoted statement still comes."""
    meeting = new_meeting(seeds=tuple(f"Seed {i}." for i in range(40)))
    voters = [join(meeting, f"last-token-{i:06d}") for i in range(NEW_STATEMENT_VOTES + 1)]
    for i, v in enumerate(voters):
        for s in range(40):
            if v == voters[-1] and s == 17:
                continue
            meeting.apply(Vote(v, s, "pass", op=f"l{i}-{s}"), NOW)
    pick = Router().next_for(meeting, voters[-1], {s: 1.0 for s in range(40)}, 3)
    assert pick is not None and pick.id == 17
    assert meeting.remaining(voters[-1]) == 1


def test_uniform_is_spread_and_reproducible() -> None:
    values = [uniform(seed) for seed in range(10_000)]
    assert values == [uniform(seed) for seed in range(10_000)]
    assert all(0.0 <= v < 1.0 for v in values)
    buckets = Counter(int(v * 10) for v in values)
    assert all(900 < buckets[b] < 1100 for b in range(10))
    assert uniform(5, 0) != uniform(5, 1)


def test_weighted_draws_are_uniform_seed_draw_exactly() -> None:
    """The router's draws (uniform inlined in its hot loop) pick what ``uniform(seed, draw)`` picks: the same
    statement for the same seed on every version, so an inlining mistake shows here."""
    import bisect
    import itertools

    meeting = new_meeting(seeds=tuple(f"Seed {i}." for i in range(10)))
    voters = [join(meeting, f"exact-token-{i:06d}") for i in range(NEW_STATEMENT_VOTES + 1)]
    for i, v in enumerate(voters[:NEW_STATEMENT_VOTES]):
        for s in range(10):
            meeting.apply(Vote(v, s, "pass", op=f"x{i}-{s}"), NOW)
    me = voters[-1]
    for s in (0, 3, 4, 8):
        meeting.apply(Vote(me, s, "agree", op=f"m{s}"), NOW)
    priorities = {s: 1.0 + s * 0.7 for s in range(10)}
    accepted = meeting.accepted_statements()
    cumulative = list(itertools.accumulate(priorities[s.id] for s in accepted))
    router = Router()
    for seed in range(500):
        expected = None
        for draw in range(12):
            index = bisect.bisect_right(cumulative, uniform(seed, draw) * cumulative[-1])
            candidate = accepted[min(index, len(accepted) - 1)]
            if candidate.id not in meeting.votes[me]:
                expected = candidate
                break
        pick = router.next_for(meeting, me, priorities, seed)
        assert expected is not None and pick is expected, seed


def test_offer_gives_the_pick_and_what_remains() -> None:
    """``offer`` is ``next_for`` with the phone's remaining count, none left: None and 0."""
    meeting = new_meeting(seeds=tuple(f"Seed {i}." for i in range(3)))
    me = join(meeting, "offer-token-000001")
    router = Router()
    pick, remaining = router.offer(meeting, me, {}, 1)
    assert pick is not None and pick.id == router.next_for(meeting, me, {}, 1).id and remaining == 3  # type: ignore[union-attr]
    for s in range(3):
        meeting.apply(Vote(me, s, "agree", op=f"o{s}"), NOW)
    assert router.offer(meeting, me, {}, 1) == (None, 0)
