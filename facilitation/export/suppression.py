"""Small-cell suppression for published breakdowns: no published count describes fewer than five people.

Open data is read by anyone, next to whatever else they know about the room. A row "業者: 2 participants,
both disagree" tells everyone in the room what those two voted. Statistical agencies publish no cell
below a threshold; here it is :data:`SMALL_CELL` = 5 participants (the open-data package's rule, issue 25).

The rule, applied to one breakdown (participants per role, per group, or voters per role on one statement):

1. every category with fewer than :data:`SMALL_CELL` people goes into one combined row (*other*);
2. if that row then holds 1-4 people, its size could be read off by subtraction from the total, so the
   smallest category still shown joins it too, again and again until the combined row holds at least
   :data:`SMALL_CELL` people or nothing is shown separately any more (secondary suppression);
3. a category with nobody in it is left out, not shown as 0 (a zero is a small cell too).

The combined row may end up with fewer than five people only when it is the whole breakdown (the room had
fewer than five people), and then it equals the room's total, which is published anyway.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["SMALL_CELL", "rollup"]

SMALL_CELL = 5
"""Fewest people a published breakdown row may describe."""


def rollup(sizes: Mapping[str, int], other: str, threshold: int = SMALL_CELL) -> dict[str, str]:
    """Each category with people in it -> the name it is published under: itself, or ``other``.

    ``sizes`` counts people per category (in the order categories should be considered shown); categories
    of size 0 are left out of the answer. Deterministic: ties among equally small categories are broken by
    name, so the same meeting always publishes the same rows.
    """
    present = {name: n for name, n in sizes.items() if n > 0}
    combined = {name for name, n in present.items() if n < threshold}
    shown = sorted((name for name in present if name not in combined), key=lambda name: (present[name], name))
    while combined and sum(present[name] for name in combined) < threshold and shown:
        combined.add(shown.pop(0))
    return {name: other if name in combined else name for name in present}
