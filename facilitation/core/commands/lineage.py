"""Statement lineage in moderation (issue 24): the host rewords, splits or merges statements.

A composite statement ("lower the rent and move the market") can only be voted as a whole, and two
near-duplicates split their votes; the host fixes both without losing who said what. Each command makes
the new statements (accepted, with the original author, who implicitly agrees as with a post), closes the
originals (hidden, with an automatic reason naming the new ones, e.g. 「已合併為 #13」) and records the
lineage in one event, so the moderation log, the exports and the Pol.is sidecar can say where each
statement came from. Rewording changes what people voted on, so it is refused once anyone but the author
has voted (``has_votes``); a split or a merge keeps the originals' votes on the closed originals.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from facilitation.core.command import HOSTS, Command, CommandSpec
from facilitation.core.events import ALL, Audience, Event, Fingerprint, StatementModerated, StatementPosted, VoteCast
from facilitation.core.fields import Field, int_field, list_field, text_field
from facilitation.core.state import (
    MAX_STATEMENT_CHARS,
    MAX_STATEMENTS,
    CommandRefused,
    Phase,
    StatementState,
    clean_text,
)
from facilitation.core.text import dedup_key, is_visible

if TYPE_CHECKING:
    from facilitation.core.meeting import Meeting

__all__ = ["MERGE", "REWORD", "SPLIT", "Lineage", "LineageRecorded", "Rewrite", "closing_reason"]

KINDS = ("reword", "split", "merge")
MAX_PARTS = 10
"""At most this many statements out of one split, or into one merge."""

_REASONS = {
    "zh-TW": {"reword": "已改寫為 {n}", "split": "已拆分為 {n}", "merge": "已合併為 {n}", "sep": "、"},
    "en": {"reword": "reworded as {n}", "split": "split into {n}", "merge": "merged into {n}", "sep": ", "},
}


def closing_reason(kind: str, targets: list[int], language: str) -> str:
    """The automatic reason an original is closed with, naming the new statements as readers number them
    (id + 1, as ``export.summary.statement_number``)."""
    words = _REASONS.get(language, _REASONS["zh-TW"])
    return words[kind].format(n=words["sep"].join(f"#{t + 1}" for t in targets))


@dataclass
class Lineage:
    """Where statements came from: each reword, split or merge, in order."""

    key: ClassVar[str] = "lineage"
    links: list[dict[str, Any]] = field(default_factory=list)

    def public(self) -> dict[str, Any]:
        return {"links": [dict(link) for link in self.links]}


@dataclass(frozen=True, slots=True)
class Rewrite(Command):
    """One command class for the three: ``action`` says which, ``sources`` are closed, ``texts`` posted."""

    action: str
    """``reword``, ``split`` or ``merge`` (not ``kind``: the command codec's key for the class)."""
    sources: list[int]
    texts: list[str]
    op: str = ""

    def fingerprint(self) -> Fingerprint:
        return (self.action, tuple(self.sources), "\n".join(clean_text(t) for t in self.texts))


@dataclass(frozen=True, slots=True)
class LineageRecorded(Event):
    """``sources`` were closed into ``targets`` (the new statements, posted by the events after this one)."""

    kind: str
    sources: list[int]
    targets: list[int]
    text: str
    """The new statements' texts, one a line (a statement's text never holds a line break)."""
    op: str = ""

    type: ClassVar[str] = "lineage_recorded"
    audience: ClassVar[tuple[Audience, ...]] = (Audience("lineage_recorded", host=ALL),)

    def evolve(self, meeting: Meeting) -> None:
        meeting.part(Lineage).links.append(
            {"kind": self.kind, "sources": list(self.sources), "targets": list(self.targets), "at": self.at}
        )
        meeting.moderation_log.append(
            {
                "seq": self.seq,
                "at": self.at,
                "action": self.kind,
                "statement": self.sources[0],
                "sources": list(self.sources),
                "targets": list(self.targets),
            }
        )

    def fingerprint(self) -> Fingerprint:
        return (self.kind, tuple(self.sources), self.text)

    def result(self) -> dict[str, Any]:
        return {"kind": self.kind, "sources": list(self.sources), "statements": list(self.targets)}


def _refuse(code: str, message: str, status: int = 400) -> CommandRefused:
    return CommandRefused(code, message, status=status)


def _check_sources(meeting: Meeting, command: Rewrite) -> None:
    kind = command.action
    if len(set(command.sources)) != len(command.sources):
        raise _refuse("invalid_statements", f"{kind}: a statement is listed twice")
    for sid in command.sources:
        statement = meeting.statements.get(sid)
        if statement is None:
            raise _refuse("unknown_statement", f"{kind}: no statement {sid}", 404)
        if statement.state not in (StatementState.PENDING, StatementState.ACCEPTED):
            raise _refuse(
                "not_open",
                f"{kind}: statement {sid} is {statement.state.value}; only pending or "
                "accepted statements can be changed",
                409,
            )
    if kind == "merge" and len(command.sources) < 2:
        raise _refuse("too_few", "merge: name at least two statements to merge")
    if kind == "reword":
        sid = command.sources[0]
        author = meeting.statements[sid].author
        voters = [p for p, mine in meeting.votes.items() if sid in mine and p != author]
        if voters:
            raise _refuse(
                "has_votes",
                f"reword: statement {sid} has {len(voters)} votes besides its author's; "
                "split it or post a new statement instead",
                409,
            )


def _check_texts(meeting: Meeting, command: Rewrite) -> list[str]:
    kind = command.action
    if kind == "split" and len(command.texts) < 2:
        raise _refuse("too_few", "split: give at least two statements")
    texts = [clean_text(t) for t in command.texts]
    limit = meeting.settings.max_statement_chars
    seen: set[str] = set()
    for text in texts:
        if not is_visible(text):
            raise _refuse("empty", f"{kind}: each new statement needs some visible text")
        if len(text) > limit:
            raise _refuse("too_long", f"{kind}: a statement has at most {limit} characters, got {len(text)}")
        key = dedup_key(text)
        existing = meeting.texts.get(key)
        if kind == "reword" and existing == command.sources[0]:
            raise _refuse("no_change", f"reword: statement {existing} already says this", 409)
        if kind == "merge" and existing in command.sources:
            existing = None  # a merge may keep one near-duplicate's words: that one is closed with the rest
        if existing is not None or key in seen:
            where = f" (#{existing})" if existing is not None else ""
            raise _refuse("duplicate", f"{kind}: this statement already exists{where}", 409)
        seen.add(key)
    if len(meeting.statements) + len(texts) > MAX_STATEMENTS:
        raise _refuse("meeting_full", f"{kind}: this meeting has its maximum of {MAX_STATEMENTS} statements", 409)
    return texts


def rewrite(meeting: Meeting, command: Rewrite, now: float) -> list[Event]:
    """Check everything first, then: the lineage (with the op), the new statements, the closed originals."""
    if meeting.phase is Phase.CLOSED:
        raise _refuse("phase_forbids", f"cannot {command.action} in phase 'closed'", 409)
    if command.action not in KINDS:
        raise _refuse("invalid_action", f"unknown lineage kind {command.action!r}")
    _check_sources(meeting, command)
    texts = _check_texts(meeting, command)
    author = meeting.statements[command.sources[0]].author
    first = len(meeting.statements)
    targets = list(range(first, first + len(texts)))
    seq = meeting.next_seq()
    events: list[Event] = [
        LineageRecorded(seq, now, command.action, list(command.sources), targets, "\n".join(texts), command.op)
    ]
    for sid, text in zip(targets, texts, strict=True):
        seq += 1
        events.append(StatementPosted(seq, now, sid, text, author, False, StatementState.ACCEPTED.value, ""))
        if author is not None:
            seq += 1
            events.append(VoteCast(seq, now, author, sid, "agree", ""))
    reason = closing_reason(command.action, targets, meeting.settings.language)
    for sid in command.sources:
        seq += 1
        previous = meeting.statements[sid].state.value
        events.append(StatementModerated(seq, now, sid, "hide", StatementState.HIDDEN.value, reason, previous, ""))
    return events


STATEMENT = Field("statement", int_field, required=True)
TEXT = Field("text", text_field(MAX_STATEMENT_CHARS), required=True)
_EVENTS = (LineageRecorded, StatementPosted, VoteCast, StatementModerated)

REWORD = CommandSpec(
    "reword",
    HOSTS,
    (STATEMENT, TEXT),
    command=Rewrite,
    handler=rewrite,
    events=_EVENTS,
    state=(Lineage,),
    build=lambda a: Rewrite("reword", [a.fields["statement"]], [a.fields["text"]], a.op),
)
SPLIT = CommandSpec(
    "split",
    HOSTS,
    (
        STATEMENT,
        Field(
            "texts",
            list_field(text_field(MAX_STATEMENT_CHARS), MAX_PARTS),
            required=True,
            example=["降低攤位租金", "市場搬到河濱"],
        ),
    ),
    command=Rewrite,
    handler=rewrite,
    events=_EVENTS,
    state=(Lineage,),
    build=lambda a: Rewrite("split", [a.fields["statement"]], list(a.fields["texts"]), a.op),
)
MERGE = CommandSpec(
    "merge",
    HOSTS,
    (Field("statements", list_field(int_field, MAX_PARTS), required=True, example=[0, 1]), TEXT),
    command=Rewrite,
    handler=rewrite,
    events=_EVENTS,
    state=(Lineage,),
    build=lambda a: Rewrite("merge", list(a.fields["statements"]), [a.fields["text"]], a.op),
)
