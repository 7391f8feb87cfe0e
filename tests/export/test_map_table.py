"""The map as a table in the reports: each group's people on the map and where they sit, for readers who
cannot see the dots."""

from __future__ import annotations

import re
from collections import Counter

from facilitation.export.html import render_html
from facilitation.export.i18n import catalog
from facilitation.export.maptable import map_rows, region
from facilitation.export.markdown import render_markdown
from facilitation.export.summary import build_summary
from tests.export.conftest import small_meeting


def test_regions_are_thirds_of_the_view() -> None:
    """The 1000 x 600 view in thirds, as static/js/maptable.js splits it."""
    assert region(100, 100) == "top_left" and region(500, 300) == "center" and region(900, 550) == "bottom_right"
    assert region(500, 50) == "top" and region(50, 300) == "left"


def test_rows_count_every_dot_once_and_tell_the_camps_apart() -> None:
    """One row per group with dots, their counts add up to the map's dots, and the two camps of the small
    meeting sit in different places."""
    _, events = small_meeting()
    summary = build_summary(events, None, now=0.0)
    rows = map_rows(summary)
    assert sum(r.people for r in rows) == len(summary.map) == 12
    sizes = Counter(p.group for p in summary.map)
    assert [(r.group, r.people) for r in rows] == [(g.id, sizes[g.id]) for g in summary.groups]
    assert len({r.where for r in rows}) == len(rows) == 2


def test_html_and_markdown_carry_the_table_after_the_map() -> None:
    """The HTML report has a table of groups right after the map's SVG, and Markdown one after the image,
    with the pages' words in both languages."""
    for language in ("zh-TW", "en"):
        _, events = small_meeting(language)
        summary = build_summary(events, None, now=0.0)
        cat = catalog(language)
        rows = map_rows(summary)
        html = render_html(summary)
        after_map = html[html.index("</svg>"):]
        table = after_map[:after_map.index("</table>")]
        assert cat.t("maptable.col_where") in table
        for r in rows:
            assert re.search(rf">{re.escape(r.name(cat))}</td><td[^>]*>{r.people}</td>", table), r
        md = render_markdown(summary)
        image = md.index("data:image/svg+xml;base64,")
        for r in rows:
            line = f"| {r.name(cat)} | {r.people} | {cat.t('maptable.' + r.where)} |"
            assert image < md.index(line), line
