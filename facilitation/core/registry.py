"""The command registry: every client command declared once, and everything derived from it.

Each :class:`CommandSpec` says, for one wire ``type``: who may send it, its fields and their checks (the
one validation boundary, :mod:`facilitation.core.text` for every string), whether it needs an ``op``, and how it
becomes a :class:`facilitation.core.meeting.Command`. From the declarations come:

- the WebSocket parser's schemas (:func:`validate`, used by :mod:`facilitation.core.protocol`);
- the dispatch with its role checks (:func:`route`, the one call ``ws.py`` makes per command);
- the HTTP routes' parsers (:func:`parse_http_command`, :func:`parse_new_meeting`);
- the command codec the Redis owner protocol uses (:func:`encode_command` / :func:`decode_command`), which
  covers every member of the ``Command`` union by construction.

A new command is one more entry in :data:`SPECS` (and its ``Command`` class in meeting.py).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, get_args

from facilitation.core import text
from facilitation.core.errors import ClientError, ProtocolError
from facilitation.core.meeting import (
    LANGUAGES,
    MAX_NICKNAME_CHARS,
    MAX_REASON_CHARS,
    MAX_RESPONSE_CHARS,
    MAX_ROLE_CHARS,
    MAX_ROLES,
    MAX_STATEMENT_CHARS,
    Command,
    MeetingSettings,
    Moderate,
    ModerationMode,
    PostStatement,
    SetFollowUp,
    SetPhase,
    SetProfile,
    UpdateSettings,
    Vote,
)
from facilitation.core.vocabulary import SCALES

__all__ = [
    "COMMAND_TYPES",
    "MAX_INT",
    "MAX_OP_CHARS",
    "MAX_SEEDS",
    "MEETING_FIELDS",
    "ROLES",
    "SPECS",
    "Args",
    "ClientMessage",
    "CommandSpec",
    "Field",
    "Routed",
    "check_op",
    "decode_command",
    "encode_command",
    "parse_http_command",
    "parse_new_meeting",
    "route",
    "validate",
]

ROLES = ("participant", "host", "projector")
MAX_OP_CHARS = 64
MAX_INT = 2**53
"""Integers above this are not exactly representable in a phone's JavaScript and are refused."""
MAX_SECRET_CHARS = 128
MAX_WORD_CHARS = 32
"""Vote values, phases, actions, statuses: short words the meeting checks against its own vocabulary."""
MAX_SEEDS = 200

Check = Callable[[Any, str], Any]
"""A field check: takes the raw JSON value and the field's name, returns the clean value or raises."""


# ---------------------------------------------------------------- field checks


def text_field(max_chars: int, *, multiline: bool = False, visible: bool = True) -> Check:
    """Free text: see :func:`facilitation.core.text.clean`. ``visible``: text made only of invisible characters
    is refused (empty stays allowed where the field is optional)."""

    def check(value: Any, name: str) -> str:
        return text.clean(value, name, max_chars=max_chars, multiline=multiline, visible=visible)

    return check


def secret_field(value: Any, name: str) -> str:
    """Tokens and host keys: printable ASCII (what the server issues), never normalised."""
    if not isinstance(value, str):
        raise ProtocolError("invalid_field", f"{name!r} must be a string")
    if len(value) > MAX_SECRET_CHARS or not all("!" <= c <= "~" for c in value):
        raise ProtocolError("invalid_field", f"{name!r} is at most {MAX_SECRET_CHARS} printable ASCII characters")
    return value


def int_field(value: Any, name: str) -> int:
    """An integer in 0..2^53: not a bool, a float (``1.0``), a string (``"1"``) or null."""
    if type(value) is not int:
        raise ProtocolError("invalid_field", f"{name!r} must be an integer")
    if not 0 <= value <= MAX_INT:
        raise ProtocolError("invalid_field", f"{name!r} is out of range (0 to 2^53)")
    return value


def bool_field(value: Any, name: str) -> bool:
    if type(value) is not bool:
        raise ProtocolError("invalid_field", f"{name!r} must be true or false")
    return value


def choice_field(values: tuple[str, ...]) -> Check:
    def check(value: Any, name: str) -> str:
        if not isinstance(value, str) or value not in values:
            raise ProtocolError("invalid_field", f"{name!r} must be one of {', '.join(values)}")
        return value

    return check


def list_field(item: Check, max_items: int) -> Check:
    def check(value: Any, name: str) -> list[Any]:
        if not isinstance(value, list) or len(value) > max_items:
            raise ProtocolError("invalid_field", f"{name!r} must be a list of at most {max_items} items")
        return [item(v, f"{name}[{i}]") for i, v in enumerate(value)]

    return check


def changes_field(checks: Mapping[str, Check]) -> Check:
    """An object whose keys are a known subset (the settings a host may change while the meeting runs)."""

    def check(value: Any, name: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise ProtocolError("invalid_field", f"{name!r} must be an object")
        if not value:
            raise ProtocolError("invalid_settings", f"{name!r} names no setting to change")
        unknown = [key for key in value if key not in checks]
        if unknown:
            shown = ", ".join(ascii(key)[:40] for key in sorted(unknown, key=ascii)[:5])
            raise ProtocolError("invalid_settings", f"cannot change {shown} (only {', '.join(sorted(checks))})")
        return {key: checks[key](raw, key) for key, raw in value.items()}

    return check


def check_op(value: Any) -> str:
    """An op id: a string of at most 64 characters with no control, bidi or surrogate character and, unless
    empty, a visible one; kept as is (never normalised: it is echoed back to a client that matches it byte for
    byte)."""
    if (not isinstance(value, str) or len(value) > MAX_OP_CHARS or text.has_forbidden(value)
            or (value and not text.is_visible(value))):
        raise ProtocolError("invalid_field", f"'op' must be a string of at most {MAX_OP_CHARS} visible "
                                             "characters without control characters")
    return value


# ---------------------------------------------------------------- declarations


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    check: Check
    required: bool = False


@dataclass(slots=True)
class Args:
    """What a command's builder receives: the clean fields, the op and the sender.

    (Args, ClientMessage and Routed are made per frame and never shared, so not frozen: a frozen
    dataclass's constructor costs several times more, and the vote path makes three.)"""

    op: str
    fields: dict[str, Any]
    participant: int | None


@dataclass(frozen=True, slots=True)
class CommandSpec:
    type: str
    roles: frozenset[str]
    """Who may send it once greeted; empty for ``hello``, which only opens a connection."""
    fields: tuple[Field, ...]
    needs_op: bool
    build: Callable[[Args], Command] | None = None
    """How it becomes a meeting command; None for the session's own messages (ping, next, analysis)."""

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)


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


def _participant(args: Args) -> int:
    if args.participant is None:  # unreachable: the role check admits participants only
        raise ClientError("forbidden", "only a participant may send this", status=403)
    return args.participant


PARTICIPANT = frozenset({"participant"})
HOST = frozenset({"host"})
EVERYONE = frozenset(ROLES)

STATEMENT = Field("statement", int_field, required=True)
NICKNAME = Field("nickname", text_field(MAX_NICKNAME_CHARS))
STAKEHOLDER = Field("stakeholder", text_field(MAX_ROLE_CHARS))
STATEMENT_TEXT = Field("text", text_field(MAX_STATEMENT_CHARS), required=True)
WORD = text_field(MAX_WORD_CHARS)

SETTING_CHANGES: dict[str, Check] = {
    "results_visible": bool_field,
    "analysis_paused": bool_field,
    "title": text_field(MeetingSettings.MAX_TITLE),
    "topic": text_field(MeetingSettings.MAX_TOPIC),
    "description": text_field(MeetingSettings.MAX_DESCRIPTION, multiline=True),
}
"""The settings a host may change while the meeting runs, with their checks."""

_SPECS: tuple[CommandSpec, ...] = (
    CommandSpec("hello", frozenset(), (
        Field("role", choice_field(ROLES), required=True),
        Field("since", int_field),
        Field("token", secret_field),
        Field("host_key", secret_field),
        NICKNAME,
        STAKEHOLDER,
    ), needs_op=False),
    CommandSpec("ping", EVERYONE, (), needs_op=False),
    CommandSpec("next", PARTICIPANT, (), needs_op=False),
    CommandSpec(
        "vote", PARTICIPANT, (STATEMENT, Field("value", WORD, required=True)), needs_op=True,
        build=lambda a: Vote(_participant(a), a.fields["statement"], a.fields["value"], a.op),
    ),
    CommandSpec(
        "post", PARTICIPANT, (STATEMENT_TEXT,), needs_op=True,
        build=lambda a: PostStatement(_participant(a), a.fields["text"], a.op),
    ),
    CommandSpec(
        "profile", PARTICIPANT, (NICKNAME, STAKEHOLDER), needs_op=True,
        build=lambda a: SetProfile(
            _participant(a), a.fields.get("nickname", ""), a.fields.get("stakeholder", ""), a.op
        ),
    ),
    CommandSpec(
        "seed", HOST, (STATEMENT_TEXT,), needs_op=True,
        build=lambda a: PostStatement(None, a.fields["text"], a.op),
    ),
    CommandSpec(
        "moderate", HOST,
        (STATEMENT, Field("action", WORD, required=True), Field("reason", text_field(MAX_REASON_CHARS))),
        needs_op=True,
        build=lambda a: Moderate(a.fields["statement"], a.fields["action"], a.fields.get("reason", ""), a.op),
    ),
    CommandSpec(
        "phase", HOST, (Field("phase", WORD, required=True),), needs_op=True,
        build=lambda a: SetPhase(a.fields["phase"], a.op),
    ),
    CommandSpec(
        "settings", HOST, (Field("changes", changes_field(SETTING_CHANGES), required=True),), needs_op=True,
        build=lambda a: UpdateSettings(a.fields["changes"], a.op),
    ),
    CommandSpec("analysis", HOST, (Field("action", WORD, required=True),), needs_op=True),
    CommandSpec(
        "follow_up", HOST,
        (STATEMENT, Field("status", WORD, required=True),
         Field("response", text_field(MAX_RESPONSE_CHARS, multiline=True))),
        needs_op=True,
        build=lambda a: SetFollowUp(a.fields["statement"], a.fields["status"], a.fields.get("response", ""), a.op),
    ),
)

SPECS: dict[str, CommandSpec] = {spec.type: spec for spec in _SPECS}
"""Every client message type, by wire ``type``."""


# ---------------------------------------------------------------- the boundary


def validate(spec: CommandSpec, data: Mapping[str, Any]) -> dict[str, Any]:
    """The clean fields of a message of type ``spec``; unknown keys are ignored (forward compatibility).

    A field sent as ``null`` counts as absent."""
    fields: dict[str, Any] = {}
    for field in spec.fields:
        value = data.get(field.name)
        if value is None:
            if field.required:
                raise ProtocolError("missing_field", f"a {spec.type!r} message needs the field {field.name!r}")
            continue
        fields[field.name] = field.check(value, field.name)
    return fields


def _forbidden(spec: CommandSpec, role: str) -> ClientError:
    if role == "projector":
        return ClientError("forbidden", "the projector is read-only", status=403)
    if spec.roles == HOST:
        return ClientError("forbidden", f"only the host may send {spec.type!r}", status=403)
    return ClientError("forbidden", f"only a participant may send {spec.type!r}", status=403)


def route(message: ClientMessage, role: str, participant: int | None) -> Routed:
    """Check that ``role`` may send ``message`` and build its meeting command: the WebSocket dispatch.

    Every refusal carries the message's op."""
    spec = SPECS[message.type]
    try:
        if not spec.roles:
            raise ProtocolError("already_greeted", "this connection already said hello")
        if role not in spec.roles:
            raise _forbidden(spec, role)
        command = None if spec.build is None else spec.build(Args(message.op, message.fields, participant))
    except ClientError as exc:
        exc.op = exc.op or message.op
        raise
    return Routed(spec.type, message.op, message.fields, command)


def parse_http_command(kind: str, data: Mapping[str, Any], participant: int | None = None) -> Command:
    """A command sent over HTTP (the host's follow-ups): the same schema as over the WebSocket, ``op``
    optional (without one the command is simply not idempotent). The caller checks the host key."""
    spec = SPECS[kind]
    op = check_op(data.get("op", ""))
    try:
        fields = validate(spec, data)
        if spec.build is None:  # pragma: no cover - only meeting commands are routed over HTTP
            raise ProtocolError("unknown_type", f"{kind!r} is not a meeting command")
        return spec.build(Args(op, fields, participant))
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
)
"""``POST /api/meetings``: the body's fields, checked like a command's."""


def parse_new_meeting(data: Mapping[str, Any]) -> tuple[MeetingSettings, list[str]]:
    """The settings and seed statements of ``POST /api/meetings``: exact types, unknown fields refused."""
    known = [f.name for f in MEETING_FIELDS]
    unknown = sorted((key for key in data if key not in known), key=ascii)
    if unknown:
        raise ProtocolError("invalid_settings", f"unknown field {ascii(unknown[0])[:40]} (one of {', '.join(known)})")
    try:
        fields = validate(CommandSpec("create", frozenset(), MEETING_FIELDS, needs_op=False), data)
    except ProtocolError as exc:
        if exc.code in ("invalid_field", "missing_field"):  # one code for "these settings are not valid"
            raise ProtocolError("invalid_settings", exc.message) from None
        raise
    seeds = [s for s in fields.pop("seeds", []) if s]
    if "title" in fields and not fields["title"]:
        raise ProtocolError("invalid_settings", "a meeting needs a title")
    fields["roles"] = tuple(fields.get("roles", ()))
    if "moderation" in fields:
        fields["moderation"] = ModerationMode(fields["moderation"])
    return MeetingSettings(**fields), seeds


# ---------------------------------------------------------------- codec

COMMAND_TYPES: dict[str, type[Any]] = {cls.__name__: cls for cls in get_args(Command)}
"""Every meeting command class, by name: taken from the ``Command`` union itself, so none can be missed."""


def encode_command(command: Command) -> dict[str, Any]:
    """A command as JSON-ready data (for the Redis owner protocol): ``{"kind": <class name>, ...fields}``."""
    data = {f.name: getattr(command, f.name) for f in dataclasses.fields(command)}
    data["kind"] = type(command).__name__
    return data


def decode_command(data: Mapping[str, Any]) -> Command:
    """The inverse of :func:`encode_command`."""
    fields = dict(data)
    cls = COMMAND_TYPES.get(str(fields.pop("kind", "")))
    if cls is None:
        raise ValueError(f"unknown command kind {data.get('kind')!r}")
    unknown = set(fields) - {f.name for f in dataclasses.fields(cls)}
    if unknown:
        raise ValueError(f"unknown fields {sorted(unknown)} for {cls.__name__}")
    command: Command = cls(**fields)
    return command
