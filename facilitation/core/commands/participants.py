"""Joining a meeting and changing one's profile: the ``hello`` that makes a participant, and ``profile``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from facilitation.core.command import NOBODY, PARTICIPANTS, Command, CommandSpec, participant_of
from facilitation.core.events import Event, Fingerprint, ParticipantJoined, ProfileChanged
from facilitation.core.fields import Field, bool_field, choice_field, int_field, secret_field, text_field
from facilitation.core.state import (
    MAX_NICKNAME_CHARS,
    MAX_PARTICIPANTS,
    MAX_ROLE_CHARS,
    CommandRefused,
    Phase,
    clean_text,
    normalize_text,
)

if TYPE_CHECKING:
    from facilitation.core.meeting import Meeting

__all__ = ["HELLO", "PROFILE", "Join", "SetProfile"]


@dataclass(frozen=True, slots=True)
class Join(Command):
    """A participant arrives. ``token_hash`` is the hash of the token kept in their browser."""

    token_hash: str
    nickname: str = ""
    role: str = ""
    op: str = ""
    consent: bool = False
    """The phone's holder ticked the privacy notice's consent box."""

    def fingerprint(self) -> Fingerprint:
        return ()

    def unchanged(self, meeting: Meeting) -> dict[str, Any]:
        return {"participant": meeting.by_token[self.token_hash], "new": False}


@dataclass(frozen=True, slots=True)
class SetProfile(Command):
    participant: int
    nickname: str = ""
    role: str = ""
    op: str = ""

    def actor(self) -> str:
        return str(self.participant)

    def fingerprint(self) -> Fingerprint:
        return ("profile", normalize_text(self.nickname), self.role)


def check_profile(meeting: Meeting, nickname: str, role: str) -> tuple[str, str]:
    nickname = clean_text(nickname)
    if len(nickname) > MAX_NICKNAME_CHARS:
        raise CommandRefused("too_long", f"a nickname has at most {MAX_NICKNAME_CHARS} characters")
    if role and role not in meeting.settings.roles:
        raise CommandRefused("unknown_role", f"unknown stakeholder role {role!r}")
    return nickname, role


def join(meeting: Meeting, command: Join, now: float) -> list[Event]:
    """A new participant, or nothing for a returning token (its result: :meth:`Join.unchanged`)."""
    if command.token_hash in meeting.by_token:
        return []
    if meeting.phase is Phase.CLOSED:
        raise CommandRefused("phase_forbids", "the meeting is closed: new participants cannot join")
    if len(meeting.participants) >= MAX_PARTICIPANTS:
        raise CommandRefused("meeting_full", f"this meeting has its maximum of {MAX_PARTICIPANTS} participants",
                             status=409)
    if meeting.settings.require_consent and not command.consent:
        # before anything is stored: a phone that declines leaves no trace (PDPA §15, §19: consent)
        raise CommandRefused("consent_required", "this meeting asks for consent to its privacy notice before "
                                                 "joining: send consent: true once the person agreed", status=403)
    nickname, role = check_profile(meeting, command.nickname, command.role)
    pid = len(meeting.participants)
    return [ParticipantJoined(meeting.next_seq(), now, pid, command.token_hash, nickname, role,
                              meeting.settings.notice_version, command.consent)]


def set_profile(meeting: Meeting, command: SetProfile, now: float) -> list[Event]:
    meeting.require_participant(command.participant)
    nickname, role = check_profile(meeting, command.nickname, command.role)
    return [ProfileChanged(meeting.next_seq(), now, command.participant, nickname, role, command.op)]


NICKNAME = Field("nickname", text_field(MAX_NICKNAME_CHARS))
STAKEHOLDER = Field("stakeholder", text_field(MAX_ROLE_CHARS))

HELLO = CommandSpec(
    "hello", NOBODY, (
        Field("role", choice_field(("participant", "host", "projector")), required=True),
        Field("since", int_field),
        Field("token", secret_field),
        Field("host_key", secret_field),
        NICKNAME,
        STAKEHOLDER,
        Field("consent", bool_field),
    ), needs_op=False, command=Join, handler=join, events=(ParticipantJoined,),
)
"""The first frame of every connection; a participant's hello is applied as a :class:`Join` (built by the
session, which hashes the token)."""

PROFILE = CommandSpec(
    "profile", PARTICIPANTS, (NICKNAME, STAKEHOLDER), command=SetProfile, handler=set_profile,
    events=(ProfileChanged,),
    build=lambda a: SetProfile(participant_of(a), a.fields.get("nickname", ""), a.fields.get("stakeholder", ""),
                               a.op),
)
