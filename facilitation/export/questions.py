"""The report per question of an agenda (issue 23): one section per question with its statements, their lane
and their raw vote counts, after the meeting-wide sections.

A question's lanes are the meeting's lanes restricted to its statements: the opinion groups are formed over
every vote of the meeting (participants carry across questions, and more votes place them better), and a
statement's lane is a verdict about that statement alone (docs/meetings.md). So every figure here is a
count a reader can check against the meeting's votes, question by question.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass

from facilitation.core.commands.agenda import Agenda, question_text
from facilitation.core.meeting import Meeting
from facilitation.export.i18n import Catalog

__all__ = ["QuestionInfo", "agenda_of", "questions_html", "questions_markdown"]

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


def agenda_of(meeting: Meeting, lanes: dict[int, str]) -> tuple[QuestionInfo, ...]:
    """Every question with its statements; empty for a meeting with the topic only (nothing to split)."""
    agenda = meeting.part(Agenda)
    if len(agenda.questions) == 1:
        return ()
    out = []
    for question in range(len(agenda.questions)):
        mine = [s for s in meeting.accepted_statements() if agenda.question_of(s.id) == question]
        counts = {lane: sum(1 for s in mine if lanes.get(s.id) == lane) for lane in LANES}
        out.append(QuestionInfo(question, question + 1, question_text(meeting, question),
                                tuple(s.id for s in mine), counts, sum(s.votes for s in mine)))
    return tuple(out)


def _heading(cat: Catalog, q: QuestionInfo) -> str:
    return cat.t("question_heading", n=q.number, text=q.text)


def _counts(cat: Catalog, q: QuestionInfo) -> str:
    lanes = " · ".join(f"{cat.lane(lane)} {q.lanes[lane]}" for lane in LANES)
    return cat.t("question_counts", statements=len(q.statements), votes=q.votes, lanes=lanes)


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
