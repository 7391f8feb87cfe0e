"""Messages a connection answers itself, without changing the meeting: ``ping``, ``next``, a phone's
``typing`` signal (transient: counted by the room, never logged) and the host's ``analysis`` control (the
live analysis is not part of the meeting's state machine)."""

from __future__ import annotations

from facilitation.core.command import EVERYONE, HOSTS, PARTICIPANTS, CommandSpec
from facilitation.core.fields import WORD, Field, bool_field

__all__ = ["ANALYSIS", "NEXT", "PING", "TYPING"]

PING = CommandSpec("ping", EVERYONE, (), needs_op=False)
NEXT = CommandSpec("next", PARTICIPANTS, (), needs_op=False)
TYPING = CommandSpec("typing", PARTICIPANTS, (Field("active", bool_field, required=True, example=True),),
                     needs_op=False)
ANALYSIS = CommandSpec("analysis", HOSTS, (Field("action", WORD, required=True),))
