"""The consent checks of a meeting, as the reports give them (issue 24): each check's draft, its answers in
all, by opinion group and by stakeholder role, and each objection with how it was handled.

Groups are the opinion groups of the analysis the report uses (the last one the room saw): a participant in
no shown group counts in the totals and their role, never in a group, so a group's counts add up to at most
the total. "Handled" is read from the log, never written by hand: the reason's statement's moderation state,
the first later check whose draft bundles that statement, and the objector's answer to the next check.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from facilitation.core.commands.consent import ANSWERS, Check, Decision, outcome
from facilitation.core.meeting import Meeting

__all__ = ["AnswerCounts", "ConsentCheck", "ObjectionInfo", "consent_checks"]


@dataclass(frozen=True)
class AnswerCounts:
    """How many of one group (role; ``""`` for everyone) answered each way."""

    name: str
    consent: int
    live_with: int
    object: int

    @property
    def answered(self) -> int:
        return self.consent + self.live_with + self.object


@dataclass(frozen=True)
class ObjectionInfo:
    """One objection and what became of it."""

    statement: int
    """The statement the reason became (or repeats)."""
    reason: str
    role: str
    group: str | None
    state: str
    """The reason's statement now: ``pending`` (not yet taken up), ``accepted`` (put to the room),
    ``rejected`` or ``hidden``."""
    taken_into: int | None
    """The first later check whose draft bundles the reason's statement (None: none did)."""
    next_check: int | None
    next_answer: str
    """The objector's answer to the next check (``""``: no next check, or no answer to it)."""
    latest_answer: str
    """The objector's latest answer to this check (an objection withdrawn shows here)."""

    @property
    def still_objects(self) -> bool:
        return self.latest_answer == "object"


@dataclass(frozen=True)
class ConsentCheck:
    id: int
    text: str
    statements: tuple[int, ...]
    opened_at: float
    closed_at: float | None
    counts: AnswerCounts
    outcome: str
    """``no_answers``, ``objected`` or ``no_objection`` (only this one may be called agreed, by those who
    answered: see :func:`facilitation.core.commands.consent.outcome`)."""
    by_group: tuple[AnswerCounts, ...]
    by_role: tuple[AnswerCounts, ...]
    objections: tuple[ObjectionInfo, ...]


def _counts(name: str, answers: Sequence[str]) -> AnswerCounts:
    return AnswerCounts(name, *(sum(1 for a in answers if a == value) for value in ANSWERS))


def consent_checks(meeting: Meeting, group_of: Mapping[int, str], group_ids: Sequence[str]) -> tuple[ConsentCheck, ...]:
    """Every check of ``meeting`` in order, counted by the groups ``group_of`` (participant -> group id)."""
    checks = meeting.part(Decision).checks
    role_of = {p.id: p.role for p in meeting.participants.values()}
    roles = [*meeting.settings.roles, ""]
    out: list[ConsentCheck] = []
    for index, check in enumerate(checks):
        answers = check.answers
        by_group = tuple(
            _counts(g, [a for p, a in answers.items() if group_of.get(p) == g]) for g in group_ids
        )
        by_role = tuple(
            _counts(r, [a for p, a in answers.items() if role_of.get(p, "") == r])
            for r in roles
            if any(role_of.get(p, "") == r for p in answers)
        )
        total = _counts("", list(answers.values()))
        out.append(
            ConsentCheck(
                check.id, check.text, check.statements, check.opened_at, check.closed_at, total,
                outcome(check.counts()), by_group, by_role,
                tuple(_objection(meeting, check, checks[index + 1:], o.participant, o.statement, o.reason,
                                 role_of, group_of) for o in check.objections),
            )
        )
    return tuple(out)


def _objection(meeting: Meeting, check: Check, later: Sequence[Check], participant: int, statement: int,
               reason: str, role_of: Mapping[int, str], group_of: Mapping[int, str]) -> ObjectionInfo:
    found = meeting.statements.get(statement)
    taken = next((c.id for c in later if statement in c.statements), None)
    return ObjectionInfo(
        statement=statement,
        reason=reason,
        role=role_of.get(participant, ""),
        group=group_of.get(participant),
        state=found.state.value if found is not None else "",
        taken_into=taken,
        next_check=later[0].id if later else None,
        next_answer=later[0].answers.get(participant, "") if later else "",
        latest_answer=check.answers.get(participant, ""),
    )
