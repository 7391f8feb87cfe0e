"""Near-duplicate statements: which earlier statements a new one probably repeats, for the host to merge.

No external service and no model: a statement becomes a bag of character n-grams of its normalised text
(NFKC, case folded, everything but letters and digits a separator), weighted by how rare each n-gram is in
the meeting (TF-IDF), and two statements are as similar as the cosine of their weighted bags.

- **Traditional Chinese** has no spaces between words: runs of CJK characters give their single characters
  and their pairs (a two-character word is the commonest unit; single characters catch one-character words
  and variants such as 更便利 / 便利).
- **Other scripts** give the character trigrams of each word padded with a space, so word boundaries count
  and inflections (support / supported) still share most of their trigrams.
- **Rarity** (`idf = ln((N + 1) / (df + 1)) + 1` over the meeting's N statements, scikit-learn's smoothed
  form) keeps the shared frame of a batch of demographic questions ("I am between 15 and 19 years old" /
  "... 25 and 29 ...") from looking alike: what differs is rare, what they share is common.

Statements are indexed as they are posted; a new one is scored against the earlier ones through an inverted
index, so a post costs the postings of its own n-grams, not a pass over every statement. Rarity moves as
statements arrive: the new statement is weighted with the rarity of the moment, and the indexed statements'
vector lengths are recomputed whenever the meeting has grown by `REFRESH_GROWTH` since the last time.
bench/bench_near_duplicates.py replays the shared Pol.is conversations in posting order exactly so, and
measures precision and recall on labelled pairs (docs/method.md, "Near-duplicate statements").
"""

from __future__ import annotations

import itertools
import math
import unicodedata
from array import array
from collections import Counter
from collections.abc import Callable

__all__ = ["SIMILAR_LIMIT", "SIMILAR_THRESHOLD", "NearDuplicateIndex", "ngrams"]

SIMILAR_THRESHOLD = 0.5
"""Cosine at or above which an earlier statement is suggested as a near-duplicate. Chosen on the labelled
pairs of the shared Pol.is conversations (bench/bench_near_duplicates.py): 0.50 finds 95% of the labelled
duplicates with 64% of its suggestions right; 0.55 has a slightly higher F1 (0.77 against 0.76) but finds
only 84%. The host decides on every suggestion, so a missed duplicate costs more than a wrong one."""
SIMILAR_LIMIT = 3
"""Suggestions per new statement, most similar first."""


def _is_cjk(char: str) -> bool:
    code = ord(char)
    return (0x3400 <= code <= 0x4DBF or 0x4E00 <= code <= 0x9FFF or 0xF900 <= code <= 0xFAFF
            or 0x20000 <= code <= 0x2FA1F or 0x3040 <= code <= 0x30FF or 0xAC00 <= code <= 0xD7AF)


def ngrams(text: str) -> Counter[str]:
    """The weighted-bag features of one statement (see the module's docstring)."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    out: Counter[str] = Counter()
    run: list[str] = []
    run_cjk = False

    def flush() -> None:
        if not run:
            return
        if run_cjk:
            out.update(run)
            out.update(a + b for a, b in itertools.pairwise(run))
        else:
            word = " " + "".join(run) + " "
            out.update(word[i:i + 3] for i in range(len(word) - 2))
        run.clear()

    for char in folded:
        if not char.isalnum():
            flush()
            continue
        cjk = _is_cjk(char)
        if run and cjk != run_cjk:
            flush()
        run_cjk = cjk
        run.append(char)
    flush()
    return out


REFRESH_GROWTH = 1.1
"""Every indexed statement's vector length is recomputed with the rarity of the moment once the meeting has
10% more statements than at the last recomputation (amortised: a fraction of a post's cost)."""
_COUNT_BITS = 8


class NearDuplicateIndex:
    """The statements of one meeting, indexed for :meth:`similar` (statements are only ever added).

    A posting is one integer, ``statement << 8 | min(count, 255)``, in an ``array('q')`` per n-gram: at the
    meeting's 5,000 statements of 140 characters that is ~11 MB where tuples took ~100 MB."""

    def __init__(self) -> None:
        self.documents = 0
        self._df: Counter[str] = Counter()
        self._postings: dict[str, array[int]] = {}
        self._norms: dict[int, float] = {}
        self._refreshed_at = 0

    def __contains__(self, statement: int) -> bool:
        return statement in self._norms

    def _idf(self, gram: str) -> float:
        return math.log((self.documents + 1) / (self._df.get(gram, 0) + 1)) + 1.0

    def add(self, statement: int, text: str) -> None:
        """Index ``statement``'s text (once: a second add of the same id is ignored)."""
        if statement in self._norms:
            return
        bag = ngrams(text)
        self.documents += 1
        for gram, count in bag.items():
            self._df[gram] += 1
            postings = self._postings.get(gram)
            if postings is None:
                postings = self._postings[gram] = array("q")
            postings.append(statement << _COUNT_BITS | min(count, 255))
        self._norms[statement] = math.sqrt(sum((count * self._idf(g)) ** 2 for g, count in bag.items()))
        if self.documents >= self._refreshed_at * REFRESH_GROWTH:
            self._refresh()

    def _refresh(self) -> None:
        """Every vector length under the rarity of the moment."""
        squares = dict.fromkeys(self._norms, 0.0)
        mask = (1 << _COUNT_BITS) - 1
        for gram, postings in self._postings.items():
            idf2 = self._idf(gram) ** 2
            for entry in postings:
                squares[entry >> _COUNT_BITS] += (entry & mask) ** 2 * idf2
        self._norms = {s: math.sqrt(v) for s, v in squares.items()}
        self._refreshed_at = self.documents

    def similar(self, text: str, keep: Callable[[int], bool] = lambda _: True,
                threshold: float = SIMILAR_THRESHOLD, limit: int = SIMILAR_LIMIT) -> list[tuple[int, float]]:
        """Indexed statements (those ``keep`` admits) at least ``threshold`` similar to ``text``, most similar
        first, at most ``limit``; each with its cosine."""
        bag = ngrams(text)
        weights = {g: count * self._idf(g) for g, count in bag.items()}
        norm = math.sqrt(sum(w * w for w in weights.values()))
        if not norm:
            return []
        dots: dict[int, float] = {}
        mask = (1 << _COUNT_BITS) - 1
        for gram, weight in weights.items():
            postings = self._postings.get(gram)
            if postings is None:
                continue
            factor = weight * self._idf(gram)
            for entry in postings:
                statement = entry >> _COUNT_BITS
                dots[statement] = dots.get(statement, 0.0) + factor * (entry & mask)
        scored = [(statement, dot / (norm * self._norms[statement])) for statement, dot in dots.items()
                  if self._norms[statement] and keep(statement)]
        found = sorted(((s, score) for s, score in scored if score >= threshold), key=lambda x: (-x[1], x[0]))
        return [(s, min(score, 1.0)) for s, score in found[:limit]]
