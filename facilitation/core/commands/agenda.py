"""The agenda: a meeting holds several questions (the topic is the first) and the host moves between them.

Questions live inside one meeting (docs/meetings.md says why): participants, roles, tokens and the opinion
map carry across by construction. Each statement belongs to the question that was current when it was
posted, recorded without touching the statement events: the agenda keeps, for every move, the first
statement id posted after it (:attr:`Agenda.starts`), and a statement's question is the last move at or
before its id (ids only grow). Phones are offered, and may vote on, the current question's statements only;
a vote on another question's statement is refused with ``other_question``. The lanes, the summary and the
exports are per question by partitioning the statements with :func:`question_of`.

Question 0 is the meeting's topic (its text is the settings' topic, or the title); more come at creation
(``questions``, e.g. the ORID prompts) or from the host (``question_add``).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from facilitation.core.command import HOSTS, Command, CommandSpec
from facilitation.core.events import ALL, Audience, Event, Fingerprint
from facilitation.core.fields import Field, int_field, text_field
from facilitation.core.state import CommandRefused, Phase

if TYPE_CHECKING:
    from facilitation.core.meeting import Meeting

__all__ = [
    "MAX_QUESTIONS",
    "MAX_QUESTION_CHARS",
    "QUESTION_ADD",
    "QUESTION_GO",
    "AddQuestion",
    "Agenda",
    "GoToQuestion",
    "QuestionAdded",
    "QuestionChanged",
    "current_statements",
    "question_of",
    "question_text",
    "remaining_in_question",
]

MAX_QUESTIONS = 20
MAX_QUESTION_CHARS = 500
"""As long as a topic: a question is a topic of its own."""


@dataclass
class Agenda:
    """The questions (0 is the topic, its text "" meaning the settings' topic), the current one, and where
    each move started in statement ids."""

    key: ClassVar[str] = "agenda"
    questions: list[str] = field(default_factory=lambda: [""])
    current: int = 0
    starts: list[tuple[int, int]] = field(default_factory=lambda: [(0, 0)])
    """(first statement id, question) per move, in order: a statement's question is the last start <= its id."""

    @property
    def single(self) -> bool:
        """Only the topic: nothing is filtered (the meeting as it was before agendas)."""
        return len(self.questions) == 1 and self.current == 0

    def question_of(self, statement: int) -> int:
        index = bisect.bisect_right(self.starts, (statement, MAX_QUESTIONS)) - 1
        return self.starts[max(index, 0)][1]

    def public(self) -> dict[str, Any]:
        return {"questions": [{"id": i, "text": text} for i, text in enumerate(self.questions)],
                "current": self.current, "starts": [list(pair) for pair in self.starts]}


def question_of(meeting: Meeting, statement: int) -> int:
    """The question a statement was posted under."""
    return meeting.part(Agenda).question_of(statement)


def question_text(meeting: Meeting, question: int) -> str:
    """What the room reads for a question (question 0: the topic, else the title)."""
    text = meeting.part(Agenda).questions[question]
    return text or meeting.settings.topic or meeting.settings.title


def current_statements(meeting: Meeting) -> list[int]:
    """The accepted statements of the current question, in id order (a scan: per phone, not per vote)."""
    agenda = meeting.part(Agenda)
    return [s.id for s in meeting.accepted_statements()
            if agenda.single or agenda.question_of(s.id) == agenda.current]


def check_current(meeting: Meeting, statement: int) -> None:
    """Refuse a vote on a statement of another question than the current one."""
    agenda = meeting.part(Agenda)
    if agenda.single:
        return
    question = agenda.question_of(statement)
    if question != agenda.current:
        raise CommandRefused(
            "other_question",
            f"statement {statement} belongs to question {question + 1}; the room is on question {agenda.current + 1}",
            status=409,
        )


def remaining_in_question(meeting: Meeting, participant: int) -> int:
    """How many of the current question's accepted statements ``participant`` has not voted on."""
    mine = meeting.votes.get(participant, {})
    return sum(1 for s in current_statements(meeting) if s not in mine)


# ------------------------------------------------------------------ commands and events


@dataclass(frozen=True, slots=True)
class AddQuestion(Command):
    text: str
    op: str = ""

    def fingerprint(self) -> Fingerprint:
        return ("question_add", self.text)


@dataclass(frozen=True, slots=True)
class GoToQuestion(Command):
    question: int
    op: str = ""

    def fingerprint(self) -> Fingerprint:
        return ("question_go", self.question)


@dataclass(frozen=True, slots=True)
class QuestionAdded(Event):
    question: int
    text: str
    op: str = ""

    type: ClassVar[str] = "question_added"
    audience: ClassVar[tuple[Audience, ...]] = (Audience("question_added", phone=ALL, projector=ALL, host=ALL),)

    def evolve(self, meeting: Meeting) -> None:
        meeting.part(Agenda).questions.append(self.text)

    def fingerprint(self) -> Fingerprint:
        return ("question_add", self.text)

    def result(self) -> dict[str, Any]:
        return {"question": self.question}


@dataclass(frozen=True, slots=True)
class QuestionChanged(Event):
    """The room moved to another question; statements from ``first_statement`` on belong to it."""

    from_question: int
    to_question: int
    first_statement: int
    op: str = ""

    type: ClassVar[str] = "question_changed"
    audience: ClassVar[tuple[Audience, ...]] = (Audience("question_changed", phone=ALL, projector=ALL, host=ALL),)

    def evolve(self, meeting: Meeting) -> None:
        agenda = meeting.part(Agenda)
        agenda.current = self.to_question
        if agenda.starts and agenda.starts[-1][0] == self.first_statement:
            agenda.starts[-1] = (self.first_statement, self.to_question)  # no statement under the last move
        else:
            agenda.starts.append((self.first_statement, self.to_question))

    def fingerprint(self) -> Fingerprint:
        return ("question_go", self.to_question)

    def result(self) -> dict[str, Any]:
        return {"question": self.to_question}


def add_question(meeting: Meeting, command: AddQuestion, now: float) -> list[Event]:
    if meeting.phase is Phase.CLOSED:
        raise CommandRefused("phase_forbids", "cannot add a question in phase 'closed'", status=409)
    agenda = meeting.part(Agenda)
    if len(agenda.questions) >= MAX_QUESTIONS:
        raise CommandRefused("too_many", f"a meeting holds at most {MAX_QUESTIONS} questions", status=409)
    text = command.text.strip()
    if not text:
        raise CommandRefused("empty", "a question needs text")
    if len(text) > MAX_QUESTION_CHARS:
        raise CommandRefused("too_long", f"a question has at most {MAX_QUESTION_CHARS} characters")
    return [QuestionAdded(meeting.next_seq(), now, len(agenda.questions), text, command.op)]


def go_to_question(meeting: Meeting, command: GoToQuestion, now: float) -> list[Event]:
    if meeting.phase is Phase.CLOSED:
        raise CommandRefused("phase_forbids", "cannot move to another question in phase 'closed'", status=409)
    agenda = meeting.part(Agenda)
    if not 0 <= command.question < len(agenda.questions):
        raise CommandRefused("unknown_question", f"no question {command.question} (0 to {len(agenda.questions) - 1})",
                             status=404)
    if command.question == agenda.current:
        raise CommandRefused("no_change", f"the room is already on question {command.question}", status=409)
    first = max(meeting.statements, default=-1) + 1
    return [QuestionChanged(meeting.next_seq(), now, agenda.current, command.question, first, command.op)]


QUESTION_ADD = CommandSpec(
    "question_add", HOSTS, (Field("text", text_field(MAX_QUESTION_CHARS), required=True),),
    command=AddQuestion, handler=add_question, events=(QuestionAdded,), state=(Agenda,),
)
QUESTION_GO = CommandSpec(
    "question_go", HOSTS, (Field("question", int_field, required=True, example=1),),
    command=GoToQuestion, handler=go_to_question, events=(QuestionChanged,), state=(Agenda,),
)
