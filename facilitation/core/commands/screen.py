"""Projector control (issue 23): the host chooses what the room sees, ``screen``.

``auto`` (the default) lets the phase choose (docs/projector.md: the join slide in the lobby, the map and the
lanes while collecting and voting, the results deck after), with a spotlight or an open round in front while
phones vote. Any other view holds until the host picks another: ``join``, ``live`` (map and lanes), ``map``,
``lanes``, ``results`` (the whole deck) or ``group`` (one opinion group's page of the deck; ``group`` names it,
as the map letters it). A spotlight still comes first: it is the host's latest word to the room.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from facilitation.core.command import HOSTS, Command, CommandSpec
from facilitation.core.events import ALL, Audience, Event, Fingerprint
from facilitation.core.fields import WORD, Field, text_field
from facilitation.core.state import CommandRefused

if TYPE_CHECKING:
    from facilitation.core.meeting import Meeting

__all__ = ["SCREEN", "VIEWS", "ChooseScreen", "Screen", "ScreenChosen"]

VIEWS = ("auto", "join", "live", "map", "lanes", "results", "group")


@dataclass
class Screen:
    key: ClassVar[str] = "screen"
    view: str = "auto"
    group: str = ""

    def public(self) -> dict[str, Any]:
        return {"view": self.view, "group": self.group}


@dataclass(frozen=True, slots=True)
class ChooseScreen(Command):
    view: str
    group: str = ""
    op: str = ""

    def fingerprint(self) -> Fingerprint:
        return ("screen", self.view, self.group)


@dataclass(frozen=True, slots=True)
class ScreenChosen(Event):
    shown: str
    """The view chosen (not ``view``: an event's ``view()`` is what a client receives of it)."""
    group: str
    op: str = ""

    type: ClassVar[str] = "screen_chosen"
    audience: ClassVar[tuple[Audience, ...]] = (Audience("screen_chosen", projector=ALL, host=ALL),)

    def evolve(self, meeting: Meeting) -> None:
        screen = meeting.part(Screen)
        screen.view, screen.group = self.shown, self.group

    def fingerprint(self) -> Fingerprint:
        return ("screen", self.shown, self.group)

    def result(self) -> dict[str, Any]:
        return {"view": self.shown, "group": self.group}


def choose(meeting: Meeting, command: ChooseScreen, now: float) -> list[Event]:
    if command.view not in VIEWS:
        raise CommandRefused("invalid_field", f"'view' must be one of {', '.join(VIEWS)}")
    group = command.group.strip()
    if command.view == "group" and not group:
        raise CommandRefused("invalid_field", "the group view needs 'group', the letter the map shows")
    if command.view != "group" and group:
        raise CommandRefused("invalid_field", "only the group view takes 'group'")
    return [ScreenChosen(meeting.next_seq(), now, command.view, group, command.op)]


SCREEN = CommandSpec(
    "screen", HOSTS,
    (Field("view", WORD, required=True, example="map"), Field("group", text_field(8, visible=False), example="A")),
    command=ChooseScreen, handler=choose, events=(ScreenChosen,), state=(Screen,),
)
