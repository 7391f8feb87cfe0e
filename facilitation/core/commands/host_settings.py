"""The host changes a meeting's settings while it runs: ``settings``. Which settings, their checks and how
each is folded are declared once, in :data:`facilitation.core.state.HOST_SETTINGS`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from facilitation.core.command import HOSTS, Command, CommandSpec
from facilitation.core.events import Event, Fingerprint, SettingsChanged, canonical
from facilitation.core.fields import SETTING_CHANGES, Field, changes_field
from facilitation.core.state import HOST_SETTINGS, CommandRefused, MeetingSettings

if TYPE_CHECKING:
    from facilitation.core.meeting import Meeting

__all__ = ["SETTINGS", "UpdateSettings"]


@dataclass(frozen=True, slots=True)
class UpdateSettings(Command):
    changes: dict[str, Any]
    op: str = ""

    def fingerprint(self) -> Fingerprint:
        return ("settings", canonical(self.changes))


def update_settings(meeting: Meeting, command: UpdateSettings, now: float) -> list[Event]:
    unknown = set(command.changes) - set(HOST_SETTINGS)
    if unknown:
        raise CommandRefused("invalid_settings", f"cannot change {', '.join(sorted(unknown))}")
    changes = {key: HOST_SETTINGS[key].check(value) for key, value in command.changes.items()}
    texts = {k: v for k, v in changes.items() if HOST_SETTINGS[k].on == "settings"}
    MeetingSettings.from_dict({**meeting.settings.to_dict(), **texts})  # validates lengths and the title
    return [SettingsChanged(meeting.next_seq(), now, changes, command.op)]


SETTINGS = CommandSpec(
    "settings", HOSTS, (Field("changes", changes_field(SETTING_CHANGES), required=True),),
    command=UpdateSettings, handler=update_settings, events=(SettingsChanged,),
)
