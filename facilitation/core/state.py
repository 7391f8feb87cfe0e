"""A meeting's state and its limits: the data every command handler reads and every event folds into.

Split from :mod:`facilitation.core.meeting` (the state machine) so that the command modules
(:mod:`facilitation.core.commands`) and the events can use these types while the meeting imports them: the
meeting depends on its commands, never the reverse.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol

from facilitation.core.errors import ClientError
from facilitation.core.privacy import notice_problem, notice_version
from facilitation.core.text import collapse, has_forbidden, is_visible
from facilitation.core.vocabulary import SCALES

if TYPE_CHECKING:
    from facilitation.core.meeting import Meeting

__all__ = [
    "FOLLOW_UP_STATUSES",
    "HOST",
    "HOST_SETTINGS",
    "LANGUAGES",
    "MAX_NICKNAME_CHARS",
    "MAX_PARTICIPANTS",
    "MAX_REASON_CHARS",
    "MAX_RESPONSE_CHARS",
    "MAX_ROLES",
    "MAX_ROLE_CHARS",
    "MAX_STATEMENTS",
    "MAX_STATEMENT_CHARS",
    "OPS_REMEMBERED",
    "OPS_SLACK",
    "PARTICIPANT_PHASES",
    "PHASE_ORDER",
    "PROJECTOR_THEMES",
    "CommandRefused",
    "FollowUp",
    "HostSetting",
    "MeetingPart",
    "MeetingSettings",
    "ModerationMode",
    "Participant",
    "Phase",
    "Statement",
    "StatementState",
    "clean_text",
    "hash_secret",
    "normalize_text",
]

HOST = "host"
"""The actor name of the host in op-id bookkeeping and the moderation log."""

OPS_REMEMBERED = 256
"""Op ids remembered per actor for idempotency. A phone only resends what was not acknowledged (its offline
queue, a few dozen votes at most); 256 keeps that safe while bounding memory per participant (a 1,000-phone
meeting's soak grew ~3 MB/min with 2,048). Each remembered op holds its op string and what its event left to
remember (:meth:`facilitation.core.events.Event.remembered`): for a vote a memo shared by every identical vote,
~90 bytes an op in all (tests/core/test_op_memory.py), 23 MB for 1,000 phones with full memories."""

OPS_SLACK = 64
"""Ops an actor's memory may hold beyond :data:`OPS_REMEMBERED` before the oldest are dropped, all at once, by
rebuilding it. Why not one at a time: a dict whose oldest entry is deleted at every insert fills with deleted
slots and is resized to twice its table (a dict of 256 ops from ~9 to ~18 KB), so each phone's memory grew
once more after it was full: ~13 MB at 1,000 phones, the soak's growth after its op memories filled. A
rebuilt dict of 256 has room for 64 more without a resize."""

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

PROJECTOR_THEMES = ("dark", "light")
"""The projector's looks: ``dark`` (default) for a dimmed room, ``light`` for a bright one, where a projector's
dark picture turns grey and pale colours wash out first (docs/projector.md)."""

def normalize_text(text: str) -> str:
    """NFC-normalise and collapse whitespace (:func:`facilitation.core.text.collapse`)."""
    return collapse(text)


def clean_text(text: str) -> str:
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
    privacy: dict[str, str] = field(default_factory=dict)
    """The privacy notice phones show before joining (:mod:`facilitation.core.privacy`); fixed at creation."""
    require_consent: bool = False
    """Phones must tick the notice's consent box to join (a declining phone sends nothing)."""
    retention_days: int = 0
    """Days the meeting is kept after it ends, then ``facilitation purge`` deletes it (0: until deleted)."""
    projector_theme: str = "dark"
    """How the projector looks (:data:`PROJECTOR_THEMES`); the host switches it live."""
    live_results: bool = False
    questions: tuple[str, ...] = ()
    """The agenda's questions after the topic, as created (e.g. the ORID prompts); each becomes a
    ``question_added`` event at creation (facilitation/core/commands/agenda.py)."""
    """Phones see the results summary while collecting and voting (the meeting's initial ``results_visible``;
    the host switches it live). Off by default: live results invite voting with the crowd. Phones see the
    results once reviewing starts either way. A meeting stored before this field existed had it on."""

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
        if self.projector_theme not in PROJECTOR_THEMES:
            raise CommandRefused("invalid_settings", f"projector_theme must be one of {', '.join(PROJECTOR_THEMES)}")
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
        if len(self.questions) > 19 or any(not is_visible(q) or len(q) > self.MAX_TOPIC or has_forbidden(q)
                                           for q in self.questions):
            raise CommandRefused("invalid_settings",
                                 f"up to 19 questions after the topic, of 1-{self.MAX_TOPIC} characters")
        problem = notice_problem(self.privacy, self.require_consent, self.retention_days)
        if problem:
            raise CommandRefused("invalid_settings", problem)

    @property
    def notice_version(self) -> str:
        """The version of the notice in force ("" without one): what each join records."""
        return notice_version(self.privacy, self.require_consent)

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
            "privacy": dict(self.privacy),
            "require_consent": self.require_consent,
            "retention_days": self.retention_days,
            "projector_theme": self.projector_theme,
            "live_results": self.live_results,
            "questions": list(self.questions),
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
                privacy={str(k): str(v) for k, v in dict(data.get("privacy") or {}).items()},
                require_consent=bool(data.get("require_consent", False)),
                retention_days=int(data.get("retention_days", 0)),
                projector_theme=str(data.get("projector_theme", "dark")),
                live_results=bool(data.get("live_results", True)),  # stored before the field: it was on
                questions=tuple(str(q) for q in data.get("questions", ())),
            )
        except (KeyError, ValueError, TypeError) as exc:
            raise CommandRefused("invalid_settings", f"invalid meeting settings: {exc}") from exc



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



PARTICIPANT_PHASES = {
    "post": (Phase.COLLECTING,),
    "vote": (Phase.COLLECTING, Phase.VOTING),
}


@dataclass(frozen=True, slots=True)
class HostSetting:
    """A setting the host may change while the meeting runs (the ``settings`` command), declared once: the
    wire check (facilitation/core/registry.py), the meeting's own check and the fold of ``settings_changed``
    all follow from this."""

    name: str
    kind: type[bool] | type[str]
    on: Literal["meeting", "settings"]
    """Where the value lives: an attribute of the meeting itself, or a field of its :class:`MeetingSettings`."""
    max_chars: int = 0
    multiline: bool = False
    choices: tuple[str, ...] = ()
    """The values a word-valued setting may take (its wire check is then a choice, not free text)."""

    def check(self, value: Any) -> Any:
        """The meeting's own check (the wire checked already; this holds for every other caller)."""
        if self.kind is bool:
            if not isinstance(value, bool):
                raise CommandRefused("invalid_settings", f"{self.name} must be true or false")
        elif not isinstance(value, str):
            raise CommandRefused("invalid_settings", f"{self.name} must be text")
        elif self.choices and value not in self.choices:
            raise CommandRefused("invalid_settings", f"{self.name} must be one of {', '.join(self.choices)}")
        return value

    def fold(self, meeting: Meeting, value: Any) -> None:
        if self.on == "meeting":
            setattr(meeting, self.name, bool(value))
        else:
            meeting.settings = MeetingSettings.from_dict({**meeting.settings.to_dict(), self.name: value})


HOST_SETTINGS: dict[str, HostSetting] = {
    setting.name: setting
    for setting in (
        HostSetting("results_visible", bool, "meeting"),
        HostSetting("analysis_paused", bool, "meeting"),
        HostSetting("title", str, "settings", MeetingSettings.MAX_TITLE),
        HostSetting("topic", str, "settings", MeetingSettings.MAX_TOPIC),
        HostSetting("description", str, "settings", MeetingSettings.MAX_DESCRIPTION, multiline=True),
        HostSetting("projector_theme", str, "settings", choices=PROJECTOR_THEMES),
    )
}
"""The settings a host may change while the meeting runs, by name."""


class MeetingPart(Protocol):
    """A feature's own state inside a meeting (say, what the spotlight shows), declared with its commands
    (``CommandSpec.state``) instead of as new attributes of :class:`~facilitation.core.meeting.Meeting`.
    Made empty with the meeting, changed only by its events' :meth:`~facilitation.core.events.Event.evolve`,
    shown to every client in the meeting's public state under :attr:`key`."""

    key: ClassVar[str]

    def __init__(self) -> None: ...

    def public(self) -> Any:
        """What every client may see of it (JSON-ready)."""
