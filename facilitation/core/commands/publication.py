"""Publishing the meeting's record: the host's ``publish``, an explicit act kept in the log.

The Freedom of Government Information Law (政府資訊公開法) has collegial bodies publish their records, and lets
a draft be withheld until it is decided. Until the host publishes, every record export is marked 草稿
(draft); ``publish`` (once the meeting is closed) records when, in the log and the public moderation log, and
from then on the record carries that date instead of the mark, and the meeting has a public summary page
(``/record/CODE``, no key) that phones link to.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from facilitation.core.command import HOSTS, Command, CommandSpec
from facilitation.core.events import ALL, Audience, Event, Fingerprint
from facilitation.core.state import CommandRefused, Phase

if TYPE_CHECKING:
    from facilitation.core.meeting import Meeting

__all__ = ["PUBLISH", "Publication", "PublishRecord", "RecordPublished"]


@dataclass
class Publication:
    """When the host published the record (None: it is a draft)."""

    key: ClassVar[str] = "publication"
    published_at: float | None = None

    def public(self) -> dict[str, Any]:
        return {"published_at": self.published_at}


@dataclass(frozen=True, slots=True)
class PublishRecord(Command):
    op: str = ""

    def fingerprint(self) -> Fingerprint:
        return ("publish",)


@dataclass(frozen=True, slots=True)
class RecordPublished(Event):
    op: str = ""

    type: ClassVar[str] = "record_published"
    audience: ClassVar[tuple[Audience, ...]] = (
        Audience("record_published", phone=ALL, projector=ALL, host=ALL),
    )

    def log_entry(self) -> dict[str, Any]:
        return {"seq": self.seq, "at": self.at, "action": "publish"}

    def evolve(self, meeting: Meeting) -> None:
        meeting.part(Publication).published_at = self.at
        meeting.moderation_log.append(self.log_entry())

    def fingerprint(self) -> Fingerprint:
        return ("publish",)

    def result(self) -> dict[str, Any]:
        return {"published_at": self.at}


def publish(meeting: Meeting, command: PublishRecord, now: float) -> list[Event]:
    if meeting.phase is not Phase.CLOSED:
        raise CommandRefused("phase_forbids", f"cannot publish the record in phase {meeting.phase.value!r}: "
                                              "move it to 'closed' first", status=409)
    if meeting.part(Publication).published_at is not None:
        raise CommandRefused("no_change", "the record is already published", status=409)
    return [RecordPublished(meeting.next_seq(), now, command.op)]


PUBLISH = CommandSpec("publish", HOSTS, (), command=PublishRecord, handler=publish, events=(RecordPublished,),
                      state=(Publication,))
