"""Voting-quality flags: participants who give the same answer to nearly everything, or vote faster than
the statements can be read.

A flag is a question for the host, never a verdict: the host may exclude a flagged participant from the
analysis (reversibly), and the reports say whether any lane changes without the flagged people. Each flag
carries the raw counts it was raised on.

**Same answer** (straight-lining, survey methodology's term): at least `SAME_ANSWER_MIN_VOTES` votes, of
which a share of at least `SAME_ANSWER_SHARE` carry one value (agree, acceptable, pass or disagree). Twenty
statements at 95% means 19 of 20 alike: a room where most statements are written to be agreed with still
gives an honest voter some other answer among twenty.

**Too fast**: a vote is too fast when the time since the same participant's previous vote is shorter than
the statement takes to read at `SKIM_FACTOR` times a typical adult's silent reading rate
(`reading_seconds`); a participant is flagged with at least `FAST_MIN_VOTES` timed votes of which at least
`FAST_SHARE` are too fast. The times are the server's: a phone sees its next statement only once its
previous vote is acknowledged, so a gap between two votes includes a network round trip and is never
shorter than the time the phone had the statement on screen. A phone that was offline and sends its queued
votes at once shows gaps of milliseconds: such a burst flags it, which the host reads in the counts.

Reading rates (`reading_seconds`):

- `WORDS_PER_MINUTE = 238`: adults' silent reading of English non-fiction (Brysbaert 2019, "How many words
  do we read per minute?", Journal of Memory and Language 109, a meta-analysis of 190 studies; most adults
  read 175-300).
- `CJK_CHARACTERS_PER_MINUTE = 260`: Chinese readers' maximum reading speed, 259.5 ± 38.2 characters a
  minute (Wang et al., "Visual requirement for Chinese reading with normal vision", RSVP at the critical
  print size, 30 college students).
- `SKIM_FACTOR = 3`: three times those rates (714 words, 780 characters a minute) is beyond skimming with
  comprehension (Rayner et al. 2016, "So much to read, so little time", Psychological Science in the
  Public Interest 17: comprehension falls well before such rates).

The participant's own statements (the automatic agree of an author) are not counted: that vote is not an
answer to a card.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from clustering.votes import Id

__all__ = [
    "CJK_CHARACTERS_PER_MINUTE",
    "FAST_MIN_VOTES",
    "FAST_SHARE",
    "SAME_ANSWER_MIN_VOTES",
    "SAME_ANSWER_SHARE",
    "SKIM_FACTOR",
    "WORDS_PER_MINUTE",
    "Flag",
    "flags",
    "reading_seconds",
]

SAME_ANSWER_MIN_VOTES = 20
"""Votes a participant must have cast before the same-answer rule looks at them ("many statements")."""
SAME_ANSWER_SHARE = 0.95
"""Share of one value at which the same-answer rule flags (19 of 20)."""
FAST_MIN_VOTES = 10
"""Timed votes (each with a previous vote of the same participant) before the too-fast rule looks."""
FAST_SHARE = 0.5
"""Share of too-fast votes at which the too-fast rule flags: most of them, not a stray quick tap."""
WORDS_PER_MINUTE = 238.0
"""Silent reading rate of English non-fiction (Brysbaert 2019)."""
CJK_CHARACTERS_PER_MINUTE = 260.0
"""Chinese reading rate in characters a minute (Wang et al., 259.5 ± 38.2)."""
SKIM_FACTOR = 3.0
"""A vote faster than reading at three times those rates is too fast."""

_WORD = re.compile(r"[^\W\d_]+|\d+", re.UNICODE)


def _is_cjk(char: str) -> bool:
    name = unicodedata.name(char, "")
    return name.startswith(("CJK UNIFIED", "CJK COMPATIBILITY IDEOGRAPH", "HIRAGANA", "KATAKANA", "HANGUL"))


def reading_seconds(text: str) -> float:
    """How long a typical adult takes to read `text` silently: CJK characters at
    `CJK_CHARACTERS_PER_MINUTE`, the other words at `WORDS_PER_MINUTE`."""
    cjk = sum(1 for c in text if _is_cjk(c))
    rest = "".join(" " if _is_cjk(c) else c for c in text)
    words = len(_WORD.findall(rest))
    return 60.0 * (cjk / CJK_CHARACTERS_PER_MINUTE + words / WORDS_PER_MINUTE)


@dataclass(frozen=True)
class Flag:
    """One participant's flag, with the counts it rests on."""

    participant: Id
    reasons: tuple[str, ...]
    """`same_answer`, `too_fast`, or both."""
    votes: int
    """Votes counted (their own statements left out)."""
    same_value: float
    """The value they gave most (1 agree, 0.5 acceptable, 0 pass, -1 disagree)."""
    same_count: int
    """How many of `votes` carry `same_value`."""
    timed: int
    """Votes with a previous vote of theirs to time them by."""
    fast: int
    """How many of `timed` came faster than the statement can be read."""

    def to_dict(self) -> dict[str, Any]:
        return {"participant": str(self.participant), "reasons": list(self.reasons), "votes": self.votes,
                "same_value": self.same_value, "same_count": self.same_count, "timed": self.timed,
                "fast": self.fast}


def flags(
    participants: NDArray[Any],
    statements: NDArray[Any],
    values: NDArray[np.float64],
    times: NDArray[np.float64],
    reading: Mapping[Any, float],
    authors: Mapping[Any, Any] | None = None,
) -> list[Flag]:
    """Flag participants from their votes, one entry per vote cast (parallel arrays; a changed vote may
    appear again, each entry is timed from the one before it).

    `reading`: seconds each statement takes to read (`reading_seconds`); a statement missing from it is
    never too fast. `authors`: statement -> its author, whose own vote on it is not counted."""
    n = len(participants)
    if n == 0:
        return []
    authors = authors or {}
    keep = np.fromiter((authors.get(s) != p for p, s in zip(participants.tolist(), statements.tolist(),
                                                             strict=True)), dtype=np.bool_, count=n)
    people = np.asarray(participants)[keep]
    said = np.asarray(statements)[keep]
    vals = np.asarray(values, dtype=np.float64)[keep]
    at = np.asarray(times, dtype=np.float64)[keep]
    if people.size == 0:
        return []
    ids, row = np.unique(people, return_inverse=True)
    order = np.lexsort((at, row))
    row, said, vals, at = row[order], said[order], vals[order], at[order]
    need = np.fromiter((reading.get(s, 0.0) for s in said.tolist()), dtype=np.float64, count=said.size)
    first = np.ones(row.size, dtype=np.bool_)
    first[1:] = row[1:] != row[:-1]
    gap = np.empty(row.size)
    gap[0] = np.inf
    gap[1:] = at[1:] - at[:-1]
    gap[first] = np.inf
    timed = np.bincount(row, weights=~first, minlength=ids.size).astype(np.int64)
    fast = np.bincount(row, weights=(~first) & (gap * SKIM_FACTOR < need), minlength=ids.size).astype(np.int64)

    # latest value per (participant, statement): a changed vote counts once, as it stands
    cell = np.lexsort((at, said, row))
    last = np.ones(cell.size, dtype=np.bool_)
    last[:-1] = (row[cell][1:] != row[cell][:-1]) | (said[cell][1:] != said[cell][:-1])
    final_rows = row[cell][last]
    final_vals = vals[cell][last]
    codes = np.rint(final_vals * 2).astype(np.int64) + 2  # -1, 0, 0.5, 1 -> 0, 2, 3, 4
    per_value = np.bincount(final_rows * 5 + codes, minlength=ids.size * 5).reshape(ids.size, 5)
    cast = per_value.sum(axis=1)
    top = per_value.argmax(axis=1)
    top_count = per_value.max(axis=1)

    out: list[Flag] = []
    for i in range(ids.size):
        reasons = []
        if cast[i] >= SAME_ANSWER_MIN_VOTES and top_count[i] >= SAME_ANSWER_SHARE * cast[i]:
            reasons.append("same_answer")
        if timed[i] >= FAST_MIN_VOTES and fast[i] >= FAST_SHARE * timed[i]:
            reasons.append("too_fast")
        if reasons:
            out.append(Flag(ids[i].item() if hasattr(ids[i], "item") else ids[i], tuple(reasons), int(cast[i]),
                            (int(top[i]) - 2) / 2.0, int(top_count[i]), int(timed[i]), int(fast[i])))
    return out
