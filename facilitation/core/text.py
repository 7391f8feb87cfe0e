"""The one text validator: every string a client sends passes through :func:`clean` before anything uses it.

Text reaches the server over the WebSocket and over HTTP, in statements, nicknames, titles, roles, seeds,
reasons, follow-up answers, setting changes, op ids, tokens and host keys. Whatever the field, it is checked
here, once, the same way:

- **Unicode scalar values only.** A lone UTF-16 surrogate (``"\\ud800"`` written as a JSON escape) is valid
  JSON but not text: it cannot be encoded as UTF-8, so a store, an export or a socket would fail on it later,
  far from the client that sent it. It is refused at the door.
- **No control characters** (C0, DEL, C1: NUL, BEL, ESC, ...) except the whitespace ones (tab, newline,
  carriage return), which normalisation turns into spaces or line breaks. **No bidi embeddings, overrides or
  isolates** (U+202A-202E, U+2066-2069): they reorder the text around them in exports and on screens
  ("Trojan source"). The plain direction marks LRM/RLM/ALM are kept: right-to-left writers need them and
  they cannot reorder anything beyond a neutral character.
- **Stored in NFC**, whitespace collapsed (single-line fields) or line breaks kept (multi-line fields), and
  **lengths counted in characters** of that stored form.
- A field that must say something (a statement, a title, a role) needs at least one **visible** character:
  zero-width characters, format characters, combining marks without a base, whitespace and the Hangul and
  Braille "blank letters" are not.

:func:`dedup_key` gives the form under which two statements count as the same one: NFKC (full-width and
compatibility forms), invisible characters removed, case folded, whitespace collapsed.
"""

from __future__ import annotations

import re
import unicodedata

from facilitation.core.errors import ProtocolError

__all__ = [
    "FORBIDDEN",
    "FORMAT_CHARACTERS",
    "check_chars",
    "clean",
    "collapse",
    "dedup_key",
    "has_forbidden",
    "is_plain_word",
    "is_visible",
]

FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
"""Characters no client text may contain: controls other than tab/newline/carriage return, bidi embeddings,
overrides and isolates, and surrogates (which in a Python string are always lone ones from a JSON escape)."""

_BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")
"""Letters and symbols that render as nothing (Hangul fillers, the blank Braille pattern)."""
_INVISIBLE_CATEGORIES = frozenset({"Cf", "Cc", "Mn", "Me", "Mc", "Zs", "Zl", "Zp", "Cs"})
"""Unassigned code points (Cn) count as visible: an emoji newer than this Python's Unicode tables must pass."""
FORMAT_CHARACTERS = (
    "\x00-\x1f\x7f-\x9f\xad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b-\u200f"
    "\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\U000110bd\U000110cd\U00013430-\U00013438"
    "\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f"
)
"""Every character of general category Cf, Cc, Zl or Zp (Unicode 14, this Python's tables; a unit test checks
the list against :mod:`unicodedata`), as a regular-expression class: a per-character category lookup made the
duplicate key of a 140-character statement cost ~40 µs."""
_STRIPPED_FROM_KEY = re.compile(
    f"[{FORMAT_CHARACTERS}\ufe00-\ufe0f\U000e0100-\U000e01ef\u180b-\u180d\u034f{''.join(_BLANK_LETTERS)}]"
)
"""Removed from the duplicate key: format characters, variation selectors, the grapheme joiner, blank letters."""
_LINE_BREAKS = re.compile("\r\n|[\r\u2028\u2029\x85]")


def has_forbidden(text: str) -> bool:
    return FORBIDDEN.search(text) is not None


def check_chars(text: str, name: str) -> None:
    """Refuse ``text`` if it holds a character no client text may contain (see :data:`FORBIDDEN`)."""
    found = FORBIDDEN.search(text)
    if found is None:
        return
    char = found.group()
    if "\ud800" <= char <= "\udfff":
        raise ProtocolError("invalid_field", f"{name!r} is not valid Unicode text (a lone surrogate)")
    what = "a bidi control" if "\u202a" <= char <= "\u2069" else "a control character"
    raise ProtocolError("invalid_field", f"{name!r} contains {what} (U+{ord(char):04X})")


def collapse(text: str) -> str:
    """NFC with runs of whitespace (line breaks included) collapsed to one space, ends trimmed."""
    return " ".join(unicodedata.normalize("NFC", text).split())


def _multiline(text: str) -> str:
    lines = _LINE_BREAKS.sub("\n", unicodedata.normalize("NFC", text)).split("\n")
    return "\n".join(" ".join(line.split()) for line in lines).strip("\n")


_ASCII_VISIBLE = re.compile("[!-~]")


def is_visible(text: str) -> bool:
    """Whether ``text`` shows anything: at least one character that is not invisible (see module doc)."""
    if text.isascii():  # the common case (op ids, vote values), without a per-character lookup
        return _ASCII_VISIBLE.search(text) is not None
    return any(
        unicodedata.category(char) not in _INVISIBLE_CATEGORIES and char not in _BLANK_LETTERS for char in text
    )


def is_plain_word(value: object, max_chars: int) -> bool:
    """Whether :func:`clean` would return ``value`` itself, for any ``multiline`` and ``visible``, known without
    its work: a non-empty ``str`` of at most ``max_chars`` printable ASCII characters and no space (nothing to
    refuse, normalise, collapse or find invisible). Vote values and op ids are such words, and every frame
    carries them: a C scan or three instead of a regular expression, a normalisation and a split. Anything
    else is simply not known clean here and goes through :func:`clean`."""
    return (type(value) is str and value.isascii() and value.isprintable() and " " not in value
            and 0 < len(value) <= max_chars)


def clean(value: object, name: str, *, max_chars: int, multiline: bool = False, visible: bool = False) -> str:
    """The stored form of a client's text field, or a :class:`ProtocolError` saying what is wrong.

    ``value`` must be a ``str`` (never coerced: ``5`` or ``["a"]`` are refused). ``visible``: an empty
    result is allowed, but text made only of invisible characters is refused (an optional field may be
    left empty, not filled with zero-width spaces); required fields check emptiness themselves.
    """
    if not isinstance(value, str):
        raise ProtocolError("invalid_field", f"{name!r} must be a string")
    if len(value) > 4 * max_chars + 64:  # before any work: a 1 MiB frame must not cost a normalisation
        raise ProtocolError("too_long", f"{name!r} has at most {max_chars} characters")
    check_chars(value, name)
    text = _multiline(value) if multiline else collapse(value)
    if len(text) > max_chars:
        raise ProtocolError("too_long", f"{name!r} has at most {max_chars} characters, got {len(text)}")
    if visible and text and not is_visible(text):
        raise ProtocolError("empty", f"{name!r} has no visible character")
    return text


def dedup_key(text: str) -> str:
    """The form under which two texts are the same statement.

    NFKC folds full-width and compatibility forms (ＡＢＣ = ABC, ① = 1); format characters (zero-width
    space and joiners, soft hyphen, word joiner, BOM, direction marks), variation selectors and the blank
    letters are removed; case is folded; whitespace is collapsed.
    """
    spaced = " ".join(_nfkc(text).split())  # whitespace controls count as spaces
    kept = _STRIPPED_FROM_KEY.sub("", spaced)
    return " ".join(_nfkc(kept.casefold()).split())


def _nfkc(text: str) -> str:
    # Checking first is ~100x cheaper than normalising text that is already NFKC (most text is).
    return text if unicodedata.is_normalized("NFKC", text) else unicodedata.normalize("NFKC", text)
