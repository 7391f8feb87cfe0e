"""Meeting events: the facts a meeting's log is made of.

Every event has a per-meeting sequence number ``seq`` (1, 2, 3, ... with no gaps) and a time ``at``
(seconds since the epoch). Events are stored as JSON (:meth:`to_dict` / :func:`event_from_dict`) and
sent to clients through :meth:`public`, which drops what only the server may know (token and key hashes).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, ClassVar

__all__ = [
    "AnalysisPublished",
    "Event",
    "FollowUpSet",
    "MeetingCreated",
    "ParticipantJoined",
    "PhaseChanged",
    "ProfileChanged",
    "SettingsChanged",
    "StatementModerated",
    "StatementPosted",
    "VoteCast",
    "event_from_dict",
]

_PRIVATE_FIELDS = frozenset({"token_hash", "host_key_hash"})


_FIELD_NAMES: dict[str, tuple[str, ...]] = {}


def _field_names(cls: type[Event]) -> tuple[str, ...]:
    names = _FIELD_NAMES.get(cls.type)
    if names is None:
        names = _FIELD_NAMES[cls.type] = tuple(f.name for f in fields(cls))
    return names


@dataclass(frozen=True, slots=True)
class Event:
    seq: int
    at: float

    type: ClassVar[str] = "event"

    def to_dict(self) -> dict[str, Any]:
        # Not dataclasses.asdict: it deep-copies every value and was a visible share of a vote's cost.
        data = {name: getattr(self, name) for name in _field_names(type(self))}
        data["type"] = self.type
        return data

    def public(self) -> dict[str, Any]:
        """The event as any client may see it."""
        data = self.to_dict()
        for name in _PRIVATE_FIELDS:
            data.pop(name, None)
        return data


@dataclass(frozen=True, slots=True)
class MeetingCreated(Event):
    code: str
    settings: dict[str, Any]
    host_key_hash: str

    type: ClassVar[str] = "meeting_created"


@dataclass(frozen=True, slots=True)
class ParticipantJoined(Event):
    participant: int
    token_hash: str
    nickname: str
    role: str

    type: ClassVar[str] = "participant_joined"


@dataclass(frozen=True, slots=True)
class ProfileChanged(Event):
    participant: int
    nickname: str
    role: str
    op: str = ""

    type: ClassVar[str] = "profile_changed"


@dataclass(frozen=True, slots=True)
class StatementPosted(Event):
    statement: int
    text: str
    author: int | None
    seed: bool
    state: str
    op: str

    type: ClassVar[str] = "statement_posted"


@dataclass(frozen=True, slots=True)
class VoteCast(Event):
    participant: int
    statement: int
    value: str
    op: str
    previous: str = ""
    """The vote this one replaces ("" for a first vote), so a live tally can move a vote without history."""

    type: ClassVar[str] = "vote"


@dataclass(frozen=True, slots=True)
class StatementModerated(Event):
    statement: int
    action: str
    state: str
    reason: str
    previous: str
    op: str = ""
    """The host's op id: replay rebuilds the idempotency memory, so a resent command is not applied twice."""

    type: ClassVar[str] = "statement_moderated"

    def log_entry(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "at": self.at,
            "action": self.action,
            "statement": self.statement,
            "reason": self.reason,
        }


@dataclass(frozen=True, slots=True)
class PhaseChanged(Event):
    from_phase: str
    to_phase: str
    op: str = ""

    type: ClassVar[str] = "phase_changed"

    def log_entry(self) -> dict[str, Any]:
        return {"seq": self.seq, "at": self.at, "action": "phase", "from": self.from_phase, "to": self.to_phase}


@dataclass(frozen=True, slots=True)
class SettingsChanged(Event):
    changes: dict[str, Any]
    op: str = ""

    type: ClassVar[str] = "settings_changed"

    def log_entry(self) -> dict[str, Any]:
        return {"seq": self.seq, "at": self.at, "action": "settings", "changes": self.changes}


@dataclass(frozen=True, slots=True)
class AnalysisPublished(Event):
    """A live analysis was published; its full result is stored beside the log under ``run``."""

    run: int
    upto_seq: int

    type: ClassVar[str] = "analysis_published"


@dataclass(frozen=True, slots=True)
class FollowUpSet(Event):
    """After the meeting, the host records an agency's response to one statement."""

    statement: int
    status: str
    response: str
    op: str = ""

    type: ClassVar[str] = "follow_up"


_TYPES: dict[str, type[Event]] = {
    cls.type: cls
    for cls in (
        MeetingCreated,
        ParticipantJoined,
        ProfileChanged,
        StatementPosted,
        VoteCast,
        StatementModerated,
        PhaseChanged,
        SettingsChanged,
        AnalysisPublished,
        FollowUpSet,
    )
}


def event_from_dict(data: dict[str, Any]) -> Event:
    """Rebuild an event from its stored JSON form."""
    cls = _TYPES[data["type"]]
    names = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in data.items() if k in names})
