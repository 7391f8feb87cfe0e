"""Join codes: short, unambiguous when read aloud or typed on a phone, and hard to guess.

Six characters from a 31-letter alphabet without look-alikes (no 0, O, 1, I or L) give 31**6, about
887 million codes; with join attempts rate-limited per address, guessing a live meeting's code is
impractical. Codes are shown grouped (``ABC-DEF``) but accepted in any case and with or
without separators.
"""

from __future__ import annotations

import re
import secrets

__all__ = ["ALPHABET", "CODE_LENGTH", "format_code", "new_code", "normalize_code"]

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 6
_CODE_RE = re.compile(f"^[{ALPHABET}]{{{CODE_LENGTH}}}$")


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def normalize_code(text: str) -> str | None:
    """The canonical code typed by a person (``abc-def`` -> ``ABCDEF``), or None if it cannot be one."""
    cleaned = re.sub(r"[\s\-_.]", "", text).upper()
    return cleaned if _CODE_RE.match(cleaned) else None


def format_code(code: str) -> str:
    return f"{code[:3]}-{code[3:]}"
