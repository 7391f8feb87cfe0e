"""After the meeting, the host records an agency's answer to a statement: ``follow_up`` (also over HTTP)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from facilitation.core.command import HOSTS, Command, CommandSpec
from facilitation.core.events import Event, Fingerprint, FollowUpSet
from facilitation.core.fields import WORD, Field, int_field, text_field
from facilitation.core.state import FOLLOW_UP_STATUSES, MAX_RESPONSE_CHARS, CommandRefused
from facilitation.core.text import has_forbidden

if TYPE_CHECKING:
    from facilitation.core.meeting import Meeting

__all__ = ["FOLLOW_UP", "SetFollowUp"]


@dataclass(frozen=True, slots=True)
class SetFollowUp(Command):
    """After the meeting the host records an agency's answer to a statement; allowed in every phase,
    closed included, because the answers arrive weeks later. The latest one per statement counts."""

    statement: int
    status: str
    """``adopted``, ``under_study`` or ``not_adopted``."""
    response: str = ""
    op: str = ""

    def fingerprint(self) -> Fingerprint:
        return ("follow_up", self.statement, self.status, self.response.strip())


def set_follow_up(meeting: Meeting, command: SetFollowUp, now: float) -> list[Event]:
    if command.statement not in meeting.statements:
        raise CommandRefused("unknown_statement", f"no statement {command.statement}", status=404)
    if command.status not in FOLLOW_UP_STATUSES:
        raise CommandRefused("invalid_status", f"status must be one of {', '.join(FOLLOW_UP_STATUSES)}")
    response = command.response.strip()
    if has_forbidden(response):
        raise CommandRefused("invalid_field", "the response contains a control or bidi character")
    if len(response) > MAX_RESPONSE_CHARS:
        raise CommandRefused("too_long", f"a response has at most {MAX_RESPONSE_CHARS} characters")
    return [FollowUpSet(meeting.next_seq(), now, command.statement, command.status, response, command.op)]


FOLLOW_UP = CommandSpec(
    "follow_up", HOSTS,
    (Field("statement", int_field, required=True), Field("status", WORD, required=True),
     Field("response", text_field(MAX_RESPONSE_CHARS, multiline=True))),
    command=SetFollowUp, handler=set_follow_up, events=(FollowUpSet,),
)
