"""The opinion map as an inline SVG image: one dot per clustered participant, coloured by group.

Drawn from the summary's positions (the analysis the room saw), not recomputed. Every piece of text in
the SVG is escaped, so the image can be inlined in HTML and embedded in Markdown as a data URI.
"""

from __future__ import annotations

import base64
import html

from facilitation.summary import Summary

__all__ = ["GROUP_COLOURS", "map_data_uri", "map_svg"]

GROUP_COLOURS = ("#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#666666")
"""Colour-blind-safe (ColorBrewer Dark2), printable in greyscale by lightness differences."""
UNGROUPED = "#bbbbbb"
WIDTH, HEIGHT, PAD = 640, 400, 24
RADIUS = 4


def map_svg(summary: Summary, title: str = "") -> str:
    points = summary.map
    colour = {g.id: GROUP_COLOURS[i % len(GROUP_COLOURS)] for i, g in enumerate(summary.groups)}
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" '
        f'height="{HEIGHT}" role="img" aria-label="{html.escape(title)}">',
        f'<rect x="0" y="0" width="{WIDTH}" height="{HEIGHT}" fill="#ffffff" stroke="#dddddd"/>',
    ]
    if points:
        xs = [p.x for p in points]
        ys = [p.y for p in points]
        x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
        sx = (WIDTH - 2 * PAD) / ((x1 - x0) or 1.0)
        sy = (HEIGHT - 2 * PAD) / ((y1 - y0) or 1.0)

        def at(x: float, y: float) -> tuple[float, float]:
            return PAD + (x - x0) * sx, HEIGHT - PAD - (y - y0) * sy

        for p in points:
            cx, cy = at(p.x, p.y)
            fill = colour.get(p.group or "", UNGROUPED)
            parts.append(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="{RADIUS}" fill="{fill}" fill-opacity="0.7"/>')
        for g in summary.groups:
            members = [p for p in points if p.group == g.id]
            if not members:
                continue
            cx, cy = at(sum(p.x for p in members) / len(members), sum(p.y for p in members) / len(members))
            parts.append(
                f'<text x="{cx:.1f}" y="{cy:.1f}" font-size="28" font-weight="bold" text-anchor="middle" '
                f'dominant-baseline="middle" fill="#000000" stroke="#ffffff" stroke-width="4" '
                f'paint-order="stroke" font-family="sans-serif">{html.escape(g.id)}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


def map_data_uri(summary: Summary, title: str = "") -> str:
    """The map as a ``data:image/svg+xml;base64,...`` URI, for Markdown image syntax."""
    encoded = base64.b64encode(map_svg(summary, title).encode()).decode("ascii")
    return f"data:image/svg+xml;base64,{encoded}"
