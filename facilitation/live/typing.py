"""How many phones are writing a statement right now: a transient signal, never logged.

A phone says ``typing`` (``active: true``) while its statement box holds unsent text, repeating it at most
every few seconds, and ``active: false`` when the box is emptied or sent. The room counts the phones heard
from within :data:`TYPING_TTL` and tells the host console when the count changes, so the host sees how many
people are still writing before moving on from 蒐集意見. A phone that vanishes mid-sentence (closed tab,
tunnel) drops out of the count when its last signal expires. Counted per process: with several workers
serving one meeting over Redis, the console counts the phones connected to its own worker.
"""

from __future__ import annotations

__all__ = ["TYPING_TTL", "Typing"]

TYPING_TTL = 8.0
"""Seconds a phone counts as writing after its last ``typing`` signal; phones repeat it every 3 s while
the text changes (static/js/typing.js), so a pause to think of a word does not drop them."""


class Typing:
    """The phones writing now, by participant id, with the time of each one's last signal."""

    __slots__ = ("_last",)

    def __init__(self) -> None:
        self._last: dict[int, float] = {}

    def update(self, participant: int, active: bool, now: float) -> None:
        if active:
            self._last[participant] = now
        else:
            self._last.pop(participant, None)

    def clear(self) -> None:
        self._last.clear()

    def count(self, now: float) -> int:
        """Phones heard from within TYPING_TTL (expired ones are forgotten)."""
        for participant in [p for p, at in self._last.items() if now - at >= TYPING_TTL]:
            del self._last[participant]
        return len(self._last)

    def next_expiry(self) -> float | None:
        """When the oldest signal expires (None: nobody is writing)."""
        return min(self._last.values()) + TYPING_TTL if self._last else None
