"""A stenographer's transcript in PDIS's Markdown, and where each of its paragraphs goes among the
meeting's events.

PDIS publishes meeting transcripts (the stenographer's record, corrected by participants, public after
about ten days) as Markdown: a ``# title`` line, ``> `` blockquotes for what nobody said (slides shown,
applause, a link to the video), and a ``### 姓名：`` heading (full-width colon, sometimes ``:``) before
each speaker's paragraphs. There are no times in it.

**Anchoring.** A paragraph's place in the meeting comes from, strongest first:

1. **markers**: the host (or a recorder) sets a numbered marker during the meeting; the stenographer
   types the same number into the transcript as a line ``〔標記 3〕`` (``[標記 3]`` and ``[marker 3]`` are
   read too). A marker ties that point of the text to that moment exactly;
2. **matching**: a paragraph that announces a phase (``現在進入表態``, ``開始蒐集意見``, ``let's move to
   voting``...) is tied to that phase change, matched in order (the n-th announcement of voting to the n-th
   change into voting, never before an earlier anchor); a paragraph that quotes a statement (80% of its
   character pairs) cannot come before that statement was shown;
3. **length**: between two anchors, paragraphs are spread over the time between them in proportion to their
   length (a stenographer's text grows with speaking time). Before the first anchor the meeting's start
   bounds them, after the last one its end.

An anchor that contradicts an earlier, stronger one (a marker typed with the wrong number, so its time
runs backwards) is dropped and listed, never silently bent. Every placement says its ``basis`` so the
record can show the reader which places are exact and which are estimated.

Pure: no I/O and no clock; :mod:`facilitation.export.record` feeds it the meeting's moments.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "Anchor",
    "Moment",
    "Paragraph",
    "Placement",
    "Transcript",
    "TranscriptError",
    "parse_transcript",
    "place",
]

MAX_TRANSCRIPT_CHARS = 2_000_000
"""A day of stenography is ~200,000 characters; ten times that is not a transcript."""
QUOTE_SHARE = 0.8
"""Share of a statement's character pairs a paragraph must contain to count as quoting it."""
QUOTE_MIN_CHARS = 8
"""Statements shorter than this are not matched: a short phrase recurs in talk by chance."""

_SPEAKER = re.compile(r"^#{3}\s*(?P<name>[^#\n]+?)\s*[：:]\s*$")
_MARKER = re.compile(r"^(?:>\s*)?[〔\[［]\s*(?:標記|marker)\s*(?P<n>\d{1,4})\s*[〕\]］]\s*$", re.IGNORECASE)
_TITLE = re.compile(r"^#\s+(?P<title>.+?)\s*$")
_ANNOUNCE = {
    "collecting": re.compile(r"(進入|開始|現在|接下來)[^。！？\n]{0,6}(蒐集|收集)意見|"
                             r"(move|moving|go) (on )?to collecting|start(ing)? collecting", re.IGNORECASE),
    "voting": re.compile(r"(進入|開始|現在|接下來)[^。！？\n]{0,6}(表態|投票)|(move|moving|go) (on )?to voting|"
                         r"start(ing)? (the )?voting", re.IGNORECASE),
    "reviewing": re.compile(r"(進入|開始|現在|接下來)[^。！？\n]{0,6}(檢視結果|看結果|看一下結果)|"
                            r"(move|moving|go) (on )?to (the )?(results|review)", re.IGNORECASE),
    "closed": re.compile(r"(會議|今天)[^。！？\n]{0,6}(到此結束|結束|散會)|(meeting|we) (is |are )?(closed|adjourned)",
                         re.IGNORECASE),
}
"""How a speaker announces a change into each phase (zh-TW and English)."""

_NUMERALS = "一二三四五六七八九十"


def _chinese_number(n: int) -> str:
    """1-99 in Chinese numerals, as a speaker says a question's number (二, 十一, 二十)."""
    tens, ones = divmod(n, 10)
    return ((_NUMERALS[tens - 1] if tens > 1 else "") + ("十" if tens else "")
            + (_NUMERALS[ones - 1] if ones else ""))


def _question_announcement(number: int) -> re.Pattern[str]:
    """How a speaker moves the room to question ``number``: 第二題, 第 2 個問題, 問題二, question 2."""
    said = f"(?:{number}|{_chinese_number(number)})"
    return re.compile(rf"第\s*{said}\s*個?\s*(?:題|問題)|問題\s*{said}(?![0-9一二三四五六七八九十])|"
                      rf"question\s*{number}(?![0-9])", re.IGNORECASE)


class TranscriptError(ValueError):
    """The text is not a transcript this reader understands."""


@dataclass(frozen=True)
class Paragraph:
    index: int
    """Position in the transcript (0, 1, 2, ...), what the record's anchor list refers to."""
    kind: str
    """``speech`` (under a speaker), ``note`` (a ``>`` blockquote) or ``marker`` (``〔標記 N〕``)."""
    speaker: str
    text: str
    marker: int | None = None


@dataclass(frozen=True)
class Transcript:
    title: str
    paragraphs: tuple[Paragraph, ...]

    @property
    def speakers(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for p in self.paragraphs:
            if p.speaker:
                seen.setdefault(p.speaker)
        return tuple(seen)


@dataclass(frozen=True)
class Moment:
    """Something that happened in the meeting at a known time: ``phase`` (into ``phase``), ``question``
    (the agenda's question number ``question``), ``statement`` (``statement`` shown to the room, its
    ``text``) or ``marker`` (number ``marker``)."""

    at: float
    kind: str
    phase: str = ""
    statement: int | None = None
    text: str = ""
    marker: int | None = None
    question: int | None = None
    """For ``question`` (the room moved to another question of the agenda): its number, from 1; ``text``
    is the question."""


@dataclass(frozen=True)
class Anchor:
    paragraph: int
    at: float
    basis: str
    """``marker`` or ``phase``."""
    detail: str
    """The marker number or the phase, for the record's list of anchors."""


@dataclass(frozen=True)
class Placement:
    paragraph: Paragraph
    at: float
    basis: str
    """``marker`` / ``phase`` (exact: an anchor), ``quote`` (moved after a statement it quotes) or
    ``length`` (estimated between anchors)."""


@dataclass(frozen=True)
class Placed:
    """The transcript against the meeting: every paragraph's placement, the anchors used, and those that
    contradicted a stronger one and were dropped."""

    placements: tuple[Placement, ...]
    anchors: tuple[Anchor, ...]
    dropped: tuple[Anchor, ...]


# ---------------------------------------------------------------- reading


def parse_transcript(text: str) -> Transcript:
    """Read a PDIS Markdown transcript; raises :class:`TranscriptError` when nothing in it is speech."""
    if len(text) > MAX_TRANSCRIPT_CHARS:
        raise TranscriptError(f"a transcript has at most {MAX_TRANSCRIPT_CHARS:,} characters")
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff"))
    title = ""
    speaker = ""
    paragraphs: list[Paragraph] = []
    block: list[str] = []
    block_kind = ""

    def flush() -> None:
        nonlocal block, block_kind
        body = "\n".join(block).strip()
        if body:
            paragraphs.append(Paragraph(len(paragraphs), block_kind, speaker if block_kind == "speech" else "",
                                        body))
        block, block_kind = [], ""

    for raw in text.split("\n"):
        line = raw.rstrip()
        if not line.strip():
            flush()
            continue
        if marker := _MARKER.match(line.strip()):
            flush()
            paragraphs.append(Paragraph(len(paragraphs), "marker", "", line.strip(), int(marker.group("n"))))
            continue
        if heading := _SPEAKER.match(line.strip()):
            flush()
            speaker = heading.group("name").strip()
            continue
        if not title and not paragraphs and (t := _TITLE.match(line.strip())):
            title = t.group("title")
            continue
        kind = "note" if line.lstrip().startswith(">") else "speech"
        content = line.lstrip()[1:].strip() if kind == "note" else line.strip()
        if block and kind != block_kind:
            flush()
        block_kind = kind
        if content:
            block.append(content)
    flush()
    if not any(p.kind == "speech" and p.speaker for p in paragraphs):
        raise TranscriptError("no speaker paragraphs found: a PDIS transcript has '### 姓名：' headings")
    return Transcript(title, tuple(paragraphs))


# ---------------------------------------------------------------- placing


def _letters(text: str) -> str:
    """The text's letters and digits only (casefolded), so punctuation and spacing do not block a match."""
    return "".join(ch for ch in unicodedata.normalize("NFKC", text).casefold() if ch.isalnum())


def _bigrams(text: str) -> set[str]:
    letters = _letters(text)
    return {letters[i:i + 2] for i in range(len(letters) - 1)}


def _quotes(paragraph: set[str], statement: set[str]) -> bool:
    """Whether a paragraph (its character bigrams) holds at least :data:`QUOTE_SHARE` of a statement's
    bigrams: Chinese has no spaces to split words on, and two-character pairs are how its words are
    matched; reading a statement aloud with a word changed still matches, a topic merely mentioned not."""
    return len(statement) >= QUOTE_MIN_CHARS - 1 and len(statement & paragraph) >= QUOTE_SHARE * len(statement)


def _anchors(transcript: Transcript, moments: Sequence[Moment]) -> tuple[list[Anchor], list[Anchor]]:
    """Marker anchors, then phase matches, then moves to another question, each kept only if it runs forward
    with those kept before."""
    markers = {m.marker: m.at for m in moments if m.kind == "marker" and m.marker is not None}
    kept: list[Anchor] = []
    dropped: list[Anchor] = []

    def consistent(candidate: Anchor) -> bool:
        for a in kept:
            if (a.paragraph < candidate.paragraph and a.at > candidate.at) or \
                    (a.paragraph > candidate.paragraph and a.at < candidate.at):
                return False
        return True

    for p in transcript.paragraphs:
        if p.kind == "marker" and p.marker is not None:
            at = markers.get(p.marker)
            if at is None:
                dropped.append(Anchor(p.index, float("nan"), "marker", str(p.marker)))
                continue
            anchor = Anchor(p.index, at, "marker", str(p.marker))
            (kept if consistent(anchor) else dropped).append(anchor)
    changes = [m for m in moments if m.kind == "phase" and m.phase in _ANNOUNCE]
    speech = [p for p in transcript.paragraphs if p.kind == "speech"]
    cursor = 0
    for change in changes:
        pattern = _ANNOUNCE[change.phase]
        for i in range(cursor, len(speech)):
            if pattern.search(speech[i].text):
                anchor = Anchor(speech[i].index, change.at, "phase", change.phase)
                if consistent(anchor):
                    kept.append(anchor)
                    cursor = i + 1
                else:
                    dropped.append(anchor)
                break
    moves = [m for m in moments if m.kind == "question" and m.question is not None]
    cursor = 0
    for move in moves:  # a move announced by its number, or by reading the question out
        pattern, pairs = _question_announcement(move.question or 0), _bigrams(move.text)
        for i in range(cursor, len(speech)):
            if pattern.search(speech[i].text) or _quotes(_bigrams(speech[i].text), pairs):
                anchor = Anchor(speech[i].index, move.at, "question", str(move.question))
                if consistent(anchor):
                    kept.append(anchor)
                    cursor = i + 1
                else:
                    dropped.append(anchor)
                break
    kept.sort(key=lambda a: a.paragraph)
    return kept, dropped


def place(transcript: Transcript, moments: Sequence[Moment], start: float, end: float) -> Placed:
    """Every paragraph's time and the basis of it; ``start``/``end`` bound the meeting (its first event and
    its closing or last activity)."""
    anchors, dropped = _anchors(transcript, moments)
    by_paragraph = {a.paragraph: a for a in anchors}
    fixed = [(-1, start), *((a.paragraph, a.at) for a in anchors), (len(transcript.paragraphs), max(end, start))]
    times: dict[int, tuple[float, str]] = {}
    for (left, t_left), (right, t_right) in itertools.pairwise(fixed):
        between = [p for p in transcript.paragraphs if left < p.index < right]
        weights = [max(1, len(p.text)) for p in between]
        total = sum(weights) or 1
        done = 0
        for p, w in zip(between, weights, strict=True):
            times[p.index] = (t_left + (t_right - t_left) * (done + w / 2) / total, "length")
            done += w
        if right in by_paragraph:
            times[right] = (by_paragraph[right].at, by_paragraph[right].basis)
    shown = [(m.at, _bigrams(m.text)) for m in moments if m.kind == "statement" and m.statement is not None]
    placements: list[Placement] = []
    floor = start
    for p in transcript.paragraphs:
        at, basis = times[p.index]
        if basis == "length":
            ceiling = next((a.at for a in anchors if a.paragraph > p.index), max(end, start))
            said = _bigrams(p.text) if p.kind == "speech" else set()
            quoted = [t for t, pairs in shown if said and _quotes(said, pairs)]
            latest = max((q for q in quoted if q <= ceiling), default=None)
            if latest is not None and latest > at:
                at, basis = latest, "quote"
        at = max(at, floor)  # never before the paragraph above it
        floor = at
        placements.append(Placement(p, at, basis))
    return Placed(tuple(placements), tuple(anchors), tuple(dropped))
