"""The wire protocol: parsing what clients send, shaping what the server sends.

Every message is a JSON object with ``"v": 1`` and a ``"type"``. Client commands carry an ``op`` (a
client operation id, unique per client) that comes back in the ``ack`` or ``error`` answering it. The
full protocol, with an example of every message, is docs/protocol.md; this module is its executable
form: it reads the frame (size, JSON, version, type, op) and checks the fields against the command's
declaration in :mod:`facilitation.core.registry`, refusing anything else with the one error shape.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

from facilitation.core.errors import ClientError, ProtocolError
from facilitation.core.registry import MAX_INT, MAX_OP_CHARS, ROLES, SPECS, ClientMessage, check_op, validate

__all__ = [
    "HOST_ONLY",
    "MAX_INT",
    "MAX_MESSAGE_BYTES",
    "MAX_OP_CHARS",
    "NEEDS_OP",
    "PARTICIPANT_ONLY",
    "PROTOCOL_VERSION",
    "ROLES",
    "SCHEMAS",
    "ClientMessage",
    "ProtocolError",
    "dumps",
    "dumps_answer",
    "error_message",
    "parse_client_message",
]

PROTOCOL_VERSION = 1
MAX_MESSAGE_BYTES = 8 * 1024
"""Largest client message the server reads; a 1,000-character statement is about 3 KB of UTF-8."""
MAX_PEEK_BYTES = 64 * 1024
"""An oversized message up to this size is still read for its ``op``, so its refusal reaches the client."""

SCHEMAS: dict[str, tuple[str, ...]] = {kind: spec.field_names for kind, spec in SPECS.items()}
"""Each message type's field names (derived from the registry)."""
HOST_ONLY = frozenset(kind for kind, spec in SPECS.items() if spec.roles == {"host"})
PARTICIPANT_ONLY = frozenset(kind for kind, spec in SPECS.items() if spec.roles == {"participant"})
NEEDS_OP = frozenset(kind for kind, spec in SPECS.items() if spec.needs_op)


def parse_client_message(raw: str | bytes) -> ClientMessage:
    """Validate one client frame; raise :class:`ProtocolError` saying exactly what is wrong.

    Once the frame is a JSON object with a valid ``op``, every refusal carries that op."""
    if isinstance(raw, bytes):
        raise ProtocolError("binary_frame", "send JSON text frames, not binary frames")
    # a code point is at most 4 bytes in UTF-8: only a long frame is encoded to count its bytes
    if len(raw) > MAX_MESSAGE_BYTES // 4 and (
            len(raw) > MAX_MESSAGE_BYTES or len(raw.encode("utf-8", "surrogatepass")) > MAX_MESSAGE_BYTES):
        raise ProtocolError("too_large", f"a message has at most {MAX_MESSAGE_BYTES} bytes", op=_peek_op(raw))
    try:
        data = orjson.loads(raw)  # the fast path; strict: no NaN, no lone surrogates, no huge integers
    except orjson.JSONDecodeError:
        try:  # what orjson refuses but the standard parser reads gets the field's own refusal, with its op
            data = json.loads(raw, parse_int=_bounded_int)
        except RecursionError:  # valid, but nested deeper than either parser goes: refused with its op
            raise ProtocolError("malformed", "the message is nested too deeply", op=_scan_op(raw)) from None
        except ValueError:
            raise ProtocolError("malformed", "the message is not valid JSON") from None
    if type(data) is not dict:
        raise ProtocolError("malformed", "a message must be a JSON object")
    op = check_op(data.get("op", ""))
    try:  # the message itself, in this function: it runs for every frame of every phone
        version = data.get("v", PROTOCOL_VERSION)
        if type(version) is not int or version != PROTOCOL_VERSION:
            raise ProtocolError("unsupported_version", f"this server speaks protocol version {PROTOCOL_VERSION}")
        kind = data.get("type")
        if kind is None:
            raise ProtocolError("missing_field", "a message needs a 'type'")
        spec = SPECS.get(kind) if type(kind) is str else None
        if spec is None:
            raise ProtocolError("unknown_type", f"unknown message type {ascii(kind)[:40]}")
        if not op and spec.needs_op:
            raise ProtocolError("missing_field", f"a {kind!r} command needs an 'op' (client operation id)")
        return ClientMessage(kind, op, validate(spec, data))
    except ClientError as exc:
        exc.op = exc.op or op
        raise


TOO_BIG = 2**64
"""What an integer too long for the standard parser (over 4,300 digits) reads as: out of every field's range,
so the field refuses it with the command's op."""


def _bounded_int(digits: str) -> int:
    return int(digits) if len(digits) <= 4300 else TOO_BIG


_WHITESPACE = " \t\n\r"


def _scan_op(raw: str) -> str:
    """The top-level ``op`` of a frame no parser reads (nested deeper than either allows), found by scanning
    the outer object's keys and skipping every value by its brackets; "" when there is none or it is invalid.
    Only refusals pay for it, and the frame is at most :data:`MAX_PEEK_BYTES`."""
    if len(raw) > MAX_PEEK_BYTES:
        return ""
    text = raw.strip(_WHITESPACE)
    if not text.startswith("{"):
        return ""
    i, depth, key, expect_key = 1, 1, None, True
    while i < len(text) and depth > 0:
        char = text[i]
        if char == '"':
            end = _string_end(text, i)
            if end < 0:
                return ""
            token = text[i:end + 1]
            if depth == 1 and expect_key:
                key = _decoded(token)
            elif depth == 1 and key == "op":
                try:
                    return check_op(_decoded(token))
                except ClientError:
                    return ""
            i = end + 1
            continue
        if char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
        elif char == ":" and depth == 1:
            expect_key = False
        elif char == "," and depth == 1:
            expect_key, key = True, None
        i += 1
    return ""


def _string_end(text: str, start: int) -> int:
    """The index of the quote closing the string that opens at ``start``, -1 if it never closes."""
    i = start + 1
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] == '"':
            return i
        i += 1
    return -1


def _decoded(token: str) -> str | None:
    try:
        value = json.loads(token)
    except ValueError:
        return None
    return value if isinstance(value, str) else None


def _peek_op(raw: str) -> str:
    """The op of an oversized frame, when it is small enough to read and has a valid one; else ""."""
    if len(raw) > MAX_PEEK_BYTES:
        return ""
    try:
        data = json.loads(raw)
        return check_op(data.get("op", "")) if isinstance(data, dict) else ""
    except (ValueError, RecursionError, ClientError):
        return ""


def dumps(message: dict[str, Any]) -> str:
    """Serialise a server message; compact, UTF-8 kept as is (Chinese text stays 3 bytes a character).

    orjson first: every ack, event and batch goes through here, and the standard encoder was 8% of the
    server's CPU per durable vote (orjson takes a seventh of that). Anything orjson refuses (a lone
    surrogate, an integer beyond 64 bits) falls back to the standard encoder, which never refuses."""
    try:
        return orjson.dumps(message, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return json.dumps(message, ensure_ascii=False, separators=(",", ":"))


def dumps_answer(message: dict[str, Any]) -> str:
    """:func:`dumps` for a message whose keys are all strings, as an ack or an error is: orjson without its
    non-string-keys option, which costs ~40 % of a small message's encoding. The same text as :func:`dumps`;
    any other message (an integer key, anything orjson refuses) is simply encoded by :func:`dumps`."""
    try:
        return orjson.dumps(message).decode()
    except TypeError:
        return dumps(message)


def error_message(error: ClientError, op: str = "") -> dict[str, Any]:
    """The WebSocket form of the one error shape; ``op`` defaults to the one the refusal carries."""
    message: dict[str, Any] = {"v": PROTOCOL_VERSION, "type": "error", "error": error.to_dict()}
    op = op or error.op
    if op:
        message["op"] = op
    return message
