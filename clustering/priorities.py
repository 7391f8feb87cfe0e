"""Which statement to show a participant next: Pol.is's comment priority.

    importance = a · (1 − p) · (1 + E)
        a = (accepted + 1) / (seen + 2)   how agreeable (acceptable counts as accepted)
        p = (passes + 1) / (seen + 2)      how often people skip it
        E = extremity: distance from the map's centre of a virtual participant who agreed with only
            this statement, i.e. how much the statement shapes the map
    novelty = 1 + 8 · 2^(−seen / 5)         new statements get up to 9x, halving every 5 votes
    priority = (importance · novelty)²      squared "to deepen the bias"

(Pol.is `conversation.clj`, `importance-metric` and `priority-metric`.) Pol.is gives meta statements a
fixed priority of 7²; this library has no meta statements. Moderated-out statements get 0: never
routed. The server samples statements with probability proportional to priority.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

NOVELTY_BOOST = 8.0
"""A statement nobody has seen gets 1 + 8 = 9 times the weight (Pol.is `(* 8 (pow 2 (/ S -5)))`)."""

NOVELTY_HALF_LIFE_VOTES = 5.0
"""The novelty boost halves every 5 votes."""

PRIORITY_EXPONENT = 2.0
"""Pol.is squares the priority."""


def priority(
    accepted: NDArray[np.int64],
    passed: NDArray[np.int64],
    seen: NDArray[np.int64],
    extremity: NDArray[np.float64],
) -> NDArray[np.float64]:
    """Pol.is priority for each statement from its vote counts and extremity."""
    a = (accepted + 1.0) / (seen + 2.0)
    p = (passed + 1.0) / (seen + 2.0)
    importance = a * (1.0 - p) * (1.0 + extremity)
    novelty = 1.0 + NOVELTY_BOOST * np.power(2.0, -seen / NOVELTY_HALF_LIFE_VOTES)
    return np.asarray(np.power(importance * novelty, PRIORITY_EXPONENT))
