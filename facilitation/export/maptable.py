"""The opinion map as a table, for the reports: each group's people on the map and where they sit.

A screen reader cannot read dots, and a printed map in grey loses its colours: this table says what the
map shows, row by row (WCAG 1.1.1 long description). Rows and words are those of the pages' table
(static/js/maptable.js: the same ``maptable.*`` keys, the same thirds of the same 1000 x 600 view), so the
console, the projector's screen-reader table and the reports agree.
"""

from __future__ import annotations

from dataclasses import dataclass

from facilitation.export.i18n import Catalog
from facilitation.export.summary import Summary
from facilitation.export.svg import VIEW_H, VIEW_W, project

__all__ = ["MapRow", "map_rows", "region"]


@dataclass(frozen=True)
class MapRow:
    group: str | None
    """The group's id, None for participants on the map but in no group."""
    people: int
    where: str
    """``top_left`` ... ``bottom_right`` or ``center``: the thirds of the view holding the rows' centre."""

    def name(self, cat: Catalog) -> str:
        return cat.t("maptable.no_group") if self.group is None else cat.t("maptable.group", group=self.group)


def region(x: float, y: float) -> str:
    """The third of the view a point lies in (static/js/maptable.js ``region``)."""
    col = "left" if x < VIEW_W / 3 else "right" if x > 2 * VIEW_W / 3 else ""
    row = "top" if y < VIEW_H / 3 else "bottom" if y > 2 * VIEW_H / 3 else ""
    return "_".join(part for part in (row, col) if part) or "center"


def map_rows(summary: Summary) -> list[MapRow]:
    """One row per group with people on the map (in group order), then one for those in no group."""
    at = project(summary.map)
    rows = []
    for key in [*(g.id for g in summary.groups), None]:
        mine = [at[p.participant] for p in summary.map if p.group == key]
        if mine:
            cx = sum(x for x, _ in mine) / len(mine)
            cy = sum(y for _, y in mine) / len(mine)
            rows.append(MapRow(key, len(mine), region(cx, cy)))
    return rows
