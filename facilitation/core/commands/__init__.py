"""Every client message, declared once: the table a new command is added to.

Each entry is a :class:`~facilitation.core.command.CommandSpec` from a feature's module here (the command
class, its handler and its events live together there). From this one table come:

- the wire parser's schemas and the dispatch with its role checks (:mod:`facilitation.core.registry`);
- :data:`HANDLERS`, which :meth:`facilitation.core.meeting.Meeting.apply` dispatches through;
- :data:`COMMAND_TYPES`, the command codec the Redis owner protocol forwards commands with;
- :data:`EVENT_TYPES`, the event codec (:func:`facilitation.core.codec.event_from_dict`);
- :data:`PARTS`, the feature state every meeting holds (:meth:`facilitation.core.meeting.Meeting.part`).

docs/architecture.md, "Adding a command", walks through one; tests/core/test_protocol_doc.py holds
docs/protocol.md's tables against this one.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import facilitation.core.commands.agenda as agenda

# one import per feature module, each on its own line: two features added at once touch different lines
import facilitation.core.commands.consent as consent
import facilitation.core.commands.exclusion as exclusion
import facilitation.core.commands.floor as floor
import facilitation.core.commands.follow_ups as follow_ups
import facilitation.core.commands.host_settings as host_settings
import facilitation.core.commands.importance as importance
import facilitation.core.commands.lineage as lineage
import facilitation.core.commands.markers as markers
import facilitation.core.commands.participants as participants
import facilitation.core.commands.phases as phases
import facilitation.core.commands.publication as publication
import facilitation.core.commands.rounds as rounds
import facilitation.core.commands.screen as screen
import facilitation.core.commands.session as session
import facilitation.core.commands.spotlight as spotlight
import facilitation.core.commands.statements as statements
import facilitation.core.commands.timers as timers
from facilitation.core.command import Command, CommandSpec, Handler
from facilitation.core.erasure import ERASURE_EVENTS
from facilitation.core.events import CORE_EVENTS, Event
from facilitation.core.state import MeetingPart

__all__ = ["COMMANDS", "COMMAND_TYPES", "EVENT_TYPES", "HANDLERS", "PARTS", "SPECS", "declared"]

COMMANDS: list[CommandSpec] = [
    participants.HELLO,
    session.PING,
    session.NEXT,
    session.TYPING,
    statements.VOTE,
    statements.POST,
    participants.PROFILE,
    statements.SEED,
    statements.MODERATE,
    phases.PHASE,
    host_settings.SETTINGS,
    session.ANALYSIS,
    follow_ups.FOLLOW_UP,
    consent.CHECK_OPEN,
    consent.CHECK_ANSWER,
    consent.CHECK_CLOSE,
    importance.MARK,
    spotlight.SPOTLIGHT,
    spotlight.SPOTLIGHT_END,
    rounds.ROUND_OPEN,
    rounds.ROUND_CLOSE,
    floor.FLOOR_ASK,
    floor.FLOOR_WITHDRAW,
    floor.FLOOR_GIVE,
    floor.FLOOR_END,
    screen.SCREEN,
    publication.PUBLISH,
    timers.TIMER_START,
    timers.TIMER_STOP,
    timers.TIMER_END,
    agenda.QUESTION_ADD,
    agenda.QUESTION_GO,
    markers.MARK,
    lineage.REWORD,
    lineage.SPLIT,
    lineage.MERGE,
    exclusion.EXCLUDE,
]
"""The table: one line per client message type, in the order docs/protocol.md lists them."""

SPECS: dict[str, CommandSpec] = {}
"""Every client message type, by wire ``type``."""
HANDLERS: dict[type[Command], Handler] = {}
"""Every meeting command class -> its handler."""
COMMAND_TYPES: dict[str, type[Command]] = {}
"""Every meeting command class, by class name (the Redis owner protocol's ``kind``)."""
EVENT_TYPES: dict[str, type[Event]] = {}
"""Every event class, by its stored ``type``."""
PARTS: list[type[MeetingPart]] = []
"""The feature state classes a meeting holds one of each (see :meth:`Meeting.part`)."""


def _derive() -> None:
    """Fill the derived tables from :data:`COMMANDS` (in place: importers hold these very dicts)."""
    specs: dict[str, CommandSpec] = {}
    handlers: dict[type[Command], Handler] = {}
    events: dict[str, type[Event]] = {cls.type: cls for cls in (*CORE_EVENTS, *ERASURE_EVENTS)}
    parts: list[type[MeetingPart]] = []
    for spec in COMMANDS:
        if spec.type in specs:
            raise ValueError(f"message type {spec.type!r} is declared twice")
        specs[spec.type] = spec
        if spec.command is not None:
            if spec.handler is None:
                raise ValueError(f"{spec.type!r}: a command needs a handler")
            if handlers.setdefault(spec.command, spec.handler) is not spec.handler:
                raise ValueError(f"{spec.command.__name__} has two handlers")
        for event in spec.events:
            if events.setdefault(event.type, event) is not event:
                raise ValueError(f"event type {event.type!r} is declared by two classes")
        parts.extend(p for p in spec.state if p not in parts)
    SPECS.clear()
    SPECS.update(specs)
    HANDLERS.clear()
    HANDLERS.update(handlers)
    EVENT_TYPES.clear()
    EVENT_TYPES.update(events)
    COMMAND_TYPES.clear()
    COMMAND_TYPES.update({cls.__name__: cls for cls in handlers})
    PARTS[:] = parts


_derive()


@contextmanager
def declared(*specs: CommandSpec) -> Iterator[None]:
    """Add ``specs`` to the table for the duration of a ``with`` block: a test declares a toy command in its
    own module and serves it for real (tests/server/test_adding_a_command.py). Not for production code,
    whose commands are lines of :data:`COMMANDS`."""
    COMMANDS.extend(specs)
    try:
        _derive()
        yield
    finally:
        for spec in specs:
            COMMANDS.remove(spec)
        _derive()
