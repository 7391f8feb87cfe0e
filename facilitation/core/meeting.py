"""The meeting: a pure, synchronous state machine.

A meeting is event-sourced. :meth:`Meeting.apply` takes a command, checks it against the current state
and phase through the command's handler, and returns the events it causes (already folded into the state).
The same events, read back from the store, rebuild the meeting with :meth:`Meeting.replay` after a restart.
Nothing here touches a socket, a clock or a random source: the adapters pass ``now`` and generated tokens
in, which keeps the core testable without a server and identical on every worker.

This module knows no particular command or event: each command's checks are its handler's
(:mod:`facilitation.core.commands`), each event's effect is its :meth:`~facilitation.core.events.Event.evolve`.
What stays here is what every command shares: the op memory that makes a resent command harmless, the
dispatch through :data:`facilitation.core.commands.HANDLERS`, and the queries handlers and views read.

Refusals raise :class:`CommandRefused` with a stable code and a message that names the phase or the
offending value; the state is left untouched.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from typing import Any, TypeVar

from facilitation.core.command import Command
from facilitation.core.commands import HANDLERS, PARTS
from facilitation.core.commands.agenda import AddQuestion
from facilitation.core.commands.follow_ups import SetFollowUp
from facilitation.core.commands.host_settings import UpdateSettings
from facilitation.core.commands.participants import Join, SetProfile
from facilitation.core.commands.phases import SetPhase
from facilitation.core.commands.statements import Moderate, PostStatement, Vote
from facilitation.core.erasure import Erasures, refusal
from facilitation.core.events import Event, MeetingCreated, Remembered
from facilitation.core.state import (
    HOST,
    LANGUAGES,
    MAX_NICKNAME_CHARS,
    MAX_PARTICIPANTS,
    MAX_REASON_CHARS,
    MAX_RESPONSE_CHARS,
    MAX_ROLE_CHARS,
    MAX_ROLES,
    MAX_STATEMENT_CHARS,
    MAX_STATEMENTS,
    OPS_REMEMBERED,
    OPS_SLACK,
    PARTICIPANT_PHASES,
    CommandRefused,
    FollowUp,
    MeetingPart,
    MeetingSettings,
    ModerationMode,
    Participant,
    Phase,
    Statement,
    StatementState,
    hash_secret,
    normalize_text,
)

__all__ = [
    "HOST",
    "LANGUAGES",
    "MAX_NICKNAME_CHARS",
    "MAX_PARTICIPANTS",
    "MAX_REASON_CHARS",
    "MAX_RESPONSE_CHARS",
    "MAX_ROLES",
    "MAX_ROLE_CHARS",
    "MAX_STATEMENTS",
    "MAX_STATEMENT_CHARS",
    "Applied",
    "Command",
    "CommandRefused",
    "FollowUp",
    "Join",
    "Meeting",
    "MeetingSettings",
    "Moderate",
    "ModerationMode",
    "Participant",
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
"""The commands and state types are defined in :mod:`facilitation.core.commands` and
:mod:`facilitation.core.state`; they are importable from here too, as before the split."""

P = TypeVar("P", bound=MeetingPart)
_OPS_AT_MOST = OPS_REMEMBERED + OPS_SLACK


@dataclass(slots=True)
class Applied:
    """What :meth:`Meeting.apply` did: the new events and the result the client is acked with."""

    events: list[Event]
    result: dict[str, Any]
    duplicate: bool = False


class Meeting:
    """One meeting's state, rebuilt from its events and advanced by commands."""

    def __init__(self, created: MeetingCreated) -> None:
        self.code = created.code
        self.settings = MeetingSettings.from_dict(created.settings)
        self.host_key_hash = created.host_key_hash
        self.created_at = created.at
        self.phase = Phase.LOBBY
        self.results_visible = self.settings.live_results
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
        self.ops: dict[str, dict[str, Remembered]] = {}
        """actor -> op id -> what the op's first event left to remember (:meth:`Event.remembered`: the event
        itself, or for a vote a memo shared by every op that cast the same vote), recorded once, in
        :meth:`evolve`, oldest first. What the command asked and its result are rebuilt from it when the op
        comes again (rarely). A plain dict, not an OrderedDict: insertion order is all the eviction needs,
        and the OrderedDict's links cost ~60 bytes an op. Between OPS_REMEMBERED and OPS_REMEMBERED + OPS_SLACK
        ops an actor (see :data:`~facilitation.core.state.OPS_SLACK`)."""
        self.closed_at: float | None = None
        self.parts: dict[type[MeetingPart], MeetingPart] = {cls: cls() for cls in PARTS}
        """Each feature's own state (``CommandSpec.state``), by class: see :meth:`part`."""
        self.vote_listeners: list[Callable[[Any], None]] = [
            part.on_vote for part in self.parts.values() if hasattr(part, "on_vote")]
        """Each feature state's ``on_vote(vote)``, called by every vote as it folds (live and on replay): how a
        feature follows votes without an event of its own (rounds, :mod:`facilitation.core.commands.rounds`)."""

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
        for i, text in enumerate(settings.questions):  # the agenda after the topic (e.g. ORID's prompts)
            events += meeting.apply(AddQuestion(text, op=f"question-{i}"), now).events
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

    def part(self, cls: type[P]) -> P:
        """The meeting's state of one feature (made empty if the feature was declared after the meeting)."""
        found = self.parts.get(cls)
        if found is None:
            found = self.parts[cls] = cls()
        return found  # type: ignore[return-value]

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
            **{part.key: part.public() for part in self.parts.values()},
        }

    # ------------------------------------------------------------ commands

    def apply(self, command: Command, now: float) -> Applied:
        """Check ``command``, fold the events it causes into the state and return them.

        Raises :class:`CommandRefused` without changing anything when the command is illegal.
        A command whose op id was already applied returns the first result again with no events; an op id
        reused for a different command (another type or payload) is refused with ``op_conflict``.
        """
        op = command.op
        if op:
            memory = self.ops.get(command.actor())
            first = None if memory is None else memory.get(op)
            if first is not None:
                if first.fingerprint() != command.fingerprint():
                    raise CommandRefused(
                        "op_conflict",
                        f"op {op!r} was already used for a different command; use a new op id",
                        status=409,
                    )
                return Applied([], first.result(), duplicate=True)
        if self.parts.get(Erasures) is not None:  # rare: after an erasure, nothing of it may come back
            refused = refusal(self, command)
            if refused is not None:
                raise refused
        handler = HANDLERS.get(type(command))
        if handler is None:
            raise CommandRefused("unknown_command", f"unknown command {type(command).__name__}")
        events = handler(self, command, now)
        if not events:  # e.g. a returning participant: nothing happens
            return Applied([], command.unchanged(self))
        for event in events:
            self.evolve(event)
        return Applied(events, events[0].result())

    # ------------------------------------------------------------ what handlers use

    def next_seq(self) -> int:
        """The sequence number of the next event (a handler's second event takes the one after)."""
        return self.seq + 1

    def require_participant(self, participant: int) -> None:
        if participant not in self.participants:
            raise CommandRefused("unknown_participant", f"no participant {participant}", status=404)

    def require_phase(self, action: str) -> None:
        """Refuse a participant's ``action`` (``post``, ``vote``) outside the phases that allow it."""
        allowed = PARTICIPANT_PHASES[action]
        if self.phase not in allowed:
            names = " or ".join(p.value for p in allowed)
            raise CommandRefused(
                "phase_forbids",
                f"cannot {action} in phase {self.phase.value!r} (only during {names})",
                status=409,
            )

    # ------------------------------------------------------------ evolution

    def evolve(self, event: Event) -> None:
        """Fold one event into the state (events are facts: this never refuses), and remember the op of the
        command that caused it, live and on replay alike (an author's implicit agree or a server-made change
        has none)."""
        self.seq = event.seq
        event.evolve(self)
        op: str = getattr(event, "op", "")
        if op:
            actor = event.actor()
            seen = self.ops.get(actor)
            if seen is None:
                seen = self.ops[actor] = {}
            seen[op] = event.remembered()
            if len(seen) > _OPS_AT_MOST:  # the oldest go, the newest OPS_REMEMBERED stay
                self.ops[actor] = dict(islice(seen.items(), len(seen) - OPS_REMEMBERED, None))

    def statements_changed(self) -> None:
        """A statement was posted or moderated: the cached list of accepted statements is out of date."""
        self._accepted = None
