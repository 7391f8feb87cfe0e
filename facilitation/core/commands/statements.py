"""Statements and votes: a participant's ``post`` and the host's ``seed``, ``vote``, and the host's
``moderate``. The vote is the hot path of the whole server: its handler does a few dict lookups and no scan."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from facilitation.core.command import HOSTS, PARTICIPANTS, Command, CommandSpec, participant_of
from facilitation.core.commands.agenda import check_current
from facilitation.core.events import Event, Fingerprint, StatementModerated, StatementPosted, VoteCast
from facilitation.core.fields import WORD, Field, int_field, text_field
from facilitation.core.frozen import quick_init
from facilitation.core.state import (
    HOST,
    MAX_REASON_CHARS,
    MAX_STATEMENT_CHARS,
    MAX_STATEMENTS,
    PARTICIPANT_PHASES,
    CommandRefused,
    ModerationMode,
    Phase,
    StatementState,
    clean_text,
    normalize_text,
)
from facilitation.core.text import dedup_key, is_visible

if TYPE_CHECKING:
    from facilitation.core.meeting import Meeting

__all__ = ["MODERATE", "POST", "SEED", "VOTE", "Moderate", "PostStatement", "Vote"]


@dataclass(frozen=True, slots=True)
class PostStatement(Command):
    """``participant`` is None when the host seeds a statement."""

    participant: int | None
    text: str
    op: str

    def actor(self) -> str:
        return HOST if self.participant is None else str(self.participant)

    def fingerprint(self) -> Fingerprint:
        return ("post", normalize_text(self.text))


@quick_init  # made once per vote: see facilitation/core/frozen.py
@dataclass(frozen=True, slots=True)
class Vote(Command):
    participant: int
    statement: int
    value: str
    op: str

    def actor(self) -> str:
        return str(self.participant)

    def fingerprint(self) -> Fingerprint:
        return ("vote", self.statement, self.value)


@dataclass(frozen=True, slots=True)
class Moderate(Command):
    statement: int
    action: str
    """``accept``, ``reject`` (needs a reason), ``hide``."""
    reason: str = ""
    op: str = ""

    def fingerprint(self) -> Fingerprint:
        return ("moderate", self.statement, self.action, normalize_text(self.reason))


def post(meeting: Meeting, command: PostStatement, now: float) -> list[Event]:
    seed = command.participant is None
    if seed:
        if meeting.phase is Phase.CLOSED:
            raise CommandRefused("phase_forbids", "cannot add statements in phase 'closed'", status=409)
    else:
        assert command.participant is not None
        meeting.require_participant(command.participant)
        meeting.require_phase("post")
    text = clean_text(command.text)
    if not is_visible(text):
        raise CommandRefused("empty", "a statement needs some visible text")
    limit = meeting.settings.max_statement_chars
    if len(text) > limit:
        raise CommandRefused("too_long", f"a statement has at most {limit} characters, got {len(text)}")
    existing = meeting.texts.get(dedup_key(text))
    if existing is not None:
        raise CommandRefused("duplicate", f"this statement already exists (#{existing})", status=409)
    if len(meeting.statements) >= MAX_STATEMENTS:
        raise CommandRefused("meeting_full", f"this meeting has its maximum of {MAX_STATEMENTS} statements",
                             status=409)
    state = (
        StatementState.PENDING
        if not seed and meeting.settings.moderation is ModerationMode.PRE
        else StatementState.ACCEPTED
    )
    sid = len(meeting.statements)
    seq = meeting.next_seq()
    events: list[Event] = [StatementPosted(seq, now, sid, text, command.participant, seed, state.value, command.op)]
    if command.participant is not None and state is StatementState.ACCEPTED:
        # Authors implicitly agree with what they wrote, as in Pol.is (under pre-moderation: once accepted).
        events.append(VoteCast(seq + 1, now, command.participant, sid, "agree", ""))
    return events


_VOTE_PHASES = PARTICIPANT_PHASES["vote"]


def vote(meeting: Meeting, command: Vote, now: float) -> list[Event]:
    """The hot path of the server: each check is tested inline and the shared helper is called only to
    refuse (with its one message), so an accepted vote makes no call it does not need."""
    participant, sid = command.participant, command.statement
    if participant not in meeting.participants:
        meeting.require_participant(participant)
    if meeting.phase not in _VOTE_PHASES:
        meeting.require_phase("vote")
    statement = meeting.statements.get(sid)
    if statement is None:
        raise CommandRefused("unknown_statement", f"no statement {sid}", status=404)
    if statement.state is not StatementState.ACCEPTED:
        raise CommandRefused(
            "not_votable", f"statement {statement.id} is {statement.state.value}, not open for votes"
        )
    check_current(meeting, statement.id)  # the agenda: phones vote within the current question
    if command.value not in meeting.settings.vote_values:
        allowed = ", ".join(meeting.settings.vote_values)
        raise CommandRefused("invalid_vote", f"vote must be one of {allowed} on this meeting's scale")
    mine = meeting.votes.get(participant)
    previous = "" if mine is None else mine.get(sid, "")
    return [VoteCast(meeting.seq + 1, now, participant, sid, command.value, command.op, previous)]


_TARGETS = {"accept": StatementState.ACCEPTED, "reject": StatementState.REJECTED, "hide": StatementState.HIDDEN}


def moderate(meeting: Meeting, command: Moderate, now: float) -> list[Event]:
    statement = meeting.statements.get(command.statement)
    if statement is None:
        raise CommandRefused("unknown_statement", f"no statement {command.statement}", status=404)
    target = _TARGETS.get(command.action)
    if target is None:
        raise CommandRefused("invalid_action", "moderation action must be accept, reject or hide")
    reason = clean_text(command.reason)
    if target is StatementState.REJECTED and not reason:
        raise CommandRefused("reason_required", "rejecting a statement needs a reason the author will see")
    if len(reason) > MAX_REASON_CHARS:
        raise CommandRefused("too_long", f"a reason has at most {MAX_REASON_CHARS} characters")
    if statement.state is target:
        raise CommandRefused("no_change", f"statement {statement.id} is already {target.value}")
    if meeting.phase is Phase.CLOSED:
        raise CommandRefused("phase_forbids", "cannot moderate in phase 'closed'", status=409)
    seq = meeting.next_seq()
    events: list[Event] = [
        StatementModerated(seq, now, statement.id, command.action, target.value, reason, statement.state.value,
                           command.op)
    ]
    author = statement.author
    if target is StatementState.ACCEPTED and author is not None and statement.id not in meeting.votes.get(author, {}):
        # The author's implicit agree, held back while the statement waited for moderation.
        events.append(VoteCast(seq + 1, now, author, statement.id, "agree", ""))
    return events


STATEMENT = Field("statement", int_field, required=True)
STATEMENT_TEXT = Field("text", text_field(MAX_STATEMENT_CHARS), required=True)

VOTE = CommandSpec(
    "vote", PARTICIPANTS, (STATEMENT, Field("value", WORD, required=True)), command=Vote, handler=vote,
    events=(VoteCast,),
    build=lambda a: Vote(participant_of(a), a.fields["statement"], a.fields["value"], a.op),  # the hot path
)
POST = CommandSpec(
    "post", PARTICIPANTS, (STATEMENT_TEXT,), command=PostStatement, handler=post,
    events=(StatementPosted, VoteCast),
    build=lambda a: PostStatement(participant_of(a), a.fields["text"], a.op),
)
SEED = CommandSpec(
    "seed", HOSTS, (STATEMENT_TEXT,), command=PostStatement, handler=post, events=(StatementPosted,),
    build=lambda a: PostStatement(None, a.fields["text"], a.op),
)
MODERATE = CommandSpec(
    "moderate", HOSTS,
    (STATEMENT, Field("action", WORD, required=True), Field("reason", text_field(MAX_REASON_CHARS))),
    command=Moderate, handler=moderate, events=(StatementModerated, VoteCast),
)
