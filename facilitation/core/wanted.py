"""Who can settle an unsettled statement (issue 24): routing's view of the last analysis's ``needs``.

The analysis run lists the statements whose lane is not settled yet, with the opinion groups and stakeholder
roles still short of votes on each (``clustering.readiness.shortfalls``, the map message's ``needs``, the
closest to settled first). A phone whose group or role is short on such a statement is the one whose vote
settles it, so :class:`~facilitation.core.next_statement.Router` shows it to them before any statement drawn
by priority. This module only reads the message (plain dicts): the core stays free of the analysis.

Between two runs the needs are the last run's: a few more people of a short group may be sent the statement
than it still needed, until the next run says it is settled (as ``clustering.readiness`` states).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Wanted", "wanted_from_map"]


@dataclass(frozen=True)
class Wanted:
    """The unsettled statements and who is short of votes on each, from one analysis run."""

    order: tuple[int, ...] = ()
    """Unsettled statement ids, the closest to settled first (the order the run ranked them)."""
    groups: Mapping[int, frozenset[str]] = field(default_factory=dict)
    """Per statement, the opinion groups (their ids in the map, or ``"all"`` without groups) still short."""
    roles: Mapping[int, frozenset[str]] = field(default_factory=dict)
    """Per statement, the stakeholder roles still short of voters."""
    group_of: Mapping[int, str] = field(default_factory=dict)
    """The opinion group of each clustered participant in that run."""

    def for_participant(self, group: str | None, role: str) -> list[int]:
        """The statements a participant of ``group`` (None: in no group) and ``role`` ("" for none) could
        help settle, in the run's order."""
        return [s for s in self.order
                if (group is not None and group in self.groups.get(s, ()))
                or "all" in self.groups.get(s, ())
                or (role and role in self.roles.get(s, ()))]


def wanted_from_map(msg: Mapping[str, Any] | None) -> Wanted | None:
    """The :class:`Wanted` of a map message (``analysis/messages.map_message`` plus its ``needs``); None
    when there is no map or it names nothing unsettled."""
    if not msg:
        return None
    needs = msg.get("needs")
    if not isinstance(needs, list) or not needs:
        return None
    order: list[int] = []
    groups: dict[int, frozenset[str]] = {}
    roles: dict[int, frozenset[str]] = {}
    for need in needs:
        try:
            statement = int(need["statement"])
        except (KeyError, TypeError, ValueError):
            continue  # a statement id that is not ours (the analysis library takes any id): nothing to route
        order.append(statement)
        groups[statement] = frozenset(str(g) for g in need.get("groups") or {})
        roles[statement] = frozenset(str(r) for r in need.get("roles") or {})
    group_of: dict[int, str] = {}
    points = msg.get("points") or {}
    ids = [str(g.get("id")) for g in msg.get("groups") or []]
    for participant, index in zip(points.get("participants") or [], points.get("group") or [], strict=False):
        if isinstance(index, int) and 0 <= index < len(ids):
            group_of[int(participant)] = ids[index]
    return Wanted(tuple(order), groups, roles, group_of) if order else None
