"""A consent check on a draft conclusion (issue 24): ``check_open``, ``check_answer``, ``check_close``.

In reviewing, the host bundles statements (typically from the acceptable lane, wording editable) into a
draft conclusion and opens a check. Each phone answers ``consent``, ``live_with`` (can live with it) or
``object``; an objection needs a reason, and each reason becomes a pending statement by the objector that the
host may accept into the meeting (the ordinary ``moderate``). The host revises the draft and opens the next
check: every check is kept, so the record shows how the conclusion moved and how each objection was handled.

Why "agreed" is so narrow here: a check's outcome is ``no_objection`` only when at least one phone answered
and none objected, and even then it speaks for those who answered, never for the room (the pages say
"no one of the N who answered objects"). A phone's latest answer to a check counts; changing it is allowed
while the check is open, as in Loomio's consent polls.

Who sees what: every client gets the counts, by stakeholder role, and the objections' reasons as far as the
meeting's moderation allows (under pre-moderation a reason shows once the host accepts its statement; a
rejected or hidden one never shows). Which participant gave which answer goes only to the projector and the
host (the ``check_answer`` event, and ``answers`` in their snapshots), like votes: the projector needs it to
count answers by opinion group from its map.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from facilitation.core.command import HOSTS, PARTICIPANTS, Command, CommandSpec
from facilitation.core.events import ALL, OWN, Audience, Event, Fingerprint, Phones, StatementPosted
from facilitation.core.fields import WORD, Field, int_field, list_field, text_field
from facilitation.core.state import (
    MAX_STATEMENT_CHARS,
    MAX_STATEMENTS,
    CommandRefused,
    ModerationMode,
    Phase,
    StatementState,
    clean_text,
    normalize_text,
)
from facilitation.core.text import clean, dedup_key, is_visible

if TYPE_CHECKING:
    from facilitation.core.meeting import Meeting

__all__ = [
    "ANSWERS",
    "CHECK_ANSWER",
    "CHECK_CLOSE",
    "CHECK_OPEN",
    "MAX_DRAFT_CHARS",
    "MAX_DRAFT_STATEMENTS",
    "AnswerCheck",
    "Check",
    "CheckAnswered",
    "CheckClosed",
    "CheckOpened",
    "CloseCheck",
    "Decision",
    "Objection",
    "OpenCheck",
    "outcome",
]

ANSWERS = ("consent", "live_with", "object")
"""A phone's answers to a check: consent, can live with it (not satisfied, but acceptable), object."""
MAX_DRAFT_CHARS = 2000
"""A draft conclusion: a few paragraphs, within the protocol's text cap."""
MAX_DRAFT_STATEMENTS = 50
"""Statements one draft may bundle: a conclusion read aloud in a room, not the whole map."""


@dataclass(slots=True)
class Objection:
    """One objection: who, and the statement its reason became (or the existing statement it repeats)."""

    participant: int
    statement: int
    reason: str
    at: float


@dataclass(slots=True)
class Check:
    """One consent check on one version of the draft."""

    id: int
    text: str
    statements: tuple[int, ...]
    opened_at: float
    closed_at: float | None = None
    answers: dict[int, str] = field(default_factory=dict)
    """participant -> their latest answer."""
    objections: list[Objection] = field(default_factory=list)

    @property
    def open(self) -> bool:
        return self.closed_at is None

    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(ANSWERS, 0)
        for answer in self.answers.values():
            counts[answer] += 1
        return counts


def outcome(counts: dict[str, int]) -> str:
    """``no_answers``, ``objected`` or ``no_objection`` (the only outcome a screen may call agreed, and then
    by those who answered)."""
    if not sum(counts.values()):
        return "no_answers"
    return "objected" if counts.get("object", 0) else "no_objection"


@dataclass
class Decision:
    """The meeting's consent checks, in the order they were opened."""

    key: ClassVar[str] = "decision"
    checks: list[Check] = field(default_factory=list)
    meeting: Meeting | None = None
    """Set by the first check's event: the counts by role and the reasons' visibility read the meeting."""

    def current(self) -> Check | None:
        return self.checks[-1] if self.checks and self.checks[-1].open else None

    def get(self, check: int) -> Check | None:
        return self.checks[check - 1] if 1 <= check <= len(self.checks) else None

    def reason_visible(self, objection: Objection) -> bool:
        """Whether phones and the projector may read an objection's reason (see the module's docstring)."""
        meeting = self.meeting
        if meeting is None:
            return False
        statement = meeting.statements.get(objection.statement)
        if statement is None:
            return False
        if statement.state is StatementState.ACCEPTED:
            return True
        return statement.state is StatementState.PENDING and meeting.settings.moderation is ModerationMode.POST

    def by_role(self, check: Check) -> dict[str, dict[str, int]]:
        roles: dict[str, dict[str, int]] = {}
        participants = self.meeting.participants if self.meeting is not None else {}
        for participant, answer in check.answers.items():
            p = participants.get(participant)
            role = p.role if p is not None else ""
            roles.setdefault(role, dict.fromkeys(ANSWERS, 0))[answer] += 1
        return roles

    def check_public(self, check: Check) -> dict[str, Any]:
        counts = check.counts()
        return {
            "id": check.id,
            "text": check.text,
            "statements": list(check.statements),
            "open": check.open,
            "opened_at": check.opened_at,
            "closed_at": check.closed_at,
            "counts": counts,
            "outcome": outcome(counts),
            "by_role": self.by_role(check),
            "objections": [
                {"statement": o.statement, "reason": o.reason if self.reason_visible(o) else None}
                for o in check.objections
            ],
        }

    def public(self) -> dict[str, Any]:
        return {"checks": [self.check_public(c) for c in self.checks]}

    def mine(self, participant: int) -> dict[str, str]:
        """One phone's own answers (check id -> answer), for its snapshot's ``you``: a phone that reloads
        still shows what it answered."""
        return {str(c.id): c.answers[participant] for c in self.checks if participant in c.answers}

    def screen(self) -> dict[str, Any]:
        """What only the projector and the host see in their snapshots: check id -> participant -> answer
        (see the module's docstring)."""
        return {"answers": {str(c.id): {str(p): a for p, a in c.answers.items()} for c in self.checks}}


# ---------------------------------------------------------------- commands


@dataclass(frozen=True, slots=True)
class OpenCheck(Command):
    """The host opens a check on a draft; an open one is closed by it (the draft was revised)."""

    text: str
    statements: list[int] = field(default_factory=list)
    op: str = ""

    def fingerprint(self) -> Fingerprint:
        return ("check_open", clean(self.text, "text", max_chars=MAX_DRAFT_CHARS * 2, multiline=True),
                tuple(self.statements))


@dataclass(frozen=True, slots=True)
class AnswerCheck(Command):
    participant: int
    check: int
    answer: str
    reason: str = ""
    op: str = ""

    def actor(self) -> str:
        return str(self.participant)

    def fingerprint(self) -> Fingerprint:
        return ("check_answer", self.check, self.answer, normalize_text(self.reason))


@dataclass(frozen=True, slots=True)
class CloseCheck(Command):
    check: int
    op: str = ""

    def fingerprint(self) -> Fingerprint:
        return ("check_close", self.check)


# ---------------------------------------------------------------- events


def _decision(meeting: Meeting) -> Decision:
    decision = meeting.part(Decision)
    decision.meeting = meeting
    return decision


@dataclass(frozen=True, slots=True)
class CheckOpened(Event):
    check: int
    text: str
    statements: list[int]
    closes: int = 0
    """The check this one closed (0: none was open)."""
    op: str = ""

    type: ClassVar[str] = "check_opened"
    audience: ClassVar[tuple[Audience, ...]] = (Audience("check_opened", phone=ALL, projector=ALL, host=ALL),)

    def evolve(self, meeting: Meeting) -> None:
        decision = _decision(meeting)
        previous = decision.get(self.closes)
        if previous is not None and previous.open:
            previous.closed_at = self.at
        decision.checks.append(Check(self.check, self.text, tuple(self.statements), self.at))
        meeting.moderation_log.append(
            {
                "seq": self.seq,
                "at": self.at,
                "action": "check_opened",
                "check": self.check,
                "statements": list(self.statements),
            }
        )

    def fingerprint(self) -> Fingerprint:
        return ("check_open", self.text, tuple(self.statements))

    def result(self) -> dict[str, Any]:
        return {"check": self.check}


@dataclass(frozen=True, slots=True)
class CheckAnswered(Event):
    participant: int
    check: int
    answer: str
    reason: str = ""
    statement: int | None = None
    """The statement the objection's reason became (or repeats); None without an objection."""
    op: str = ""

    type: ClassVar[str] = "check_answer"
    audience: ClassVar[tuple[Audience, ...]] = (Audience("check_answer", phone=OWN, projector=ALL, host=ALL),)

    def evolve(self, meeting: Meeting) -> None:
        check = _decision(meeting).get(self.check)
        if check is None:  # unreachable: the handler checked it
            return
        check.answers[self.participant] = self.answer
        if self.statement is not None:
            check.objections.append(Objection(self.participant, self.statement, self.reason, self.at))

    def actor(self) -> str:
        return str(self.participant)

    def fingerprint(self) -> Fingerprint:
        return ("check_answer", self.check, self.answer, self.reason)

    def result(self) -> dict[str, Any]:
        return {"check": self.check, "answer": self.answer, "statement": self.statement}

    def phones(self) -> Phones:
        return self.participant

    def view(self, role: str, participant: int | None, meeting: Meeting) -> dict[str, Any] | None:
        if role == "projector":
            decision = meeting.part(Decision)
            check = decision.get(self.check)
            return {
                "type": "check_answer",
                "participant": self.participant,
                "check": self.check,
                "answer": self.answer,
                "statement": self.statement,
                # the check as it stands (counts, by role, the reasons phones may read): a screen redraws
                # from it without a role table of its own
                "state": decision.check_public(check) if check is not None else None,
            }
        return self.public() if participant == self.participant else None


@dataclass(frozen=True, slots=True)
class CheckClosed(Event):
    check: int
    op: str = ""

    type: ClassVar[str] = "check_closed"
    audience: ClassVar[tuple[Audience, ...]] = (Audience("check_closed", phone=ALL, projector=ALL, host=ALL),)

    def evolve(self, meeting: Meeting) -> None:
        decision = _decision(meeting)
        check = decision.get(self.check)
        if check is not None:
            check.closed_at = self.at
            counts = check.counts()
            meeting.moderation_log.append(
                {
                    "seq": self.seq,
                    "at": self.at,
                    "action": "check_closed",
                    "check": self.check,
                    "counts": counts,
                    "outcome": outcome(counts),
                }
            )

    def fingerprint(self) -> Fingerprint:
        return ("check_close", self.check)

    def result(self) -> dict[str, Any]:
        return {"check": self.check}


# ---------------------------------------------------------------- handlers


def open_check(meeting: Meeting, command: OpenCheck, now: float) -> list[Event]:
    if meeting.phase is not Phase.REVIEWING:
        raise CommandRefused(
            "phase_forbids",
            f"cannot open a consent check in phase {meeting.phase.value!r} (only during reviewing)",
            status=409,
        )
    # a draft keeps its line breaks (one bundled statement a line); control and bidi characters are refused
    text = clean(command.text, "text", max_chars=MAX_DRAFT_CHARS * 2, multiline=True)
    if not is_visible(text):
        raise CommandRefused("empty", "a draft conclusion needs some visible text")
    if len(text) > MAX_DRAFT_CHARS:
        raise CommandRefused("too_long", f"a draft conclusion has at most {MAX_DRAFT_CHARS} characters")
    if len(command.statements) > MAX_DRAFT_STATEMENTS:
        raise CommandRefused("too_many", f"a draft bundles at most {MAX_DRAFT_STATEMENTS} statements")
    statements: list[int] = []
    for sid in command.statements:
        if sid not in meeting.statements:
            raise CommandRefused("unknown_statement", f"no statement {sid}", status=404)
        if sid not in statements:
            statements.append(sid)
    decision = meeting.part(Decision)
    current = decision.current()
    return [
        CheckOpened(
            meeting.next_seq(),
            now,
            len(decision.checks) + 1,
            text,
            statements,
            current.id if current is not None else 0,
            command.op,
        )
    ]


def answer_check(meeting: Meeting, command: AnswerCheck, now: float) -> list[Event]:
    meeting.require_participant(command.participant)
    if meeting.phase is not Phase.REVIEWING:
        raise CommandRefused(
            "phase_forbids",
            f"cannot answer a consent check in phase {meeting.phase.value!r} (only during reviewing)",
            status=409,
        )
    check = meeting.part(Decision).get(command.check)
    if check is None:
        raise CommandRefused("unknown_check", f"no consent check {command.check}", status=404)
    if not check.open:
        raise CommandRefused("check_closed", f"consent check {command.check} is closed", status=409)
    if command.answer not in ANSWERS:
        raise CommandRefused("invalid_answer", f"answer must be one of {', '.join(ANSWERS)}")
    reason = clean_text(command.reason)
    if command.answer != "object":
        return [
            CheckAnswered(meeting.next_seq(), now, command.participant, check.id, command.answer, "", None, command.op)
        ]
    if not is_visible(reason):
        raise CommandRefused("reason_required", "an objection needs a reason")
    limit = meeting.settings.max_statement_chars
    if len(reason) > limit:
        raise CommandRefused("too_long", f"a reason has at most {limit} characters, got {len(reason)}")
    seq = meeting.next_seq()
    existing = meeting.texts.get(dedup_key(reason))
    if existing is not None:  # the reason repeats a statement: the objection points at it
        return [CheckAnswered(seq, now, command.participant, check.id, "object", reason, existing, command.op)]
    if len(meeting.statements) >= MAX_STATEMENTS:
        raise CommandRefused("meeting_full", f"this meeting has its maximum of {MAX_STATEMENTS} statements", status=409)
    sid = len(meeting.statements)
    return [
        CheckAnswered(seq, now, command.participant, check.id, "object", reason, sid, command.op),
        StatementPosted(seq + 1, now, sid, reason, command.participant, False, StatementState.PENDING.value, ""),
    ]


def close_check(meeting: Meeting, command: CloseCheck, now: float) -> list[Event]:
    check = meeting.part(Decision).get(command.check)
    if check is None:
        raise CommandRefused("unknown_check", f"no consent check {command.check}", status=404)
    if not check.open:
        raise CommandRefused("no_change", f"consent check {command.check} is already closed", status=409)
    return [CheckClosed(meeting.next_seq(), now, check.id, command.op)]


CHECK = Field("check", int_field, required=True, example=1)

CHECK_OPEN = CommandSpec(
    "check_open",
    HOSTS,
    (
        Field("text", text_field(MAX_DRAFT_CHARS, multiline=True), required=True),
        Field("statements", list_field(int_field, MAX_DRAFT_STATEMENTS), example=[0]),
    ),
    command=OpenCheck,
    handler=open_check,
    events=(CheckOpened,),
    state=(Decision,),
)
CHECK_ANSWER = CommandSpec(
    "check_answer",
    PARTICIPANTS,
    (
        CHECK,
        Field("answer", WORD, required=True, example="consent"),
        Field("reason", text_field(MAX_STATEMENT_CHARS, visible=False)),
    ),
    command=AnswerCheck,
    handler=answer_check,
    events=(CheckAnswered, StatementPosted),
    state=(Decision,),
)
CHECK_CLOSE = CommandSpec(
    "check_close",
    HOSTS,
    (CHECK,),
    command=CloseCheck,
    handler=close_check,
    events=(CheckClosed,),
    state=(Decision,),
)
