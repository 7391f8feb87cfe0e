"""The opinion map as an inline SVG image, drawn the way the projector draws it.

Same view box (1000 x 600), same uniform projection (distances keep their meaning, y not flipped), same
group colours (the Okabe-Ito palette of static/css/projector.css, ``.g0`` ... ``.g7``, grey for
participants not in a group), same shapes per group (circle, square, triangle, diamond, cross, as in
static/js/map.js) on the projector's dark panel, and the same labels ("A 組 · 12 人", the pages'
``map.group_label``) in a dark rounded box outlined in the group's colour. A label is placed beside its
group where it covers the fewest dots, never on top of its own group when there is room elsewhere.

Drawn from the summary's positions (the analysis the room saw), not recomputed. Every piece of text is
escaped, so the image can be inlined in HTML and embedded in Markdown as a data URI. Text uses Noto Sans
CJK TC by name so WeasyPrint finds a font with the Chinese glyphs of the labels.
"""

from __future__ import annotations

import base64
import html
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from facilitation.export.i18n import Catalog
from facilitation.export.summary import MapPoint, Summary

__all__ = ["GROUP_COLOURS", "SHAPES", "Label", "label_boxes", "map_data_uri", "map_svg", "stacked"]

GROUP_COLOURS = ("#E69F00", "#56B4E9", "#009E73", "#F0E442", "#CC79A7", "#D55E00", "#0072B2", "#FFFFFF")
"""The projector's group colours (static/css/projector.css ``.g0``-``.g7``), by group index."""
UNGROUPED = "#8a8a8a"
BACKGROUND = "#141418"
DOT_STROKE = "#0d0d0f"
VIEW_W, VIEW_H, MARGIN = 1000, 600, 60
DOT = 12
FONT = "'Noto Sans CJK TC', 'Noto Sans TC', 'Noto Sans', sans-serif"
LABEL_FONT_SIZE = 26
STACK_FONT_SIZE = 26
STACK_PX = 2
"""Marks closer than this (view pixels) are one pile with a "×n" count (static/js/map.js `STACK_PX`)."""
LABEL_HEIGHT = 40
LABEL_GAP = 6

SHAPES = (
    f"M {-DOT} 0 a {DOT} {DOT} 0 1 0 {2 * DOT} 0 a {DOT} {DOT} 0 1 0 {-2 * DOT} 0",
    f"M {-DOT} {-DOT} h {2 * DOT} v {2 * DOT} h {-2 * DOT} Z",
    f"M 0 {-DOT * 1.2:g} L {DOT * 1.1:g} {DOT * 0.9:g} L {-DOT * 1.1:g} {DOT * 0.9:g} Z",
    f"M 0 {-DOT * 1.25:g} L {DOT * 1.25:g} 0 L 0 {DOT * 1.25:g} L {-DOT * 1.25:g} 0 Z",
    f"M {-DOT} {-DOT / 3:g} h {DOT * 2 / 3:g} v {-DOT * 2 / 3:g} h {DOT * 2 / 3:g} v {DOT * 2 / 3:g} "
    f"h {DOT * 2 / 3:g} v {DOT * 2 / 3:g} h {-DOT * 2 / 3:g} v {DOT * 2 / 3:g} h {-DOT * 2 / 3:g} "
    f"v {-DOT * 2 / 3:g} h {-DOT * 2 / 3:g} Z",
)
"""The projector's group shapes (static/js/map.js ``SHAPES``), centred on the participant."""


@dataclass(frozen=True)
class Label:
    """A group label's box in view coordinates (centre, size) and its text."""

    group: str
    text: str
    x: float
    y: float
    width: float
    height: float

    def covers(self, px: float, py: float, pad: float = DOT) -> bool:
        return abs(px - self.x) < self.width / 2 + pad and abs(py - self.y) < self.height / 2 + pad

    def overlaps(self, other: Label) -> bool:
        return abs(self.x - other.x) < (self.width + other.width) / 2 + LABEL_GAP and \
            abs(self.y - other.y) < (self.height + other.height) / 2 + LABEL_GAP


def colour_of(index: int) -> str:
    return GROUP_COLOURS[index % len(GROUP_COLOURS)] if index >= 0 else UNGROUPED


def shape_of(index: int) -> str:
    return SHAPES[max(index, 0) % len(SHAPES)]


def text_width(text: str, size: float = LABEL_FONT_SIZE) -> float:
    """An upper estimate of the text's width: wide (CJK) characters 1 em, others 0.62 em."""
    return sum(size if unicodedata.east_asian_width(c) in "WF" else size * 0.62 for c in text)


def project(points: Sequence[MapPoint]) -> dict[int, tuple[float, float]]:
    """The projector's projection (map.js ``projection``): one scale for both axes, centred."""
    if not points:
        return {}
    xs = [p.x for p in points]
    ys = [p.y for p in points]
    min_x, max_x, min_y, max_y = min(xs), max(xs), min(ys), max(ys)
    span_x, span_y = max(max_x - min_x, 1e-9), max(max_y - min_y, 1e-9)
    scale = min((VIEW_W - 2 * MARGIN) / span_x, (VIEW_H - 2 * MARGIN - 40) / span_y)
    off_x = (VIEW_W - span_x * scale) / 2
    off_y = (VIEW_H - span_y * scale) / 2 + 20
    if max_x == min_x and max_y == min_y:
        return {p.participant: (VIEW_W / 2, VIEW_H / 2) for p in points}
    return {p.participant: (off_x + (p.x - min_x) * scale, off_y + (p.y - min_y) * scale) for p in points}


def label_boxes(summary: Summary, cat: Catalog) -> list[Label]:
    """One label per group that has dots, each where it covers the fewest dots (its own group's count
    double) and no other label, preferring a spot just above the group."""
    at = project(summary.map)
    dots = [(at[p.participant], p.group) for p in summary.map]
    placed: list[Label] = []
    for g in summary.groups:
        mine = [xy for xy, group in dots if group == g.id]
        if not mine:
            continue
        text = cat.plural("map.group_label", g.size, group=g.id, size=g.size)
        width = max(80.0, text_width(text) + 28)
        left, right = min(x for x, _ in mine), max(x for x, _ in mine)
        top, bottom = min(y for _, y in mine), max(y for _, y in mine)
        cx = sum(x for x, _ in mine) / len(mine)
        cy = sum(y for _, y in mine) / len(mine)
        half_w, half_h = width / 2, LABEL_HEIGHT / 2
        candidates = [(cx, top - DOT - half_h - 4), (cx, bottom + DOT + half_h + 4),
                      (left - DOT - half_w - 4, cy), (right + DOT + half_w + 4, cy)]
        for step in range(1, 12):  # then further out, above and below, in 24-unit steps
            candidates += [(cx, top - DOT - half_h - 4 - 24 * step), (cx, bottom + DOT + half_h + 4 + 24 * step)]
        candidates += [(x, y) for x in range(int(half_w) + 4, VIEW_W - int(half_w) - 3, 40)
                       for y in range(int(half_h) + 4, VIEW_H - int(half_h) - 3, 24)]
        best: tuple[float, Label] | None = None
        for order, (x, y) in enumerate(candidates):
            if order >= 26 and best is not None and best[0] < 10_000:
                break  # a spot beside the group covers no dot: the grid cannot do better
            x = min(VIEW_W - half_w - 4, max(half_w + 4, x))
            y = min(VIEW_H - half_h - 4, max(half_h + 4, y))
            label = Label(g.id, text, x, y, width, LABEL_HEIGHT)
            if any(label.overlaps(other) for other in placed):
                continue
            covered = sum(2 if group == g.id else 1 for (px, py), group in dots if label.covers(px, py))
            distance = ((x - cx) ** 2 + (y - cy) ** 2) ** 0.5
            score = covered * 10_000 + (order if order < 26 else 26 + distance)
            if best is None or score < best[0]:
                best = (score, label)
        if best is not None:
            placed.append(best[1])
    return placed


def map_svg(summary: Summary, cat: Catalog) -> str:
    title = cat.t("projector.map_heading")
    index = {g.id: i for i, g in enumerate(summary.groups)}
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {VIEW_W} {VIEW_H}" width="{VIEW_W}" '
        f'height="{VIEW_H}" role="img" aria-label="{html.escape(title)}">',
        f'<rect x="0" y="0" width="{VIEW_W}" height="{VIEW_H}" rx="16" ry="16" fill="{BACKGROUND}"/>',
    ]
    at = project(summary.map)
    piles = stacked(summary.map, at)
    for p in summary.map:  # ungrouped first, so group marks are drawn on top
        i = index.get(p.group or "", -1)
        if i >= 0:
            continue
        x, y = at[p.participant]
        parts.append(_dot(x, y, -1))
    for p in summary.map:
        i = index.get(p.group or "", -1)
        if i < 0:
            continue
        x, y = at[p.participant]
        parts.append(_dot(x, y, i))
    for (x, y), count in piles:  # the halo as its own text underneath: WeasyPrint ignores paint-order
        text = html.escape(cat.t("map.stack", count=count))
        where = (f'x="{x + DOT + 4:.1f}" y="{y:.1f}" dominant-baseline="central" font-family="{FONT}" '
                 f'font-size="{STACK_FONT_SIZE}" font-weight="800"')
        parts.append(f'<text {where} fill="{DOT_STROKE}" stroke="{DOT_STROKE}" stroke-width="6" '
                     f'stroke-linejoin="round">{text}</text><text {where} fill="#ffffff">{text}</text>')
    for label in label_boxes(summary, cat):
        colour = colour_of(index[label.group])
        parts.append(
            f'<g transform="translate({label.x:.1f} {label.y:.1f})">'
            f'<rect x="{-label.width / 2:.1f}" y="{-label.height / 2:.1f}" width="{label.width:.1f}" '
            f'height="{label.height:.1f}" rx="10" ry="10" fill="#000000" fill-opacity="0.78" stroke="{colour}" '
            f'stroke-width="2"/>'
            f'<text x="0" y="9" text-anchor="middle" font-family="{FONT}" font-size="{LABEL_FONT_SIZE}" '
            f'font-weight="700" fill="#ffffff">{html.escape(label.text)}</text></g>'
        )
    parts.append("</svg>")
    return "".join(parts)


def stacked(points: Sequence[MapPoint], at: dict[int, tuple[float, float]]) -> list[tuple[tuple[float, float], int]]:
    """Places where several participants' marks fall on one spot (within `STACK_PX`, as on the projector):
    where the first of them is drawn, and how many. People who voted alike share a position exactly, and
    without the count a group labelled "8 people" would show fewer marks than that."""
    first: dict[tuple[int, int], tuple[float, float]] = {}
    count: dict[tuple[int, int], int] = {}
    for p in points:
        x, y = at[p.participant]
        spot = (round(x / STACK_PX), round(y / STACK_PX))
        first.setdefault(spot, (x, y))
        count[spot] = count.get(spot, 0) + 1
    return [(first[spot], n) for spot, n in count.items() if n >= 2]


def _dot(x: float, y: float, index: int) -> str:
    return (f'<path transform="translate({x:.1f} {y:.1f})" d="{shape_of(index)}" fill="{colour_of(index)}" '
            f'stroke="{DOT_STROKE}" stroke-width="1.5"/>')


def map_data_uri(summary: Summary, cat: Catalog) -> str:
    """The map as a ``data:image/svg+xml;base64,...`` URI, for Markdown image syntax."""
    encoded = base64.b64encode(map_svg(summary, cat).encode()).decode("ascii")
    return f"data:image/svg+xml;base64,{encoded}"
