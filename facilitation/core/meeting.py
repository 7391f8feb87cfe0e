"""The meeting: a pure, synchronous state machine.

A meeting is event-sourced. :meth:`Meeting.apply` takes a command, checks it against the current state
and phase, and returns the events it causes (already folded into the state). The same events, read back
from the store, rebuild the meeting with :meth:`Meeting.replay` after a restart. Nothing here touches a
socket, a clock or a random source: the adapters pass ``now`` and generated tokens in, which keeps the core
testable without a server and identical on every worker.

Refusals raise :class:`CommandRefused` with a stable code and a message that names the phase or the
offending value; the state is left untouched.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar

from facilitation.core.errors import ClientError
from facilitation.core.events import (
    Event,
    FollowUpSet,
    MeetingCreated,
    ParticipantJoined,
    PhaseChanged,
    ProfileChanged,
    SettingsChanged,
    StatementModerated,
    StatementPosted,
    VoteCast,
)
from facilitation.core.text import collapse, dedup_key, has_forbidden, is_visible
from facilitation.core.vocabulary import SCALES

__all__ = [
    "HOST",
    "ROUTABLE_SETTINGS",
    "Command",
    "CommandRefused",
    "FollowUp",
    "Join",
    "Meeting",
    "MeetingSettings",
    "Moderate",
    "ModerationMode",
    "Phase",
    "PostStatement",
    "SetFollowUp",
    "SetPhase",
    "SetProfile",
    "Statement",
    "StatementState",
    "UpdateSettings",
    "Vote",
    "hash_secret",
    "normalize_text",
]

HOST = "host"
"""The actor name of the host in op-id bookkeeping and the moderation log."""

OPS_REMEMBERED = 256
"""Op ids remembered per actor for idempotency. A phone only resends what was not acknowledged (its offline
queue, a few dozen votes at most); 256 keeps that safe while bounding memory per participant (a 1,000-phone
meeting's soak grew ~3 MB/min with 2,048). Each remembered op holds its op string and a reference to the event
it caused, which the meeting's log already made."""

MAX_NICKNAME_CHARS = 40
MAX_REASON_CHARS = 280
MAX_ROLE_CHARS = 60
MAX_ROLES = 20
MAX_STATEMENT_CHARS = 1000
"""The largest ``max_statement_chars`` a meeting may set, hence the boundary's cap on any statement."""
MAX_STATEMENTS = 5000
"""Statements one meeting may hold (seeds included); then posts are refused with ``meeting_full``.

Pol.is's largest public conversations have a few thousand comments; no room votes on more than this."""
MAX_PARTICIPANTS = 50_000
"""Participants one meeting may hold; then new phones are refused with ``meeting_full``. With
:data:`MAX_STATEMENTS` it bounds a meeting's votes, so its stored size and memory are bounded too."""
MAX_RESPONSE_CHARS = 2000
"""An agency's response to one statement: a few paragraphs, within the protocol's text cap."""
FOLLOW_UP_STATUSES = ("adopted", "under_study", "not_adopted")
"""What an agency decided about a statement after the meeting."""


class CommandRefused(ClientError):
    """The meeting refused a command; the state did not change."""


class Phase(StrEnum):
    LOBBY = "lobby"
    COLLECTING = "collecting"
    VOTING = "voting"
    REVIEWING = "reviewing"
    CLOSED = "closed"


PHASE_ORDER: tuple[Phase, ...] = tuple(Phase)


class ModerationMode(StrEnum):
    PRE = "pre"
    """Statements wait for the host's approval before anyone sees them."""
    POST = "post"
    """Statements are shown at once; the host can hide them afterwards."""


class StatementState(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    HIDDEN = "hidden"



LANGUAGES = ("zh-TW", "en")

ROUTABLE_SETTINGS = frozenset({"results_visible", "analysis_paused", "title", "topic", "description"})
"""Settings the host may change while the meeting runs."""


def normalize_text(text: str) -> str:
    """NFC-normalise and collapse whitespace (:func:`facilitation.core.text.collapse`)."""
    return collapse(text)


def _clean(text: str) -> str:
    """Normalised text, refused if it holds a control, bidi or surrogate character. Adapters validate at their
    boundary (facilitation/core/registry.py); this keeps the meeting's own invariant for every other caller (the
    Pol.is import, the demo), so no export or store ever meets such text."""
    if has_forbidden(text):
        raise CommandRefused("invalid_field", "text contains a control, bidi or invalid character")
    return normalize_text(text)


def hash_secret(secret: str) -> str:
    """Host keys and participant tokens are stored only as hashes; the log never holds a usable secret."""
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class MeetingSettings:
    title: str
    topic: str = ""
    description: str = ""
    language: str = "zh-TW"
    scale: str = "consent"
    roles: tuple[str, ...] = ()
    moderation: ModerationMode = ModerationMode.POST
    max_statement_chars: int = 140
    ask_nickname: bool = True

    MAX_TITLE: ClassVar[int] = 200
    MAX_TOPIC: ClassVar[int] = 500
    MAX_DESCRIPTION: ClassVar[int] = 4000

    def __post_init__(self) -> None:
        if any(has_forbidden(t) for t in (self.title, self.topic, self.description, *self.roles)):
            raise CommandRefused("invalid_settings", "settings text contains a control or bidi character")
        if not is_visible(self.title):
            raise CommandRefused("invalid_settings", "a meeting needs a title")
        if (len(self.title) > self.MAX_TITLE or len(self.topic) > self.MAX_TOPIC
                or len(self.description) > self.MAX_DESCRIPTION):
            raise CommandRefused("invalid_settings", "title, topic or description is too long")
        if self.language not in LANGUAGES:
            raise CommandRefused("invalid_settings", f"language must be one of {', '.join(LANGUAGES)}")
        if self.scale not in SCALES:
            raise CommandRefused("invalid_settings", f"scale must be one of {', '.join(SCALES)}")
        if not 10 <= self.max_statement_chars <= MAX_STATEMENT_CHARS:
            raise CommandRefused(
                "invalid_settings", f"max_statement_chars must be between 10 and {MAX_STATEMENT_CHARS}"
            )
        if len(self.roles) > MAX_ROLES or any(not is_visible(r) or len(r) > MAX_ROLE_CHARS for r in self.roles):
            raise CommandRefused(
                "invalid_settings", f"up to {MAX_ROLES} stakeholder roles of 1-{MAX_ROLE_CHARS} characters"
            )
        if len(set(self.roles)) != len(self.roles):
            raise CommandRefused("invalid_settings", "stakeholder roles must be distinct")

    @property
    def vote_values(self) -> tuple[str, ...]:
        return SCALES[self.scale]

    def to_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "topic": self.topic,
            "description": self.description,
            "language": self.language,
            "scale": self.scale,
            "roles": list(self.roles),
            "moderation": self.moderation.value,
            "max_statement_chars": self.max_statement_chars,
            "ask_nickname": self.ask_nickname,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MeetingSettings:
        try:
            return cls(
                title=str(data["title"]),
                topic=str(data.get("topic", "")),
                description=str(data.get("description", "")),
                language=str(data.get("language", "zh-TW")),
                scale=str(data.get("scale", "consent")),
                roles=tuple(str(r) for r in data.get("roles", ())),
                moderation=ModerationMode(data.get("moderation", "post")),
                max_statement_chars=int(data.get("max_statement_chars", 140)),
                ask_nickname=bool(data.get("ask_nickname", True)),
            )
        except (KeyError, ValueError, TypeError) as exc:
            raise CommandRefused("invalid_settings", f"invalid meeting settings: {exc}") from exc


# ---------------------------------------------------------------- commands


@dataclass(frozen=True, slots=True)
class Join:
    """A participant arrives. ``token_hash`` is the hash of the token kept in their browser."""

    token_hash: str
    nickname: str = ""
    role: str = ""


@dataclass(frozen=True, slots=True)
class SetProfile:
    participant: int
    nickname: str = ""
    role: str = ""
    op: str = ""


@dataclass(frozen=True, slots=True)
class PostStatement:
    """``participant`` is None when the host seeds a statement."""

    participant: int | None
    text: str
    op: str


@dataclass(frozen=True, slots=True)
class Vote:
    participant: int
    statement: int
    value: str
    op: str


@dataclass(frozen=True, slots=True)
class Moderate:
    statement: int
    action: str
    """``accept``, ``reject`` (needs a reason), ``hide``."""
    reason: str = ""
    op: str = ""


@dataclass(frozen=True, slots=True)
class SetPhase:
    phase: str
    op: str = ""


@dataclass(frozen=True, slots=True)
class UpdateSettings:
    changes: dict[str, Any]
    op: str = ""


@dataclass(frozen=True, slots=True)
class SetFollowUp:
    """After the meeting the host records an agency's answer to a statement; allowed in every phase,
    closed included, because the answers arrive weeks later. The latest one per statement counts."""

    statement: int
    status: str
    """``adopted``, ``under_study`` or ``not_adopted``."""
    response: str = ""
    op: str = ""


Command = Join | SetProfile | PostStatement | Vote | Moderate | SetPhase | UpdateSettings | SetFollowUp


# ---------------------------------------------------------------- state


@dataclass(slots=True)
class Participant:
    id: int
    nickname: str
    role: str
    joined_at: float


@dataclass(slots=True)
class Statement:
    id: int
    text: str
    author: int | None
    seed: bool
    state: StatementState
    created_at: float
    reason: str = ""
    tally: dict[str, int] = field(default_factory=dict)
    votes: int = 0
    """How many participants voted on it (the sum of ``tally``, kept so routing never sums per vote)."""

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "text": self.text,
            "seed": self.seed,
            "state": self.state.value,
            "reason": self.reason,
            "created_at": self.created_at,
        }


@dataclass(frozen=True, slots=True)
class FollowUp:
    """The latest follow-up recorded for one statement."""

    statement: int
    status: str
    response: str
    at: float

    def to_dict(self) -> dict[str, Any]:
        return {"statement": self.statement, "status": self.status, "response": self.response, "at": self.at}


@dataclass(slots=True)
class Applied:
    """What :meth:`Meeting.apply` did: the new events and the result the client is acked with."""

    events: list[Event]
    result: dict[str, Any]
    duplicate: bool = False


PARTICIPANT_PHASES = {
    "post": (Phase.COLLECTING,),
    "vote": (Phase.COLLECTING, Phase.VOTING),
}


class Meeting:
    """One meeting's state, rebuilt from its events and advanced by commands."""

    def __init__(self, created: MeetingCreated) -> None:
        self.code = created.code
        self.settings = MeetingSettings.from_dict(created.settings)
        self.host_key_hash = created.host_key_hash
        self.created_at = created.at
        self.phase = Phase.LOBBY
        self.results_visible = True
        self.analysis_paused = False
        self.seq = created.seq
        self.participants: dict[int, Participant] = {}
        self.by_token: dict[str, int] = {}
        self.statements: dict[int, Statement] = {}
        self.texts: dict[str, int] = {}
        """dedup key (:func:`facilitation.core.text.dedup_key`) -> statement id: lookalikes are duplicates."""
        self.votes: dict[int, dict[int, str]] = {}
        """participant -> statement -> value: the latest vote per pair."""
        self.vote_count = 0
        self.accepted_count = 0
        self.voted_accepted: dict[int, int] = {}
        """participant -> how many of the accepted statements they voted on: a phone's "remaining" is
        ``accepted_count`` minus this, without a scan per vote."""
        self._accepted: list[Statement] | None = None
        """Accepted statements in id order, rebuilt only when a statement is posted or moderated (hot path)."""
        self.moderation_log: list[dict[str, Any]] = []
        self.follow_ups: dict[int, FollowUp] = {}
        """statement -> the agency's latest answer, recorded by the host after the meeting."""
        self.ops: dict[str, OrderedDict[str, Event]] = {}
        """actor -> op id -> the first event the op's command caused, recorded once, in :meth:`evolve`. What the
        command asked and its result are rebuilt from that event when the op comes again (rarely), so
        remembering an op costs a reference, not a copy."""
        self.closed_at: float | None = None

    # ------------------------------------------------------------ construction

    @classmethod
    def create(
        cls, code: str, settings: MeetingSettings, host_key_hash: str, now: float, seeds: Iterable[str] = ()
    ) -> tuple[Meeting, list[Event]]:
        """A new meeting and its first events (creation plus the host's seed statements)."""
        created = MeetingCreated(
            seq=1, at=now, code=code, settings=settings.to_dict(), host_key_hash=host_key_hash
        )
        meeting = cls(created)
        events: list[Event] = [created]
        for i, text in enumerate(seeds):
            events += meeting.apply(PostStatement(None, text, op=f"seed-{i}"), now).events
        return meeting, events

    @classmethod
    def replay(cls, events: Iterable[Event]) -> Meeting:
        """Rebuild a meeting from its stored events, in sequence order."""
        iterator: Iterator[Event] = iter(events)
        first = next(iterator, None)
        if not isinstance(first, MeetingCreated):
            raise ValueError("a meeting's log must start with meeting_created")
        meeting = cls(first)
        for event in iterator:
            meeting.evolve(event)
        return meeting

    # ------------------------------------------------------------ queries

    @property
    def counters(self) -> dict[str, int]:
        return {
            "participants": len(self.participants),
            "statements": self.accepted_count,
            "votes": self.vote_count,
            "pending": sum(1 for s in self.statements.values() if s.state is StatementState.PENDING),
        }

    def is_host_key(self, key: str) -> bool:
        return hmac.compare_digest(hash_secret(key), self.host_key_hash)

    def participant_for_token(self, token_hash: str) -> int | None:
        return self.by_token.get(token_hash)

    def accepted_statements(self) -> list[Statement]:
        """Statements open for votes, in id order. The list is shared: do not modify it."""
        if self._accepted is None:
            self._accepted = [s for s in self.statements.values() if s.state is StatementState.ACCEPTED]
        return self._accepted

    def unvoted(self, participant: int) -> list[Statement]:
        """The accepted statements ``participant`` has not voted on, in id order (a scan: not per vote)."""
        mine = self.votes.get(participant, {})
        return [s for s in self.accepted_statements() if s.id not in mine]

    def remaining(self, participant: int) -> int:
        """``len(unvoted(participant))`` in constant time."""
        return self.accepted_count - self.voted_accepted.get(participant, 0)

    def public_state(self) -> dict[str, Any]:
        """What every role may see: settings, phase, counters, accepted statements, the moderation log."""
        return {
            "code": self.code,
            "settings": self.settings.to_dict(),
            "phase": self.phase.value,
            "results_visible": self.results_visible,
            "analysis_paused": self.analysis_paused,
            "counters": self.counters,
            "statements": [s.public() for s in self.accepted_statements()],
            "moderation_log": self.moderation_log[-100:],
            "created_at": self.created_at,
        }

    # ------------------------------------------------------------ commands

    def apply(self, command: Command, now: float) -> Applied:
        """Check ``command``, fold the events it causes into the state and return them.

        Raises :class:`CommandRefused` without changing anything when the command is illegal.
        A command whose op id was already applied returns the first result again with no events; an op id
        reused for a different command (another type or payload) is refused with ``op_conflict``.
        """
        actor, op = _actor_and_op(command)
        if op:
            memory = self.ops.get(actor)
            first = None if memory is None else memory.get(op)
            if first is not None:
                asked, result = _OP_RECORDS[type(first)](first)
                if asked != command_fingerprint(command):
                    raise CommandRefused(
                        "op_conflict",
                        f"op {op!r} was already used for a different command; use a new op id",
                        status=409,
                    )
                return Applied([], result, duplicate=True)
        events = self._decide(command, now)
        if not events:  # a returning participant: nothing happens
            assert isinstance(command, Join)
            return Applied([], {"participant": self.by_token[command.token_hash], "new": False})
        for event in events:
            self.evolve(event)
        return Applied(events, result_of(events[0]))

    def _decide(self, command: Command, now: float) -> list[Event]:
        """The events ``command`` causes, or :class:`CommandRefused`. The first event is the one whose
        :func:`result_of` acknowledges the command."""
        match command:
            case Join():
                return self._join(command, now)
            case SetProfile():
                self._require_participant(command.participant)
                nickname, role = self._check_profile(command.nickname, command.role)
                return [ProfileChanged(self._next(), now, command.participant, nickname, role, command.op)]
            case PostStatement():
                return self._post(command, now)
            case Vote():
                return self._vote(command, now)
            case Moderate():
                return self._moderate(command, now)
            case SetPhase():
                return self._set_phase(command, now)
            case UpdateSettings():
                return self._update_settings(command, now)
            case SetFollowUp():
                return self._set_follow_up(command, now)
        raise CommandRefused("unknown_command", f"unknown command {type(command).__name__}")

    def _next(self) -> int:
        return self.seq + 1

    def _join(self, command: Join, now: float) -> list[Event]:
        if command.token_hash in self.by_token:
            return []
        if self.phase is Phase.CLOSED:
            raise CommandRefused("phase_forbids", "the meeting is closed: new participants cannot join")
        if len(self.participants) >= MAX_PARTICIPANTS:
            raise CommandRefused("meeting_full", f"this meeting has its maximum of {MAX_PARTICIPANTS} participants",
                                 status=409)
        nickname, role = self._check_profile(command.nickname, command.role)
        pid = len(self.participants)
        return [ParticipantJoined(self._next(), now, pid, command.token_hash, nickname, role)]

    def _check_profile(self, nickname: str, role: str) -> tuple[str, str]:
        nickname = _clean(nickname)
        if len(nickname) > MAX_NICKNAME_CHARS:
            raise CommandRefused("too_long", f"a nickname has at most {MAX_NICKNAME_CHARS} characters")
        if role and role not in self.settings.roles:
            raise CommandRefused("unknown_role", f"unknown stakeholder role {role!r}")
        return nickname, role

    def _require_participant(self, participant: int) -> None:
        if participant not in self.participants:
            raise CommandRefused("unknown_participant", f"no participant {participant}", status=404)

    def _require_phase(self, action: str) -> None:
        allowed = PARTICIPANT_PHASES[action]
        if self.phase not in allowed:
            names = " or ".join(p.value for p in allowed)
            raise CommandRefused(
                "phase_forbids",
                f"cannot {action} in phase {self.phase.value!r} (only during {names})",
                status=409,
            )

    def _post(self, command: PostStatement, now: float) -> list[Event]:
        seed = command.participant is None
        if seed:
            if self.phase is Phase.CLOSED:
                raise CommandRefused("phase_forbids", "cannot add statements in phase 'closed'", status=409)
        else:
            assert command.participant is not None
            self._require_participant(command.participant)
            self._require_phase("post")
        text = _clean(command.text)
        if not is_visible(text):
            raise CommandRefused("empty", "a statement needs some visible text")
        limit = self.settings.max_statement_chars
        if len(text) > limit:
            raise CommandRefused("too_long", f"a statement has at most {limit} characters, got {len(text)}")
        existing = self.texts.get(dedup_key(text))
        if existing is not None:
            raise CommandRefused("duplicate", f"this statement already exists (#{existing})", status=409)
        if len(self.statements) >= MAX_STATEMENTS:
            raise CommandRefused("meeting_full", f"this meeting has its maximum of {MAX_STATEMENTS} statements",
                                 status=409)
        state = (
            StatementState.PENDING
            if not seed and self.settings.moderation is ModerationMode.PRE
            else StatementState.ACCEPTED
        )
        sid = len(self.statements)
        events: list[Event] = [
            StatementPosted(self._next(), now, sid, text, command.participant, seed, state.value, command.op)
        ]
        if command.participant is not None and state is StatementState.ACCEPTED:
            # Authors implicitly agree with what they wrote, as in Pol.is (under pre-moderation: once accepted).
            events.append(VoteCast(self._next() + 1, now, command.participant, sid, "agree", ""))
        return events

    def _vote(self, command: Vote, now: float) -> list[Event]:
        self._require_participant(command.participant)
        self._require_phase("vote")
        statement = self.statements.get(command.statement)
        if statement is None:
            raise CommandRefused("unknown_statement", f"no statement {command.statement}", status=404)
        if statement.state is not StatementState.ACCEPTED:
            raise CommandRefused(
                "not_votable", f"statement {statement.id} is {statement.state.value}, not open for votes"
            )
        if command.value not in self.settings.vote_values:
            allowed = ", ".join(self.settings.vote_values)
            raise CommandRefused("invalid_vote", f"vote must be one of {allowed} on this meeting's scale")
        previous = self.votes.get(command.participant, {}).get(command.statement, "")
        return [
            VoteCast(self._next(), now, command.participant, command.statement, command.value, command.op, previous)
        ]

    def _moderate(self, command: Moderate, now: float) -> list[Event]:
        statement = self.statements.get(command.statement)
        if statement is None:
            raise CommandRefused("unknown_statement", f"no statement {command.statement}", status=404)
        targets = {"accept": StatementState.ACCEPTED, "reject": StatementState.REJECTED, "hide": StatementState.HIDDEN}
        target = targets.get(command.action)
        if target is None:
            raise CommandRefused("invalid_action", "moderation action must be accept, reject or hide")
        reason = _clean(command.reason)
        if target is StatementState.REJECTED and not reason:
            raise CommandRefused("reason_required", "rejecting a statement needs a reason the author will see")
        if len(reason) > MAX_REASON_CHARS:
            raise CommandRefused("too_long", f"a reason has at most {MAX_REASON_CHARS} characters")
        if statement.state is target:
            raise CommandRefused("no_change", f"statement {statement.id} is already {target.value}")
        if self.phase is Phase.CLOSED:
            raise CommandRefused("phase_forbids", "cannot moderate in phase 'closed'", status=409)
        events: list[Event] = [
            StatementModerated(
                self._next(), now, statement.id, command.action, target.value, reason, statement.state.value,
                command.op,
            )
        ]
        author = statement.author
        if target is StatementState.ACCEPTED and author is not None and statement.id not in self.votes.get(author, {}):
            # The author's implicit agree, held back while the statement waited for moderation.
            events.append(VoteCast(self._next() + 1, now, author, statement.id, "agree", ""))
        return events

    def _set_phase(self, command: SetPhase, now: float) -> list[Event]:
        try:
            target = Phase(command.phase)
        except ValueError:
            names = ", ".join(p.value for p in Phase)
            raise CommandRefused("invalid_phase", f"unknown phase {command.phase!r} (one of {names})") from None
        here = PHASE_ORDER.index(self.phase)
        there = PHASE_ORDER.index(target)
        if there == here:
            raise CommandRefused("no_change", f"the meeting is already in phase {self.phase.value!r}", status=409)
        if there > here + 1:
            raise CommandRefused(
                "illegal_transition",
                f"cannot go from phase {self.phase.value!r} to {target.value!r}: "
                f"move forward one phase at a time (next is {PHASE_ORDER[here + 1].value!r})",
                status=409,
            )
        return [PhaseChanged(self._next(), now, self.phase.value, target.value, command.op)]

    def _update_settings(self, command: UpdateSettings, now: float) -> list[Event]:
        unknown = set(command.changes) - ROUTABLE_SETTINGS
        if unknown:
            raise CommandRefused("invalid_settings", f"cannot change {', '.join(sorted(unknown))}")
        changes: dict[str, Any] = {}
        for key, value in command.changes.items():
            if key in ("results_visible", "analysis_paused"):
                if not isinstance(value, bool):
                    raise CommandRefused("invalid_settings", f"{key} must be true or false")
                changes[key] = value
            else:
                if not isinstance(value, str):
                    raise CommandRefused("invalid_settings", f"{key} must be text")
                changes[key] = value
        texts = {k: v for k, v in changes.items() if k in ("title", "topic", "description")}
        MeetingSettings.from_dict({**self.settings.to_dict(), **texts})  # validates lengths and the title
        return [SettingsChanged(self._next(), now, changes, command.op)]

    def _set_follow_up(self, command: SetFollowUp, now: float) -> list[Event]:
        if command.statement not in self.statements:
            raise CommandRefused("unknown_statement", f"no statement {command.statement}", status=404)
        if command.status not in FOLLOW_UP_STATUSES:
            raise CommandRefused("invalid_status", f"status must be one of {', '.join(FOLLOW_UP_STATUSES)}")
        response = command.response.strip()
        if has_forbidden(response):
            raise CommandRefused("invalid_field", "the response contains a control or bidi character")
        if len(response) > MAX_RESPONSE_CHARS:
            raise CommandRefused("too_long", f"a response has at most {MAX_RESPONSE_CHARS} characters")
        return [FollowUpSet(self._next(), now, command.statement, command.status, response, command.op)]

    def _remember(self, actor: str, op: str, event: Event) -> None:
        """Record that ``actor``'s ``op`` caused ``event`` (once, here: live and on replay alike).

        :meth:`evolve` calls it for events with an op only: an author's implicit agree or a server-made change
        has none."""
        seen = self.ops.get(actor)
        if seen is None:
            seen = self.ops[actor] = OrderedDict()
        seen[op] = event
        if len(seen) > OPS_REMEMBERED:
            seen.popitem(last=False)

    # ------------------------------------------------------------ evolution

    def evolve(self, event: Event) -> None:
        """Fold one event into the state. Events are facts: this never refuses."""
        self.seq = event.seq
        match event:
            case ParticipantJoined():
                self.participants[event.participant] = Participant(
                    event.participant, event.nickname, event.role, event.at
                )
                self.by_token[event.token_hash] = event.participant
            case ProfileChanged():
                p = self.participants[event.participant]
                p.nickname, p.role = event.nickname, event.role
                if event.op:
                    self._remember(str(event.participant), event.op, event)
            case StatementPosted():
                state = StatementState(event.state)
                self.statements[event.statement] = Statement(
                    event.statement, event.text, event.author, event.seed, state, event.at
                )
                self.texts[dedup_key(event.text)] = event.statement
                self._accepted = None
                if state is StatementState.ACCEPTED:
                    self.accepted_count += 1
                if event.op:
                    self._remember(_actor(event.author), event.op, event)
            case VoteCast():
                mine = self.votes.setdefault(event.participant, {})
                statement = self.statements[event.statement]
                previous = mine.get(event.statement)
                if previous is None:
                    self.vote_count += 1
                    statement.votes += 1
                    if statement.state is StatementState.ACCEPTED:
                        self.voted_accepted[event.participant] = self.voted_accepted.get(event.participant, 0) + 1
                else:
                    statement.tally[previous] -= 1
                mine[event.statement] = event.value
                statement.tally[event.value] = statement.tally.get(event.value, 0) + 1
                if event.op:
                    self._remember(str(event.participant), event.op, event)
            case StatementModerated():
                statement = self.statements[event.statement]
                was_accepted = statement.state is StatementState.ACCEPTED
                statement.state = StatementState(event.state)
                statement.reason = event.reason
                self._accepted = None
                change = (statement.state is StatementState.ACCEPTED) - was_accepted
                self.accepted_count += change
                if change:  # rare (moderation): one pass over the voters
                    for voter, mine in self.votes.items():
                        if event.statement in mine:
                            self.voted_accepted[voter] = self.voted_accepted.get(voter, 0) + change
                self.moderation_log.append(event.log_entry())
                if event.op:
                    self._remember(HOST, event.op, event)
            case PhaseChanged():
                self.phase = Phase(event.to_phase)
                if self.phase is Phase.CLOSED:
                    self.closed_at = event.at
                self.moderation_log.append(event.log_entry())
                if event.op:
                    self._remember(HOST, event.op, event)
            case SettingsChanged():
                for key, value in event.changes.items():
                    if key == "results_visible":
                        self.results_visible = bool(value)
                    elif key == "analysis_paused":
                        self.analysis_paused = bool(value)
                    else:
                        self.settings = MeetingSettings.from_dict({**self.settings.to_dict(), key: value})
                self.moderation_log.append(event.log_entry())
                if event.op:
                    self._remember(HOST, event.op, event)
            case FollowUpSet():
                self.follow_ups[event.statement] = FollowUp(event.statement, event.status, event.response, event.at)
                if event.op:
                    self._remember(HOST, event.op, event)
            case _:
                pass  # events owned by other layers (analysis) do not change the core state


Fingerprint = tuple[Any, ...]
"""What a command asked for, in the form its event records it: an op reused with another fingerprint is a
conflict, with the same one a harmless resend."""


def _canonical(changes: dict[str, Any]) -> str:
    return json.dumps(changes, sort_keys=True, ensure_ascii=False)


def _actor_and_op(command: Command) -> tuple[str, str]:
    match command:
        case Vote() | SetProfile():
            return str(command.participant), command.op
        case PostStatement():
            return (HOST if command.participant is None else str(command.participant)), command.op
        case Moderate() | SetPhase() | UpdateSettings() | SetFollowUp():
            return HOST, command.op
    return "", ""


def command_fingerprint(command: Command) -> Fingerprint:
    """The fingerprint of a command, normalised as :meth:`Meeting.apply` would store it."""
    match command:
        case Vote():
            return ("vote", command.statement, command.value)
        case PostStatement():
            return ("post", normalize_text(command.text))
        case SetProfile():
            return ("profile", normalize_text(command.nickname), command.role)
        case Moderate():
            return ("moderate", command.statement, command.action, normalize_text(command.reason))
        case SetPhase():
            return ("phase", command.phase)
        case UpdateSettings():
            return ("settings", _canonical(command.changes))
        case SetFollowUp():
            return ("follow_up", command.statement, command.status, command.response.strip())
    return (type(command).__name__,)


def _actor(participant: int | None) -> str:
    return HOST if participant is None else str(participant)


_OP_RECORDS: dict[type[Event], Callable[[Any], tuple[Fingerprint, dict[str, Any]]]] = {
    VoteCast: lambda e: (("vote", e.statement, e.value), {"statement": e.statement, "value": e.value}),
    StatementPosted: lambda e: (("post", e.text), {"statement": e.statement, "state": e.state}),
    ProfileChanged: lambda e: (("profile", e.nickname, e.role), {"participant": e.participant}),
    StatementModerated: lambda e: (("moderate", e.statement, e.action, e.reason),
                                   {"statement": e.statement, "state": e.state}),
    PhaseChanged: lambda e: (("phase", e.to_phase), {"phase": e.to_phase}),
    SettingsChanged: lambda e: (("settings", _canonical(e.changes)), {"changed": sorted(e.changes)}),
    FollowUpSet: lambda e: (("follow_up", e.statement, e.status, e.response),
                            {"statement": e.statement, "status": e.status}),
    ParticipantJoined: lambda e: ((), {"participant": e.participant, "new": True}),
}
"""For each event a command causes first: (the command's fingerprint rebuilt from the event, the ack
``result``). The one place results are shaped: a live command's ack and a resend's duplicate ack (from the
event the op memory keeps) both come from here."""


def result_of(event: Event) -> dict[str, Any]:
    """The ack ``result`` of the command whose first event is ``event``."""
    record = _OP_RECORDS.get(type(event))
    return {} if record is None else record(event)[1]
