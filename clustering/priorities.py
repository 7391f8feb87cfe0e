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

from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray

from clustering.votes import Id

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


IMPORTANCE_BOOST = 1.0
"""How much "this matters to me" raises a statement's routing weight: a statement every voter marked weighs
up to (1 + 1)² = 4 times as much (the factor is squared like the rest of the priority). Our choice: Pol.is
records the flag on each vote (`votes.high_priority`) but its `priority-metric` does not read it."""


def importance_factor(important: NDArray[np.int64], seen: NDArray[np.int64]) -> NDArray[np.float64]:
    """The multiplier of a statement's priority from how many of its voters marked it important:
    `(1 + IMPORTANCE_BOOST · important / (seen + 1))²` (1 when nobody did; the +1 keeps one mark among
    one vote from doubling the share's weight at once)."""
    share = np.asarray(important, dtype=np.float64) / (np.asarray(seen, dtype=np.float64) + 1.0)
    return np.asarray(np.power(1.0 + IMPORTANCE_BOOST * share, PRIORITY_EXPONENT))


def wanted_by(shortfalls: Mapping[Any, Any]) -> dict[tuple[str, str], tuple[Id, ...]]:
    """Which statements each opinion group (`("group", "A")`, or `("group", "all")` without groups) and
    each stakeholder role (`("role", name)`) should be shown first: those the readiness computation
    (`clustering.readiness.shortfalls`) says it is short on, the closest to settled first (fewest votes
    still needed, then statement order)."""
    by_unit: dict[tuple[str, str], list[tuple[int, Any, Id]]] = {}
    for statement, short in shortfalls.items():
        rank = (short.votes, _order_key(statement), statement)
        for group in short.groups:
            by_unit.setdefault(("group", group), []).append(rank)
        for role in short.roles:
            by_unit.setdefault(("role", role), []).append(rank)
    return {unit: tuple(s for *_, s in sorted(ranks, key=lambda r: (r[0], r[1]))) for unit, ranks in by_unit.items()}


def _order_key(statement: Id) -> tuple[int, Any]:
    return (0, statement) if isinstance(statement, int) else (1, str(statement))
