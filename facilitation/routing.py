"""Which statement a participant sees next.

Priority, in order (documented in docs/protocol.md, "Next statement"):

1. **New statements first.** An accepted statement with fewer than :data:`NEW_STATEMENT_VOTES` votes
   is still unknown to the map; the one with the fewest votes (then the oldest) comes first, so every
   fresh statement quickly gets enough votes to be placed.
2. **Then the informative ones.** Among the rest, a statement is drawn at random with weight equal to
   the clustering library's routing priority (Pol.is's importance x novelty boost, squared): statements
   that separate or unite the opinion groups are shown more, yet every phone does not see the same order,
   which would starve the tail of votes.

The random source (or its seed) is passed in, so the choice is reproducible in tests and the core stays pure.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence

from facilitation.meeting import Statement

__all__ = ["NEW_STATEMENT_VOTES", "next_statement"]

NEW_STATEMENT_VOTES = 5
"""A statement with fewer votes than this is "new": it goes before any priority-ranked statement."""

DEFAULT_PRIORITY = 1.0
"""The weight of a statement the last analysis did not rank (it was posted after the analysis ran)."""


def next_statement(
    candidates: Sequence[Statement], priorities: Mapping[int, float], rng: random.Random | int
) -> Statement | None:
    """Which of ``candidates`` (the statements a participant has not voted on) to show next; None if empty."""
    if not candidates:
        return None
    fresh = [s for s in candidates if sum(s.tally.values()) < NEW_STATEMENT_VOTES]
    if fresh:
        return min(fresh, key=lambda s: (sum(s.tally.values()), s.created_at, s.id))
    weights = [max(priorities.get(s.id, DEFAULT_PRIORITY), 1e-6) for s in candidates]
    if isinstance(rng, int):
        rng = random.Random(rng)  # seeded only here: seeding costs more than the rest of a vote's routing
    return rng.choices(list(candidates), weights=weights, k=1)[0]
