"""The meeting's vote vocabulary, declared once.

Every layer that names a vote value — the meeting core, the live analysis, the summary and exports, the
pages (served to them, never copied into JavaScript) — reads it from here, so the values, their order on
a phone and their weight on the map cannot drift apart.
"""

from __future__ import annotations

from typing import Final

__all__ = ["SCALES", "VOTE_VALUES", "VOTE_WEIGHTS"]

VOTE_VALUES: Final[tuple[str, ...]] = ("agree", "acceptable", "pass", "disagree")
"""Every vote value, in the order a phone shows the buttons (贊成 / 可接受 / 略過 / 反對).

``acceptable`` means "not satisfied, but I can live with it" (雖不滿意但可接受)."""

VOTE_WEIGHTS: Final[dict[str, float]] = {"agree": 1.0, "acceptable": 0.5, "pass": 0.0, "disagree": -1.0}
"""Each value's position on the opinion map's vote matrix (Pol.is: agree +1, disagree -1, pass 0)."""

SCALES: Final[dict[str, tuple[str, ...]]] = {
    "consent": VOTE_VALUES,
    "classic": ("agree", "disagree", "pass"),
}
"""The values a meeting offers, per scale: ``consent`` (with "acceptable") or Pol.is's ``classic``."""
