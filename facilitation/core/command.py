"""What a meeting command is, and how one is declared.

A command is a frozen dataclass deriving from :class:`Command`: it says whose op memory it belongs to
(:meth:`Command.actor`), carries its ``op`` and knows its :meth:`Command.fingerprint`. Its handler is a
plain function ``handler(meeting, command, now) -> events`` beside it, in its feature's module under
:mod:`facilitation.core.commands`. One :class:`CommandSpec` ties the wire ``type`` to both: who may send it,
its fields and their checks, the command class, the handler and the events it may cause. The table of
specs (:data:`facilitation.core.commands.COMMANDS`) is the only list a new command is added to; the parser,
the dispatch, the HTTP routes, the Redis codec, the handler table and the event codec are derived from it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from facilitation.core.errors import ClientError
from facilitation.core.events import Event, Fingerprint
from facilitation.core.fields import Field
from facilitation.core.state import HOST, MeetingPart

if TYPE_CHECKING:
    from facilitation.core.meeting import Meeting

__all__ = [
    "EVERYONE",
    "HOSTS",
    "NOBODY",
    "PARTICIPANTS",
    "ROLES",
    "Args",
    "Command",
    "CommandSpec",
    "Handler",
]

ROLES = ("participant", "host", "projector")
PARTICIPANTS = frozenset({"participant"})
HOSTS = frozenset({"host"})
EVERYONE = frozenset(ROLES)
NOBODY: frozenset[str] = frozenset()
"""The roles of ``hello``: it only opens a connection, and a greeted connection may not send it again."""


class Command:
    """The base of every meeting command. Subclasses are frozen dataclasses with an ``op`` field."""

    __slots__ = ()

    op: str

    def actor(self) -> str:
        """Whose op memory this command's op belongs to: the host's, or a participant's id as text."""
        return HOST

    def fingerprint(self) -> Fingerprint:
        """What the command asks, normalised as its event will record it (see :meth:`Event.fingerprint`)."""
        return (type(self).__name__,)

    def unchanged(self, meeting: Meeting) -> dict[str, Any]:
        """The ack ``result`` when the handler found nothing to do (a returning participant's join)."""
        return {}


CommandClass = type[Command]
EventClass = type[Event]
PartClass = type[MeetingPart]

Handler = Callable[["Meeting", Any, float], list[Event]]
"""A command's handler: checks the command against the meeting and returns the events it causes (the first
one's :meth:`~Event.result` acknowledges it), or raises
:class:`~facilitation.core.state.CommandRefused`. It never changes the meeting: the meeting folds the
events it returns."""


@dataclass(slots=True)
class Args:
    """What a command's builder receives: the clean fields, the op and the sender.

    (Args is made per frame and never shared, so not frozen: a frozen dataclass's constructor costs several
    times more, and the vote path makes one per vote.)"""

    op: str
    fields: dict[str, Any]
    participant: int | None


def _participant(args: Args) -> int:
    if args.participant is None:  # unreachable: the role check admits participants only
        raise ClientError("forbidden", "only a participant may send this", status=403)
    return args.participant


_BUILDERS: dict[type[Command], Callable[[Args], Command]] = {}


def by_name(cls: type[Command]) -> Callable[[Args], Command]:
    """The default builder: the command's fields are the wire fields of the same names, its ``participant``
    the sender and its ``op`` the frame's."""
    found = _BUILDERS.get(cls)
    if found is not None:
        return found
    names = {f.name for f in dataclasses.fields(cast(Any, cls))}
    wants_participant = "participant" in names

    def build(args: Args) -> Command:
        values = {k: v for k, v in args.fields.items() if k in names}
        if wants_participant:
            values["participant"] = _participant(args)
        made: Command = cast(Any, cls)(**values, op=args.op)
        return made

    _BUILDERS[cls] = build
    return build


@dataclass(frozen=True, slots=True)
class CommandSpec:
    """One client message type, declared once (see the module's docstring)."""

    type: str
    roles: frozenset[str]
    """Who may send it once greeted; :data:`NOBODY` for ``hello``, which only opens a connection."""
    fields: tuple[Field, ...]
    needs_op: bool = True
    command: CommandClass | None = None
    """The meeting command it becomes; None for the session's own messages (ping, next, analysis)."""
    handler: Handler | None = None
    events: tuple[EventClass, ...] = ()
    """Every event the handler may return, first the one that acknowledges it."""
    build: Callable[[Args], Command] | None = None
    """How the frame becomes the command, when the fields' names are not the command's (default
    :func:`by_name`)."""
    state: tuple[PartClass, ...] = ()
    """Feature state the meeting holds for this command (:meth:`~facilitation.core.meeting.Meeting.part`)."""

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    def make(self, args: Args) -> Command | None:
        """The meeting command of a validated frame, or None for a session message."""
        if self.build is not None:
            return self.build(args)
        if self.command is None:
            return None
        return by_name(self.command)(args)


def participant_of(args: Args) -> int:
    """The sender of a participant-only command (for builders)."""
    return _participant(args)
