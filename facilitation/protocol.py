"""The wire protocol: parsing what clients send, shaping what the server sends.

Every message is a JSON object with ``"v": 1`` and a ``"type"``. Client commands carry an ``op`` (a
client operation id, unique per client) that comes back in the ``ack`` or ``error`` answering it. The
full protocol, with an example of every message, is docs/protocol.md; this module is its executable
form and refuses anything the page does not describe, with the one error shape.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from facilitation.errors import ClientError

__all__ = [
    "HOST_ONLY",
    "MAX_MESSAGE_BYTES",
    "PROTOCOL_VERSION",
    "ClientMessage",
    "ProtocolError",
    "dumps",
    "error_message",
    "parse_client_message",
]

PROTOCOL_VERSION = 1
MAX_MESSAGE_BYTES = 8 * 1024
"""Largest client message the server reads; a 1,000-character statement is about 3 KB of UTF-8."""
MAX_OP_CHARS = 64
MAX_TEXT_CHARS = 2000
"""Hard cap on any text field before the meeting's own, smaller, statement limit applies."""
MAX_INT = 2**53
"""Ids above this are not exactly representable in a phone's JavaScript and are refused."""


class ProtocolError(ClientError):
    """A message that is not valid protocol: not JSON, unknown type, missing or mistyped field.

    ``op`` is the command's operation id when the frame parsed far enough to read a valid one, so the
    refusal reaches the client waiting for that op instead of leaving it hanging."""

    op: str = ""


_Field = tuple[type, bool]  # (type, required)

SCHEMAS: dict[str, dict[str, _Field]] = {
    "hello": {
        "role": (str, True),
        "since": (int, False),
        "token": (str, False),
        "host_key": (str, False),
        "nickname": (str, False),
        "stakeholder": (str, False),
    },
    "vote": {"statement": (int, True), "value": (str, True)},
    "post": {"text": (str, True)},
    "profile": {"nickname": (str, False), "stakeholder": (str, False)},
    "next": {},
    "ping": {},
    "seed": {"text": (str, True)},
    "moderate": {"statement": (int, True), "action": (str, True), "reason": (str, False)},
    "phase": {"phase": (str, True)},
    "settings": {"changes": (dict, True)},
    "analysis": {"action": (str, True)},
    "follow_up": {"statement": (int, True), "status": (str, True), "response": (str, False)},
}

HOST_ONLY = frozenset({"seed", "moderate", "phase", "settings", "analysis", "follow_up"})
PARTICIPANT_ONLY = frozenset({"vote", "post", "profile", "next"})
NEEDS_OP = frozenset({"vote", "post", "seed", "moderate", "phase", "settings", "profile", "analysis", "follow_up"})
ROLES = ("participant", "host", "projector")


@dataclass(frozen=True, slots=True)
class ClientMessage:
    type: str
    op: str
    fields: dict[str, Any]


def parse_client_message(raw: str | bytes) -> ClientMessage:
    """Validate one client frame; raise :class:`ProtocolError` saying exactly what is wrong."""
    if isinstance(raw, bytes):
        raise ProtocolError("binary_frame", "send JSON text frames, not binary frames")
    if len(raw) > MAX_MESSAGE_BYTES or len(raw.encode("utf-8", "surrogatepass")) > MAX_MESSAGE_BYTES:
        raise ProtocolError("too_large", f"a message has at most {MAX_MESSAGE_BYTES} bytes")
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        raise ProtocolError("malformed", "the message is not valid JSON") from None
    if not isinstance(data, dict):
        raise ProtocolError("malformed", "a message must be a JSON object")
    version = data.get("v", PROTOCOL_VERSION)
    if version != PROTOCOL_VERSION or isinstance(version, bool):
        raise ProtocolError("unsupported_version", f"this server speaks protocol version {PROTOCOL_VERSION}")
    kind = data.get("type")
    if not isinstance(kind, str) or kind not in SCHEMAS:
        raise ProtocolError("unknown_type", f"unknown message type {str(kind)[:40]!r}")
    op = data.get("op", "")
    if not isinstance(op, str) or len(op) > MAX_OP_CHARS or _has_lone_surrogate(op):
        raise ProtocolError("invalid_field", f"'op' must be a string of at most {MAX_OP_CHARS} characters")
    if kind in NEEDS_OP and not op:
        raise ProtocolError("missing_field", f"a {kind!r} command needs an 'op' (client operation id)")
    try:
        return ClientMessage(kind, op, _fields(kind, data))
    except ProtocolError as exc:
        exc.op = op
        raise


def _fields(kind: str, data: dict[str, Any]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for name, (expected, required) in SCHEMAS[kind].items():
        if name not in data or data[name] is None:
            if required:
                raise ProtocolError("missing_field", f"a {kind!r} message needs the field {name!r}")
            continue
        value = data[name]
        if expected is int and (isinstance(value, bool) or not isinstance(value, int)):
            raise ProtocolError("invalid_field", f"{name!r} must be an integer")
        if expected is int and not 0 <= value <= MAX_INT:
            raise ProtocolError("invalid_field", f"{name!r} is out of range")
        if expected is str and not isinstance(value, str):
            raise ProtocolError("invalid_field", f"{name!r} must be a string")
        if expected is str and len(value) > MAX_TEXT_CHARS:
            raise ProtocolError("too_large", f"{name!r} has at most {MAX_TEXT_CHARS} characters")
        if expected is str and _has_lone_surrogate(value):
            raise ProtocolError("invalid_field", f"{name!r} is not valid Unicode text")
        if expected is dict and not isinstance(value, dict):
            raise ProtocolError("invalid_field", f"{name!r} must be an object")
        fields[name] = value
    if kind == "hello" and fields["role"] not in ROLES:
        raise ProtocolError("invalid_field", f"role must be one of {', '.join(ROLES)}")
    return fields


def _has_lone_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def dumps(message: dict[str, Any]) -> str:
    """Serialise a server message; compact, UTF-8 kept as is (Chinese text stays 3 bytes a character)."""
    return json.dumps(message, ensure_ascii=False, separators=(",", ":"))


def error_message(error: ClientError, op: str = "") -> dict[str, Any]:
    """The WebSocket form of the one error shape."""
    message: dict[str, Any] = {"v": PROTOCOL_VERSION, "type": "error", "error": error.to_dict()}
    if op:
        message["op"] = op
    return message
