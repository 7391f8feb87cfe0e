"""Voting-quality flags (clustering/quality.py) on planted voters whose behaviour is known."""

from __future__ import annotations

import numpy as np
import pytest

from clustering import ACCEPTABLE, AGREE, DISAGREE, PASS
from clustering.quality import (
    CJK_CHARACTERS_PER_MINUTE,
    FAST_MIN_VOTES,
    SAME_ANSWER_MIN_VOTES,
    SKIM_FACTOR,
    WORDS_PER_MINUTE,
    flags,
    reading_seconds,
)

TEXT = "市場周邊應增設機車停車格，並在尖峰時段派員引導，以免影響攤商與行人的安全。"  # 36 characters


def run(rows: list[tuple[int, int, float, float]], authors: dict[int, int] | None = None,
        reading: dict[int, float] | None = None) -> dict[int, tuple[str, ...]]:
    p, s, v, t = (np.array(x) for x in zip(*rows, strict=True))
    found = flags(p, s, v.astype(float), t.astype(float), reading or {}, authors)
    return {int(str(f.participant)): f.reasons for f in found}


def paced(participant: int, values: list[float], gap: float, start: float = 0.0) -> list[tuple[int, int, float, float]]:
    return [(participant, i, v, start + i * gap) for i, v in enumerate(values)]


def test_reading_time_counts_characters_and_words() -> None:
    """CJK characters at 260 a minute, words at 238 a minute; punctuation and spaces take no time."""
    assert reading_seconds(TEXT) == pytest.approx(60 * 34 / CJK_CHARACTERS_PER_MINUTE)
    assert reading_seconds("Build more bike lanes downtown.") == pytest.approx(60 * 5 / WORDS_PER_MINUTE)
    mixed = 60 * (2 / CJK_CHARACTERS_PER_MINUTE + 2 / WORDS_PER_MINUTE)
    assert reading_seconds("增設 bike lanes") == pytest.approx(mixed)


def test_the_same_answer_to_nearly_everything_is_flagged() -> None:
    """19 agrees of 20 is flagged, 18 of 20 is not; 19 passes of 19 are too few statements to judge."""
    n = SAME_ANSWER_MIN_VOTES
    rows = (paced(1, [AGREE] * (n - 1) + [DISAGREE], 30)
            + paced(2, [AGREE] * (n - 2) + [DISAGREE, PASS], 30)
            + paced(3, [PASS] * (n - 1), 30))
    assert run(rows) == {1: ("same_answer",)}


def test_acceptable_is_an_answer_like_the_others() -> None:
    """Twenty 'acceptable' votes are the same answer twenty times."""
    assert run(paced(5, [ACCEPTABLE] * 20, 30)) == {5: ("same_answer",)}


def test_a_changed_vote_counts_once_as_it_stands() -> None:
    """Someone who changed 10 of 20 agrees to disagree is no longer giving one answer."""
    rows = paced(1, [AGREE] * 20, 30) + [(1, i, DISAGREE, 1000 + i * 30) for i in range(10)]
    assert run(rows) == {}


def test_votes_faster_than_reading_are_flagged() -> None:
    """A 34-character statement takes 7.8 s to read, 2.6 s at three times the rate: votes 1 s apart are
    too fast, 3 s apart are not."""
    reading = {i: reading_seconds(TEXT) for i in range(15)}
    values = [AGREE, DISAGREE, PASS] * 5
    rows = paced(1, values, 1.0) + paced(2, values, 3.0)
    assert reading_seconds(TEXT) / SKIM_FACTOR == pytest.approx(2.615, abs=0.01)
    assert run(rows, reading=reading) == {1: ("too_fast",)}


def test_too_few_timed_votes_are_not_judged() -> None:
    """Ten votes give nine gaps: one short of FAST_MIN_VOTES timed votes."""
    reading = {i: reading_seconds(TEXT) for i in range(FAST_MIN_VOTES)}
    assert run(paced(1, [AGREE, DISAGREE] * (FAST_MIN_VOTES // 2), 0.2), reading=reading) == {}


def test_a_quick_streak_is_judged_on_its_share() -> None:
    """Half the gaps too fast flags; fewer than half does not."""
    reading = {i: reading_seconds(TEXT) for i in range(21)}
    values = [AGREE, DISAGREE] * 10 + [PASS]
    times_half = np.cumsum([0] + [0.5 if i % 2 else 10 for i in range(20)])
    times_less = np.cumsum([0] + [0.5 if i % 3 == 0 else 10 for i in range(20)])
    rows = ([(1, i, v, float(t)) for i, (v, t) in enumerate(zip(values, times_half, strict=True))]
            + [(2, i, v, float(t)) for i, (v, t) in enumerate(zip(values, times_less, strict=True))])
    assert run(rows, reading=reading) == {1: ("too_fast",)}


def test_an_author_s_own_vote_is_not_counted() -> None:
    """Authors' automatic agrees on their 20 statements are no answers: nothing to flag."""
    rows = paced(7, [AGREE] * 20, 0.1)
    assert run(rows, authors={i: 7 for i in range(20)}, reading={i: 5.0 for i in range(20)}) == {}


def test_a_flag_carries_its_counts() -> None:
    """Both rules at once, with the counts a reader can check."""
    reading = {i: reading_seconds(TEXT) for i in range(25)}
    p, s, v, t = (np.array(x) for x in zip(*paced(4, [DISAGREE] * 25, 0.5), strict=True))
    (flag,) = flags(p, s, v.astype(float), t.astype(float), reading)
    assert flag.reasons == ("same_answer", "too_fast")
    assert (flag.votes, flag.same_value, flag.same_count, flag.timed, flag.fast) == (25, DISAGREE, 25, 24, 24)


def test_the_documented_flag_counts_hold_on_the_pol_is_conversations() -> None:
    """docs/method.md's table: how many voters each rule flags on the shared conversations (Pol.is times)."""
    import csv

    from tests.support.data import polis_data_dir

    expected = {"15-per-hour-seattle": (12, 3, 11), "brexit-consensus": (0, 0, 0),
                "canadian-electoral-reform": (5, 2, 5), "london.youth.policing": (0, 0, 0),
                "scoop-hivemind.biodiversity": (3, 3, 0), "vtaiwan.uberx": (49, 28, 32)}
    for name, counts in expected.items():
        folder = polis_data_dir() / name
        with (folder / "comments.csv").open(encoding="utf-8") as f:
            comments = list(csv.DictReader(f))
        with (folder / "votes.csv").open(encoding="utf-8") as f:
            rows = [(int(r["voter-id"]), int(r["comment-id"]), float(r["vote"]), int(r["timestamp"]) / 1000)
                    for r in csv.DictReader(f)]
        p, s, v, t = (np.array(x) for x in zip(*rows, strict=True))
        found = flags(p, s, v, t, {int(c["comment-id"]): reading_seconds(c["comment-body"]) for c in comments},
                      {int(c["comment-id"]): int(c["author-id"]) for c in comments})
        got = (len(found), sum("same_answer" in f.reasons for f in found), sum("too_fast" in f.reasons for f in found))
        assert got == counts, name
