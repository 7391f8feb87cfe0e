"""Meeting events: the facts a meeting's log is made of, each declaring everything about itself.

Every event has a per-meeting sequence number ``seq`` (1, 2, 3, ... with no gaps) and a time ``at``
(seconds since the epoch). Events are stored as JSON (:meth:`Event.to_dict`, read back by
:func:`facilitation.core.codec.event_from_dict`) and sent to clients through :meth:`Event.public`, which
drops what only the server may know (token and key hashes).

One class says all there is to say about one kind of fact, so a new event is one class (in its feature's
module, :mod:`facilitation.core.commands`):

- :meth:`Event.evolve`: how it changes the meeting (live and on replay alike; never refuses);
- :meth:`Event.result`: the ack ``result`` of the command it answers, and :meth:`Event.fingerprint`, what
  that command asked (an op reused for something else is a conflict);
- :attr:`Event.audience`: which message each kind of client receives for it (the rows of docs/protocol.md's
  event table, held against it by tests/core/test_protocol_doc.py); :meth:`Event.phones` and
  :meth:`Event.view` follow from it and are overridden only where a view depends on the event's content.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, fields
from functools import lru_cache
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol

from facilitation.core.frozen import quick_init
from facilitation.core.state import (
    HOST,
    HOST_SETTINGS,
    MAX_STATEMENTS,
    FollowUp,
    Participant,
    Phase,
    Statement,
    StatementState,
)
from facilitation.core.text import dedup_key
from facilitation.core.vocabulary import SCALES

if TYPE_CHECKING:
    from facilitation.core.meeting import Meeting

__all__ = [
    "ALL",
    "AUTHOR",
    "CORE_EVENTS",
    "OWN",
    "AnalysisPublished",
    "Audience",
    "Event",
    "Fingerprint",
    "FollowUpSet",
    "MeetingCreated",
    "ParticipantJoined",
    "PhaseChanged",
    "Phones",
    "ProfileChanged",
    "Remembered",
    "SettingsChanged",
    "StatementModerated",
    "StatementPosted",
    "VoteCast",
    "VoteMemo",
    "canonical",
]

_PRIVATE_FIELDS = frozenset({"token_hash", "host_key_hash"})

Fingerprint = tuple[Any, ...]
"""What a command asked for, in the form its event records it: an op reused with another fingerprint is a
conflict, with the same one a harmless resend."""

ALL = "all"
"""Audience: every client of that kind."""
OWN = "own"
"""Audience (phones): the devices of the participant the event is about (its ``participant`` field)."""
AUTHOR = "author"
"""Audience (phones): the devices of the statement's author (its ``author`` field)."""

Phones = Literal["all"] | int | None
"""Which phones an event goes to: every phone, one participant's phones (the id), or none."""


class Remembered(Protocol):
    """What the op memory keeps of an op's first event: enough to tell a resend from a conflict and to ack the
    resend with the first result (:meth:`Event.remembered`)."""

    def fingerprint(self) -> Fingerprint: ...

    def result(self) -> dict[str, Any]: ...


@dataclass(frozen=True, slots=True)
class Audience:
    """One message a client may receive for an event: its ``type`` and who receives it, per kind of client
    (``ALL``, ``OWN``, ``AUTHOR`` or "" for nobody). One row of docs/protocol.md's event table."""

    view: str
    phone: str = ""
    projector: str = ""
    host: str = ""


_PHONE_MODE: dict[type[Any], str] = {}


_DICT_MAKERS: dict[type[Any], Callable[[Any], dict[str, Any]]] = {}


def _dict_maker(cls: type[Event]) -> Callable[[Any], dict[str, Any]]:
    """``cls``'s ``to_dict``, made for its fields: one dict display, ``{"seq": self.seq, ..., "type": ...}``.

    Why generated: it runs for every event stored and sent (twice per vote), and a comprehension over the
    field names with ``getattr`` cost several times a literal's attribute loads (not dataclasses.asdict
    either: it deep-copies every value). A subclass that inherits it makes its own on its first call."""
    maker = _DICT_MAKERS.get(cls)
    if maker is not None:
        return maker
    names = [f.name for f in fields(cls)]  # the class's own (a subclass may keep its parent's type)
    items = "".join(f"{name!r}: self.{name}, " for name in names)
    source = (f"def to_dict(self):\n"
              f"    if type(self) is not cls:\n"
              f"        return base(self)\n"
              f"    return {{{items}'type': {cls.type!r}}}\n")
    scope: dict[str, Any] = {"cls": cls, "base": Event.to_dict}
    exec(source, scope)  # the source is made of the dataclass's own field names, nothing else
    made: Callable[[Any], dict[str, Any]] = scope["to_dict"]
    maker = _DICT_MAKERS[cls] = made
    maker.__qualname__ = f"{cls.__name__}.to_dict"
    maker.__doc__ = Event.to_dict.__doc__
    return maker


def _phone_mode(cls: type[Event]) -> str:
    """How the default :meth:`Event.phones` picks phones for ``cls``: the widest phone audience declared."""
    mode = _PHONE_MODE.get(cls)
    if mode is None:
        modes = {row.phone for row in cls.audience}
        mode = _PHONE_MODE[cls] = next((m for m in (ALL, OWN, AUTHOR) if m in modes), "")
    return mode


@dataclass(frozen=True, slots=True)
class Event:
    seq: int
    at: float

    type: ClassVar[str] = "event"
    audience: ClassVar[tuple[Audience, ...]] = ()
    """What each kind of client receives for this event (a host always receives :meth:`public`)."""

    def to_dict(self) -> dict[str, Any]:
        """The stored form: every field, then ``type``. The first call for a class installs that class's own
        :func:`_dict_maker` in its place (this body then runs once per class)."""
        cls = type(self)
        maker = _dict_maker(cls)
        if "to_dict" not in cls.__dict__:  # never over a class's own to_dict (one that calls this one)
            cls.to_dict = maker  # type: ignore[method-assign,assignment]
        data: dict[str, Any] = maker(self)
        return data

    def public(self) -> dict[str, Any]:
        """The event as any client may see it."""
        data = self.to_dict()
        for name in _PRIVATE_FIELDS:
            data.pop(name, None)
        return data

    # ------------------------------------------------------------ the meeting

    def evolve(self, meeting: Meeting) -> None:
        """Fold this event into ``meeting`` (events owned by other layers, like an analysis, change nothing)."""

    def actor(self) -> str:
        """Whose op memory the command behind this event is kept in: the host's, or a participant's id."""
        return HOST

    def fingerprint(self) -> Fingerprint:
        """What the command behind this event asked, as :meth:`Command.fingerprint` computes it."""
        return ()

    def result(self) -> dict[str, Any]:
        """The ack ``result`` of the command whose first event this is (live, and for a resent op)."""
        return {}

    def remembered(self) -> Remembered:
        """What the op memory keeps for this event's op: the event itself (a reference; overridden by events
        so frequent that keeping each one alive for the op memory's sake would be most of a long meeting's
        memory, see :class:`VoteMemo`)."""
        return self

    # ------------------------------------------------------------ who sees it

    def phones(self) -> Phones:
        """The phones this event goes to (a hot path: overridden where it is one attribute)."""
        mode = _phone_mode(type(self))
        if mode == ALL:
            return "all"
        if mode == OWN:
            return getattr(self, "participant", None)
        if mode == AUTHOR:
            return getattr(self, "author", None)
        return None

    def view(self, role: str, participant: int | None, meeting: Meeting) -> dict[str, Any] | None:
        """The event as a projector or a phone (``participant``) sees it; None when it does not concern them.
        By default: :meth:`public` to whoever the row of :attr:`audience` named like the event admits."""
        for row in self.audience:
            if row.view != self.type:
                continue
            mode = row.projector if role == "projector" else row.phone
            if mode == ALL:
                return self.public()
            if mode == OWN and participant is not None and getattr(self, "participant", None) == participant:
                return self.public()
            if mode == AUTHOR and participant is not None and getattr(self, "author", None) == participant:
                return self.public()
        return None


def canonical(changes: dict[str, Any]) -> str:
    """A settings change as one comparable text (key order does not make two changes different)."""
    return json.dumps(changes, sort_keys=True, ensure_ascii=False)


def _participant_actor(participant: int | None) -> str:
    return HOST if participant is None else str(participant)


@dataclass(frozen=True, slots=True)
class MeetingCreated(Event):
    code: str
    settings: dict[str, Any]
    host_key_hash: str

    type: ClassVar[str] = "meeting_created"
    # never broadcast (nobody is connected yet); replayed to whoever resumes from ``since: 0``
    audience: ClassVar[tuple[Audience, ...]] = (Audience("meeting_created", phone=ALL, projector=ALL, host=ALL),)


@dataclass(frozen=True, slots=True)
class ParticipantJoined(Event):
    participant: int
    token_hash: str
    nickname: str
    role: str
    notice: str = ""
    """The version of the privacy notice the phone showed (:func:`facilitation.core.privacy.notice_version`)."""
    consented: bool = False
    """Whether its holder ticked the notice's consent box."""

    type: ClassVar[str] = "participant_joined"
    audience: ClassVar[tuple[Audience, ...]] = (Audience("participant_joined", phone=OWN, projector=ALL, host=ALL),)

    def evolve(self, meeting: Meeting) -> None:
        meeting.participants[self.participant] = Participant(self.participant, self.nickname, self.role, self.at)
        meeting.by_token[self.token_hash] = self.participant

    def result(self) -> dict[str, Any]:
        return {"participant": self.participant, "new": True}

    def phones(self) -> Phones:
        return self.participant

    def view(self, role: str, participant: int | None, meeting: Meeting) -> dict[str, Any] | None:
        if role == "projector":
            return {"type": "participant_joined", "participant": self.participant, "role": self.role}
        return self.public() if participant == self.participant else None


@dataclass(frozen=True, slots=True)
class ProfileChanged(Event):
    participant: int
    nickname: str
    role: str
    op: str = ""

    type: ClassVar[str] = "profile_changed"
    audience: ClassVar[tuple[Audience, ...]] = (Audience("profile_changed", phone=OWN, host=ALL),)

    def evolve(self, meeting: Meeting) -> None:
        p = meeting.participants[self.participant]
        p.nickname, p.role = self.nickname, self.role

    def actor(self) -> str:
        return str(self.participant)

    def fingerprint(self) -> Fingerprint:
        return ("profile", self.nickname, self.role)

    def result(self) -> dict[str, Any]:
        return {"participant": self.participant}

    def phones(self) -> Phones:
        return self.participant


@dataclass(frozen=True, slots=True)
class StatementPosted(Event):
    statement: int
    text: str
    author: int | None
    seed: bool
    state: str
    op: str

    type: ClassVar[str] = "statement_posted"
    audience: ClassVar[tuple[Audience, ...]] = (
        Audience("statement", phone=ALL, projector=ALL),
        Audience("statement_posted", host=ALL),
        Audience("my_statement", phone=AUTHOR),
    )

    def evolve(self, meeting: Meeting) -> None:
        state = StatementState(self.state)
        meeting.statements[self.statement] = Statement(
            self.statement, self.text, self.author, self.seed, state, self.at
        )
        meeting.texts[dedup_key(self.text)] = self.statement
        meeting.statements_changed()
        if state is StatementState.ACCEPTED:
            meeting.accepted_count += 1

    def actor(self) -> str:
        return _participant_actor(self.author)

    def fingerprint(self) -> Fingerprint:
        return ("post", self.text)

    def result(self) -> dict[str, Any]:
        return {"statement": self.statement, "state": self.state}

    def phones(self) -> Phones:
        # a pending statement reaches only its author (nobody for a host's seed, which is never pending)
        return "all" if self.state == StatementState.ACCEPTED.value else self.author

    def view(self, role: str, participant: int | None, meeting: Meeting) -> dict[str, Any] | None:
        if self.state == StatementState.ACCEPTED.value:
            return {"type": "statement", "statement": meeting.statements[self.statement].public()}
        if participant is not None and self.author == participant:
            return {"type": "my_statement", "statement": meeting.statements[self.statement].public()}
        return None


@quick_init  # made once per vote: see facilitation/core/frozen.py
@dataclass(frozen=True, slots=True)
class VoteCast(Event):
    participant: int
    statement: int
    value: str
    op: str
    previous: str = ""
    """The vote this one replaces ("" for a first vote), so a live tally can move a vote without history."""

    type: ClassVar[str] = "vote"
    audience: ClassVar[tuple[Audience, ...]] = (Audience("vote", phone=OWN, projector=ALL, host=ALL),)

    def evolve(self, meeting: Meeting) -> None:
        participant, sid = self.participant, self.statement
        mine = meeting.votes.get(participant)
        if mine is None:
            mine = meeting.votes[participant] = {}
        statement = meeting.statements[sid]
        tally = statement.tally
        previous = mine.get(sid)
        if previous is None:
            meeting.vote_count += 1
            statement.votes += 1
            if statement.state is StatementState.ACCEPTED:
                meeting.voted_accepted[participant] = meeting.voted_accepted.get(participant, 0) + 1
        else:
            tally[previous] -= 1
        value = _VALUES.get(self.value, self.value)
        mine[sid] = value
        tally[value] = tally.get(value, 0) + 1
        for listener in meeting.vote_listeners:  # a feature that follows votes (rounds): usually none
            listener(self)

    def actor(self) -> str:
        return str(self.participant)

    def fingerprint(self) -> Fingerprint:
        return ("vote", self.statement, self.value)

    def result(self) -> dict[str, Any]:
        return {"statement": self.statement, "value": self.value}

    def remembered(self) -> Remembered:
        return _vote_memo(self.statement, self.value)

    def phones(self) -> Phones:
        return self.participant

    def view(self, role: str, participant: int | None, meeting: Meeting) -> dict[str, Any] | None:
        if role == "projector":
            return {"type": "vote", "participant": self.participant, "statement": self.statement,
                    "value": self.value, "previous": self.previous}
        return self.public() if participant == self.participant else None


_VALUES = {value: value for values in SCALES.values() for value in values}
"""Each vote value as one shared string: a value parsed from a frame or read from the store is a new string
each time (~54 bytes), and ``meeting.votes`` holds one per (participant, statement): 270 MB at 10,000 x 500."""


@dataclass(frozen=True, slots=True)
class VoteMemo:
    """A vote as the op memory keeps it: its statement and value, shared by every op that cast the same vote.

    Why: the op memory holds :data:`~facilitation.core.state.OPS_REMEMBERED` ops per phone, and a long meeting
    fills it with votes. Keeping each :class:`VoteCast` alive for it cost ~340 bytes a vote (the event, its
    ``seq`` and ``at``, its value string as parsed from the frame): 87 MB for 1,000 phones, the growth of the
    20-minute soak. A memo is shared (:func:`_vote_memo`), so a remembered vote costs its op string and a dict
    entry."""

    statement: int
    value: str

    def fingerprint(self) -> Fingerprint:
        return ("vote", self.statement, self.value)

    def result(self) -> dict[str, Any]:
        return {"statement": self.statement, "value": self.value}


VOTE_MEMOS = MAX_STATEMENTS * max(len(values) for values in SCALES.values())
"""Memos kept by :func:`_vote_memo`: every (statement, value) of the largest meeting on the widest scale, so a
process's memos are bounded whatever its meetings (a memo evicted is only made again)."""


@lru_cache(maxsize=VOTE_MEMOS)
def _vote_memo(statement: int, value: str) -> VoteMemo:
    return VoteMemo(statement, value)


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
    audience: ClassVar[tuple[Audience, ...]] = (
        Audience("statement_moderated", phone=ALL, projector=ALL, host=ALL),
    )

    def log_entry(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "at": self.at,
            "action": self.action,
            "statement": self.statement,
            "reason": self.reason,
        }

    def evolve(self, meeting: Meeting) -> None:
        statement = meeting.statements[self.statement]
        was_accepted = statement.state is StatementState.ACCEPTED
        statement.state = StatementState(self.state)
        statement.reason = self.reason
        meeting.statements_changed()
        change = (statement.state is StatementState.ACCEPTED) - was_accepted
        meeting.accepted_count += change
        if change:  # rare (moderation): one pass over the voters
            for voter, mine in meeting.votes.items():
                if self.statement in mine:
                    meeting.voted_accepted[voter] = meeting.voted_accepted.get(voter, 0) + change
        meeting.moderation_log.append(self.log_entry())

    def fingerprint(self) -> Fingerprint:
        return ("moderate", self.statement, self.action, self.reason)

    def result(self) -> dict[str, Any]:
        return {"statement": self.statement, "state": self.state}

    def view(self, role: str, participant: int | None, meeting: Meeting) -> dict[str, Any] | None:
        view: dict[str, Any] = {
            "type": "statement_moderated",
            "statement": self.statement,
            "action": self.action,
            "state": self.state,
            "reason": self.reason,
        }
        statement = meeting.statements[self.statement]
        if self.state == StatementState.ACCEPTED.value or (participant is not None and statement.author == participant):
            view["text"] = statement.text
        return view


@dataclass(frozen=True, slots=True)
class PhaseChanged(Event):
    from_phase: str
    to_phase: str
    op: str = ""

    type: ClassVar[str] = "phase_changed"
    audience: ClassVar[tuple[Audience, ...]] = (Audience("phase_changed", phone=ALL, projector=ALL, host=ALL),)

    def log_entry(self) -> dict[str, Any]:
        return {"seq": self.seq, "at": self.at, "action": "phase", "from": self.from_phase, "to": self.to_phase}

    def evolve(self, meeting: Meeting) -> None:
        meeting.phase = Phase(self.to_phase)
        if meeting.phase is Phase.CLOSED:
            meeting.closed_at = self.at
        meeting.moderation_log.append(self.log_entry())

    def fingerprint(self) -> Fingerprint:
        return ("phase", self.to_phase)

    def result(self) -> dict[str, Any]:
        return {"phase": self.to_phase}


@dataclass(frozen=True, slots=True)
class SettingsChanged(Event):
    changes: dict[str, Any]
    op: str = ""

    type: ClassVar[str] = "settings_changed"
    audience: ClassVar[tuple[Audience, ...]] = (
        Audience("settings_changed", phone=ALL, projector=ALL, host=ALL),
    )

    def log_entry(self) -> dict[str, Any]:
        return {"seq": self.seq, "at": self.at, "action": "settings", "changes": self.changes}

    def evolve(self, meeting: Meeting) -> None:
        for key, value in self.changes.items():
            HOST_SETTINGS[key].fold(meeting, value)
        meeting.moderation_log.append(self.log_entry())

    def fingerprint(self) -> Fingerprint:
        return ("settings", canonical(self.changes))

    def result(self) -> dict[str, Any]:
        return {"changed": sorted(self.changes)}


@dataclass(frozen=True, slots=True)
class AnalysisPublished(Event):
    """A live analysis was published; its full result is stored beside the log under ``run``."""

    run: int
    upto_seq: int

    type: ClassVar[str] = "analysis_published"
    # Phones get their own throttled ``analysis`` message instead: one event per run to every phone would
    # cost 2,000 messages a second at 1,000 phones.
    audience: ClassVar[tuple[Audience, ...]] = (Audience("analysis_published", projector=ALL, host=ALL),)


@dataclass(frozen=True, slots=True)
class FollowUpSet(Event):
    """After the meeting, the host records an agency's response to one statement."""

    statement: int
    status: str
    response: str
    op: str = ""

    type: ClassVar[str] = "follow_up"
    audience: ClassVar[tuple[Audience, ...]] = (Audience("follow_up", phone=ALL, projector=ALL, host=ALL),)

    def evolve(self, meeting: Meeting) -> None:
        meeting.follow_ups[self.statement] = FollowUp(self.statement, self.status, self.response, self.at)

    def fingerprint(self) -> Fingerprint:
        return ("follow_up", self.statement, self.status, self.response)

    def result(self) -> dict[str, Any]:
        return {"statement": self.statement, "status": self.status}


CORE_EVENTS: tuple[type[Event], ...] = (MeetingCreated, AnalysisPublished)
"""Events no command declares: a meeting's first, and the server's own (the live analysis)."""
