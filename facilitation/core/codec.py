"""How an event is written at rest: one JSON text per event, the same in SQLite rows, the Redis log list
and the sharded pub/sub feed that tells other workers about it.

Encoding happens in the caller's task, before a write is queued: an event that cannot be stored (a lone
surrogate has no UTF-8 form) is refused there, alone, and never reaches a writer shared by every meeting.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

import orjson

from facilitation.core.commands import EVENT_TYPES
from facilitation.core.errors import ClientError
from facilitation.core.events import Event

__all__ = ["StoreRefused", "decode", "encode", "event_from_dict"]

_FIELDS: dict[type[Event], frozenset[str]] = {}


class StoreRefused(ClientError):
    """The store cannot represent this item (e.g. text that is not valid Unicode): only this command fails."""

    status = 422


def encode(event: Event) -> str:
    """The event's stored JSON text; raises :class:`StoreRefused` when it has no UTF-8 form (a lone
    surrogate) or holds an integer beyond 64 bits. orjson: the standard encoder plus the UTF-8 check was
    a tenth of a durable vote's server CPU."""
    try:
        return orjson.dumps(event.to_dict()).decode()
    except orjson.JSONEncodeError as exc:
        raise StoreRefused("store_refused", f"event {event.seq} cannot be stored: {exc}") from None


def decode(raw: str | bytes) -> Event:
    return event_from_dict(orjson.loads(raw))


def event_from_dict(data: dict[str, Any]) -> Event:
    """Rebuild an event from its stored JSON form (any event a command declares: the table's
    :data:`~facilitation.core.commands.EVENT_TYPES`); keys the class does not have are ignored."""
    cls = EVENT_TYPES[data["type"]]
    names = _FIELDS.get(cls)
    if names is None:
        names = _FIELDS[cls] = frozenset(f.name for f in fields(cls))
    return cls(**{k: v for k, v in data.items() if k in names})
