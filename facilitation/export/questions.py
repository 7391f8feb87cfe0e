"""The report per question of an agenda (issue 23): one section per question with its statements, their lane
and their raw vote counts, after the meeting-wide sections.

A question's lanes are the meeting's lanes restricted to its statements: the opinion groups are formed over
every vote of the meeting (participants carry across questions, and more votes place them better), and a
statement's lane is a verdict about that statement alone (docs/meetings.md). So every figure here is a
count a reader can check against the meeting's votes, question by question.
"""

from __future__ import annotations

import csv
import html
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from facilitation.core.commands.agenda import Agenda, QuestionChanged, question_text
from facilitation.core.events import Event
from facilitation.core.meeting import Meeting
from facilitation.export.i18n import Catalog

__all__ = ["QuestionInfo", "agenda_of", "counts_text", "question_heading", "question_of_statement", "questions_html",
           "questions_markdown", "write_questions_csv"]

LANES = ("acceptable", "disputed", "rejected", "needs_votes")


@dataclass(frozen=True)
class QuestionInfo:
    id: int
    number: int
    """What the reports print: ``id + 1`` (question 1 is the topic)."""
    text: str
    statements: tuple[int, ...]
    """Its statements open for votes (accepted), in id order."""
    lanes: dict[str, int]
    """How many of them are in each lane (acceptable, disputed, rejected, needs_votes)."""
    votes: int
    """Votes cast on its statements (each participant's latest per statement)."""
    opened_at: tuple[float, ...] = ()
    """When the host moved the room to it (each time; the topic's start is the meeting's own)."""
    posted: tuple[int, ...] = ()
    """Every statement posted under it, pending, rejected and hidden included, in id order: the open-data
    package and the Pol.is folder place each statement (and so each vote) in its question."""


def agenda_of(meeting: Meeting, lanes: dict[int, str], events: Iterable[Event] = ()) -> tuple[QuestionInfo, ...]:
    """Every question with its statements, and when the room moved to it (from ``events``, the log);
    empty for a meeting with the topic only (nothing to split)."""
    agenda = meeting.part(Agenda)
    if len(agenda.questions) == 1:
        return ()
    moves: dict[int, list[float]] = {}
    for event in events:
        if isinstance(event, QuestionChanged):
            moves.setdefault(event.to_question, []).append(event.at)
    out = []
    for question in range(len(agenda.questions)):
        mine = [s for s in meeting.accepted_statements() if agenda.question_of(s.id) == question]
        counts = {lane: sum(1 for s in mine if lanes.get(s.id) == lane) for lane in LANES}
        posted = tuple(sorted(sid for sid in meeting.statements if agenda.question_of(sid) == question))
        out.append(QuestionInfo(question, question + 1, question_text(meeting, question),
                                tuple(s.id for s in mine), counts, sum(s.votes for s in mine),
                                tuple(moves.get(question, ())), posted))
    return tuple(out)


def question_of_statement(questions: tuple[QuestionInfo, ...]) -> dict[int, int]:
    """Statement id -> the number (from 1) of the question it was posted under; empty without an agenda
    (every statement is then under the topic, question 1)."""
    return {sid: q.number for q in questions for sid in q.posted}


def question_heading(cat: Catalog, q: QuestionInfo) -> str:
    """「問題 2：…」 / "Question 2: ..."."""
    return cat.t("question_heading", n=q.number, text=q.text)


def counts_text(cat: Catalog, statements: int, votes: int, lanes: dict[str, int]) -> str:
    """「意見 3 則、表態 14 次；每組多數可接受 1 · ...」: a question's (or the meeting's) statements open to
    votes, the votes on them and how many are in each lane."""
    shown = " · ".join(f"{cat.lane(lane)} {lanes.get(lane, 0)}" for lane in LANES)
    return cat.t("question_counts", statements=statements, votes=votes, lanes=shown)


def write_questions_csv(questions: tuple[QuestionInfo, ...], path: Path, statement: Callable[[int], int]) -> Path:
    """The Pol.is folder's ``questions.csv``: ``comment-id, question`` for every statement (any state), so
    its votes can be split by question (``statement`` maps our ids to the folder's comment ids)."""
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["comment-id", "question"])
        writer.writerows(sorted((statement(sid), q.number) for q in questions for sid in q.posted))
    return path


def _heading(cat: Catalog, q: QuestionInfo) -> str:
    return question_heading(cat, q)


def _counts(cat: Catalog, q: QuestionInfo) -> str:
    return counts_text(cat, len(q.statements), q.votes, q.lanes)


def questions_markdown(questions: tuple[QuestionInfo, ...], rows: dict[int, list[str]], cat: Catalog,
                       head: list[str], escape: Callable[[str], str]) -> list[str]:
    """The Markdown sections, one per question; ``rows`` gives each statement's table cells as the
    all-statements table writes them (the same figures), ``head`` that table's header."""
    out: list[str] = []
    for q in questions:
        out.append(f"## {escape(_heading(cat, q))}\n")
        out.append(_counts(cat, q) + "\n")
        if not q.statements:
            out.append(cat.t("none_yet") + "\n")
            continue
        out.append("| " + " | ".join(head) + " |")
        out.append("|" + "|".join("---" for _ in head) + "|")
        out.extend("| " + " | ".join(rows[s]) + " |" for s in q.statements if s in rows)
        out.append("")
    return out


def questions_html(questions: tuple[QuestionInfo, ...], rows: dict[int, list[str]], cat: Catalog,
                   head: list[str]) -> list[str]:
    """The HTML sections, one per question (``rows``: plain texts, escaped here)."""
    out: list[str] = []
    for q in questions:
        out.append(f'<h2 id="question-{q.number}">{html.escape(_heading(cat, q))}</h2>')
        out.append(f'<p class="note">{html.escape(_counts(cat, q))}</p>')
        if not q.statements:
            out.append(f"<p>{html.escape(cat.t('none_yet'))}</p>")
            continue
        out.append("<table><thead><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in head) + "</tr></thead><tbody>")
        out.extend("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in rows[s]) + "</tr>"
                   for s in q.statements if s in rows)
        out.append("</tbody></table>")
    return out
