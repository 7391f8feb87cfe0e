"""Next-statement routing and join codes."""

from __future__ import annotations

import random

import pytest

from facilitation.core.codes import ALPHABET, CODE_LENGTH, format_code, new_code, normalize_code
from facilitation.core.meeting import PostStatement, Vote
from facilitation.core.next_statement import NEW_STATEMENT_VOTES, next_statement
from tests.core.helpers import NOW, join, new_meeting


def _voters(meeting, n: int) -> list[int]:  # type: ignore[no-untyped-def]
    return [join(meeting, f"voter-token-{i:08d}") for i in range(n)]


def test_new_statements_first_fewest_votes_then_oldest() -> None:
    """A statement with fewer than NEW_STATEMENT_VOTES votes comes first: fewest votes, then oldest."""
    meeting = new_meeting(seeds=("A.", "B.", "C."))
    voters = _voters(meeting, NEW_STATEMENT_VOTES + 1)
    me = voters[-1]
    for i, v in enumerate(voters[:2]):
        meeting.apply(Vote(v, 0, "agree", op=f"a{i}"), NOW)
    meeting.apply(Vote(voters[2], 1, "agree", op="b"), NOW)
    rng = random.Random(0)
    choice = next_statement(meeting.unvoted(me), {}, rng)
    assert choice is not None and choice.id == 2  # 0 votes
    meeting.apply(Vote(voters[3], 2, "agree", op="c"), NOW)
    choice = next_statement(meeting.unvoted(me), {}, rng)
    assert choice is not None and choice.id == 1  # 1 vote, older than statement 2


def test_fresh_statement_jumps_ahead_of_ranked_ones() -> None:
    """Once all statements are well voted, a newly posted one is routed before any priority draw."""
    meeting = new_meeting(seeds=("A.", "B."))
    voters = _voters(meeting, NEW_STATEMENT_VOTES + 1)
    for i, v in enumerate(voters[:NEW_STATEMENT_VOTES]):
        for s in (0, 1):
            meeting.apply(Vote(v, s, "agree", op=f"v{i}-{s}"), NOW)
    sid = meeting.apply(PostStatement(voters[0], "Brand new.", op="p"), NOW).result["statement"]
    choice = next_statement(meeting.unvoted(voters[-1]), {0: 100.0, 1: 100.0}, random.Random(1))
    assert choice is not None and choice.id == sid


def test_priority_weighted_draw_is_reproducible_and_weighted() -> None:
    """With a seeded rng the draw repeats exactly; higher priority statements are drawn more often."""
    meeting = new_meeting(seeds=("A.", "B.", "C."))
    voters = _voters(meeting, NEW_STATEMENT_VOTES + 1)
    for i, v in enumerate(voters[:NEW_STATEMENT_VOTES]):
        for s in (0, 1, 2):
            meeting.apply(Vote(v, s, "pass", op=f"v{i}-{s}"), NOW)
    me = voters[-1]
    priorities = {0: 8.0, 1: 1.0, 2: 1.0}

    def draws(seed: int) -> list[int]:
        rng = random.Random(seed)
        return [next_statement(meeting.unvoted(me), priorities, rng).id for _ in range(500)]  # type: ignore[union-attr]

    assert draws(42) == draws(42)
    counts = {s: draws(42).count(s) for s in (0, 1, 2)}
    assert counts[0] > 2 * counts[1] and counts[0] > 2 * counts[2]
    assert counts[1] > 0 and counts[2] > 0


def test_nothing_left_returns_none() -> None:
    """When the participant voted on every accepted statement, there is no next one."""
    meeting = new_meeting(seeds=("A.",))
    me = join(meeting)
    meeting.apply(Vote(me, 0, "agree", op="v"), NOW)
    assert next_statement(meeting.unvoted(me), {}, random.Random(0)) is None


def test_new_codes_use_the_unambiguous_alphabet() -> None:
    """Codes are 6 characters from the alphabet without 0, O, 1, I or L."""
    assert not set("0O1IL") & set(ALPHABET)
    codes = {new_code() for _ in range(500)}
    assert len(codes) > 490
    for code in codes:
        assert len(code) == CODE_LENGTH and set(code) <= set(ALPHABET)
        assert normalize_code(format_code(code)) == code


@pytest.mark.parametrize(
    ("typed", "expected"),
    [("abc-def", "ABCDEF"), ("ABCDEF", "ABCDEF"), (" k7m 2qx ", "K7M2QX"), ("k7m_2qx", "K7M2QX"),
     ("ABC-DE", None), ("ABCDEFG", None), ("ABC-DE0", None), ("ABCDEI", None), ("", None)],
)
def test_code_normalisation(typed: str, expected: str | None) -> None:
    """Typed codes are accepted in any case with dashes or spaces; impossible ones are None."""
    assert normalize_code(typed) == expected


def test_format_code_groups_in_threes() -> None:
    """Display codes look like ABC-DEF."""
    assert format_code("K7M2QX") == "K7M-2QX"
