"""Field checks: the one validation boundary every client value passes, over the WebSocket and HTTP.

A command's declaration (:class:`facilitation.core.command.CommandSpec`) lists its :class:`Field` s; each
check takes the raw JSON value and the field's name and returns the clean value or raises
:class:`~facilitation.core.errors.ProtocolError` naming the field. Every string goes through
:func:`facilitation.core.text.clean`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from facilitation.core import text
from facilitation.core.errors import ProtocolError
from facilitation.core.state import HOST_SETTINGS, HostSetting

__all__ = [
    "MAX_INT",
    "MAX_OP_CHARS",
    "MAX_SECRET_CHARS",
    "MAX_WORD_CHARS",
    "SETTING_CHANGES",
    "WORD",
    "Check",
    "Field",
    "bool_field",
    "changes_field",
    "check_op",
    "choice_field",
    "int_field",
    "list_field",
    "secret_field",
    "setting_check",
    "text_field",
]

MAX_OP_CHARS = 64
MAX_INT = 2**53
"""Integers above this are not exactly representable in a phone's JavaScript and are refused."""
MAX_SECRET_CHARS = 128
MAX_WORD_CHARS = 32
"""Vote values, phases, actions, statuses: short words the meeting checks against its own vocabulary."""

Check = Callable[[Any, str], Any]
"""A field check: takes the raw JSON value and the field's name, returns the clean value or raises."""


# ---------------------------------------------------------------- field checks


def text_field(max_chars: int, *, multiline: bool = False, visible: bool = True) -> Check:
    """Free text: see :func:`facilitation.core.text.clean`. ``visible``: text made only of invisible characters
    is refused (empty stays allowed where the field is optional)."""

    plain, clean = text.is_plain_word, text.clean

    def check(value: Any, name: str) -> str:
        if plain(value, max_chars):  # a vote value, a phase: already clean (see is_plain_word)
            return value  # type: ignore[no-any-return]
        return clean(value, name, max_chars=max_chars, multiline=multiline, visible=visible)

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
    if type(value) is str and value.isascii() and value.isprintable() and not value.isspace() \
            and len(value) <= MAX_OP_CHARS:
        return value  # printable ASCII not only spaces (or empty): nothing forbidden, visible unless empty
    if (not isinstance(value, str) or len(value) > MAX_OP_CHARS or text.has_forbidden(value)
            or (value and not text.is_visible(value))):
        raise ProtocolError("invalid_field", f"'op' must be a string of at most {MAX_OP_CHARS} visible "
                                             "characters without control characters")
    return value


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    check: Check
    required: bool = False
    example: Any = None
    """A valid value, for the boundary's tests (they send every declared field, valid and hostile); a field
    whose name an older command already has an example for may leave it out."""


WORD = text_field(MAX_WORD_CHARS)
"""A short word the meeting checks against its own vocabulary (a vote value, a phase, an action)."""


def setting_check(setting: HostSetting) -> Check:
    """The wire check of a host-changeable setting, from its declaration."""
    if setting.kind is bool:
        return bool_field
    if setting.choices:
        return choice_field(setting.choices)
    return text_field(setting.max_chars, multiline=setting.multiline)


SETTING_CHANGES: dict[str, Check] = {name: setting_check(s) for name, s in HOST_SETTINGS.items()}
"""The settings a host may change while the meeting runs, with their wire checks (derived)."""
