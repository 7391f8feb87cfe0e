"""The wire registry: what a client may send, checked at one boundary, from the one table of declarations.

Every message type is declared once, in :data:`facilitation.core.commands.COMMANDS` (who may send it, its
fields and their checks, whether it needs an ``op``, the meeting command it becomes). This module is the
boundary built from those declarations:

- :func:`validate`, the field checks of a frame (used by :mod:`facilitation.core.protocol`'s parser);
- :func:`dispatch`, the role check and the building of the meeting command (the one call the session makes
  per command);
- the HTTP routes' parsers (:func:`parse_http_command`, :func:`parse_new_meeting`);
- the command codec the Redis owner protocol forwards commands with (:func:`encode_command` /
  :func:`decode_command`), which covers every declared command by construction.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, cast

from facilitation.core.command import HOSTS, NOBODY, ROLES, Args, Command, CommandSpec, by_name
from facilitation.core.commands import COMMAND_TYPES, SPECS
from facilitation.core.errors import ClientError, ProtocolError
from facilitation.core.fields import (
    MAX_INT,
    MAX_OP_CHARS,
    SETTING_CHANGES,
    Field,
    bool_field,
    check_op,
    choice_field,
    int_field,
    list_field,
    text_field,
)
from facilitation.core.privacy import privacy_field
from facilitation.core.state import (
    LANGUAGES,
    MAX_ROLE_CHARS,
    MAX_ROLES,
    MAX_STATEMENT_CHARS,
    PROJECTOR_THEMES,
    MeetingSettings,
    ModerationMode,
)
from facilitation.core.vocabulary import SCALES

__all__ = [
    "COMMAND_TYPES",
    "MAX_INT",
    "MAX_OP_CHARS",
    "MAX_SEEDS",
    "MEETING_FIELDS",
    "ROLES",
    "SETTING_CHANGES",
    "SPECS",
    "Args",
    "ClientMessage",
    "CommandSpec",
    "Field",
    "Routed",
    "check_op",
    "command_of",
    "decode_command",
    "dispatch",
    "encode_command",
    "parse_http_command",
    "parse_new_meeting",
    "validate",
]

MAX_SEEDS = 200


@dataclass(slots=True)
class ClientMessage:
    """One parsed, validated client frame."""

    type: str
    op: str
    fields: dict[str, Any]


@dataclass(slots=True)
class Routed:
    """A command that passed the role check: a meeting ``command``, or a session message (ping, next,
    analysis) for the connection to answer itself."""

    type: str
    op: str
    fields: dict[str, Any]
    command: Command | None


# ---------------------------------------------------------------- the boundary


def validate(spec: CommandSpec, data: Mapping[str, Any]) -> dict[str, Any]:
    """The clean fields of a message of type ``spec``; unknown keys are ignored (forward compatibility).

    A field sent as ``null`` counts as absent."""
    fields: dict[str, Any] = {}
    for field in spec.fields:
        name = field.name
        value = data.get(name)
        if value is None:
            if field.required:
                raise ProtocolError("missing_field", f"a {spec.type!r} message needs the field {name!r}")
            continue
        fields[name] = field.check(value, name)
    return fields


def _forbidden(spec: CommandSpec, role: str) -> ClientError:
    if role == "projector":
        return ClientError("forbidden", "the projector is read-only", status=403)
    if spec.roles == HOSTS:
        return ClientError("forbidden", f"only the host may send {spec.type!r}", status=403)
    return ClientError("forbidden", f"only a participant may send {spec.type!r}", status=403)


_Route = tuple[CommandSpec, frozenset[str], Callable[[Args], Command] | None]
_ROUTES: dict[str, _Route] = {}
"""Each type's spec, roles and command builder (what :meth:`CommandSpec.make` would choose), looked up once
per spec: the dispatch runs on every frame. Filled on first use and renewed when :data:`SPECS` holds another
spec for the type (the table is derived again when a command is declared later, as a plugin or a test does)."""


def _route(kind: str) -> _Route:
    spec = SPECS[kind]
    route = _ROUTES.get(kind)
    if route is None or route[0] is not spec:
        build = spec.build if spec.build is not None else None if spec.command is None else by_name(spec.command)
        route = _ROUTES[kind] = (spec, spec.roles, build)
    return route


def dispatch(message: ClientMessage, role: str, participant: int | None) -> Routed:
    """Check that ``role`` may send ``message`` and build its meeting command: the WebSocket dispatch.

    Every refusal carries the message's op."""
    return Routed(message.type, message.op, message.fields, command_of(message, role, participant))


def command_of(message: ClientMessage, role: str, participant: int | None) -> Command | None:
    """:func:`dispatch`'s check and command alone (None: a session message), what the session calls on every
    frame. Every refusal carries the message's op."""
    spec, roles, build = _route(message.type)
    try:
        if role not in roles:
            if not roles:
                raise ProtocolError("already_greeted", "this connection already said hello")
            raise _forbidden(spec, role)
        return None if build is None else build(Args(message.op, message.fields, participant))
    except ClientError as exc:
        exc.op = exc.op or message.op
        raise


def parse_http_command(kind: str, data: Mapping[str, Any], participant: int | None = None) -> Command:
    """A command sent over HTTP (the host's follow-ups): the same schema as over the WebSocket, ``op``
    optional (without one the command is simply not idempotent). The caller checks the host key."""
    spec = SPECS[kind]
    op = check_op(data.get("op", ""))
    try:
        command = spec.make(Args(op, validate(spec, data), participant))
        if command is None:  # pragma: no cover - only meeting commands are sent over HTTP
            raise ProtocolError("unknown_type", f"{kind!r} is not a meeting command")
        return command
    except ClientError as exc:
        exc.op = exc.op or op
        raise


MEETING_FIELDS: tuple[Field, ...] = (
    Field("title", text_field(MeetingSettings.MAX_TITLE), required=True),
    Field("topic", text_field(MeetingSettings.MAX_TOPIC)),
    Field("description", text_field(MeetingSettings.MAX_DESCRIPTION, multiline=True)),
    Field("language", choice_field(LANGUAGES)),
    Field("scale", choice_field(tuple(SCALES))),
    Field("roles", list_field(text_field(MAX_ROLE_CHARS), MAX_ROLES)),
    Field("moderation", choice_field(tuple(ModerationMode))),
    Field("max_statement_chars", int_field),
    Field("ask_nickname", bool_field),
    Field("seeds", list_field(text_field(MAX_STATEMENT_CHARS), MAX_SEEDS)),
    Field("privacy", privacy_field),
    Field("require_consent", bool_field),
    Field("retention_days", int_field),
    Field("projector_theme", choice_field(PROJECTOR_THEMES)),
    Field("live_results", bool_field),
    Field("questions", list_field(text_field(MeetingSettings.MAX_TOPIC), 19)),
)
"""``POST /api/meetings``: the body's fields, checked like a command's."""


def parse_new_meeting(data: Mapping[str, Any]) -> tuple[MeetingSettings, list[str]]:
    """The settings and seed statements of ``POST /api/meetings``: exact types, unknown fields refused."""
    known = [f.name for f in MEETING_FIELDS]
    unknown = sorted((key for key in data if key not in known), key=ascii)
    if unknown:
        raise ProtocolError("invalid_settings", f"unknown field {ascii(unknown[0])[:40]} (one of {', '.join(known)})")
    try:
        fields = validate(CommandSpec("create", NOBODY, MEETING_FIELDS, needs_op=False), data)
    except ProtocolError as exc:
        if exc.code in ("invalid_field", "missing_field"):  # one code for "these settings are not valid"
            raise ProtocolError("invalid_settings", exc.message) from None
        raise
    seeds = [s for s in fields.pop("seeds", []) if s]
    if "title" in fields and not fields["title"]:
        raise ProtocolError("invalid_settings", "a meeting needs a title")
    fields["roles"] = tuple(fields.get("roles", ()))
    fields["questions"] = tuple(q for q in fields.get("questions", ()) if q)
    if "moderation" in fields:
        fields["moderation"] = ModerationMode(fields["moderation"])
    return MeetingSettings(**fields), seeds


# ---------------------------------------------------------------- codec


def encode_command(command: Command) -> dict[str, Any]:
    """A command as JSON-ready data (for the Redis owner protocol): ``{"kind": <class name>, ...fields}``."""
    data = {f.name: getattr(command, f.name) for f in dataclasses.fields(cast(Any, command))}
    data["kind"] = type(command).__name__
    return data


def decode_command(data: Mapping[str, Any]) -> Command:
    """The inverse of :func:`encode_command`."""
    fields = dict(data)
    cls = COMMAND_TYPES.get(str(fields.pop("kind", "")))
    if cls is None:
        raise ValueError(f"unknown command kind {data.get('kind')!r}")
    unknown = set(fields) - {f.name for f in dataclasses.fields(cast(Any, cls))}
    if unknown:
        raise ValueError(f"unknown fields {sorted(unknown)} for {cls.__name__}")
    command: Command = cast(Any, cls)(**fields)
    return command
