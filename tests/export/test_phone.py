"""The HTML export read on a phone: Debian's Chromium at 360 x 640 (a cheap Android phone).

Skips locally without /usr/bin/chromium and fails under CI=true, like the e2e tests. The full-page
screenshot is saved as artifacts/screenshots/export-html-phone.png for a person to look at.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from facilitation.export import render
from facilitation.export.i18n import catalog
from facilitation.export.summary import build_summary
from tests.e2e.conftest import SCREENSHOTS, launch_chromium
from tests.export.test_numbers import noisy_meeting

pytestmark = pytest.mark.browser

PHONE = {"width": 360, "height": 640}
GROUP_CELLS = """(labels) => Array.from(document.querySelectorAll('td'))
  .filter((td) => labels.includes(td.dataset.label))
  .map((td) => { const r = td.getBoundingClientRect();
                 return {label: td.dataset.label, left: r.left, right: r.right, height: r.height,
                         before: getComputedStyle(td, '::before').content}; })"""


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    yield from launch_chromium()


@pytest.mark.parametrize("language", ["zh-TW", "en"])
def test_html_export_reads_on_a_phone(chromium: Any, tmp_path: Path, language: str) -> None:
    """The page fits the phone's width with nothing scrolling sideways: each table row is a card whose group
    and role figures are on screen, each beside its column's name; text is at least 16 px, the map scales
    to the screen, and the figures are not cut."""
    _, events = noisy_meeting(language)
    summary = build_summary(events, None, now=1_800_000_000.0)
    page_file = tmp_path / "report.html"
    page_file.write_bytes(render(summary, "html"))
    context = chromium.new_context(viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)
    try:
        page = context.new_page()
        page.goto(page_file.as_uri())
        assert page.locator('meta[name="viewport"]').get_attribute("content") == \
            "width=device-width, initial-scale=1"
        width = page.evaluate("document.documentElement.clientWidth")
        assert width == PHONE["width"]
        assert page.evaluate("document.documentElement.scrollWidth") <= width, "the page scrolls sideways"
        sizes = page.evaluate("Array.from(document.querySelectorAll('p, li'))"
                              ".map(e => parseFloat(getComputedStyle(e).fontSize))")
        assert sizes and min(sizes) >= 16
        box = page.locator(".map svg").bounding_box()
        assert box is not None and 300 <= box["width"] <= width
        for table in page.locator(".scroll").all():
            table_box = table.bounding_box()
            assert table_box is not None and table_box["x"] >= 0 and table_box["x"] + table_box["width"] <= width
            assert table.evaluate("(box) => box.scrollWidth <= box.clientWidth"), "a table scrolls sideways"
        cat = catalog(language)
        labels = [cat.group(g.id) for g in summary.groups] + list(summary.roles)
        cells = page.evaluate(GROUP_CELLS, labels)
        assert {c["label"] for c in cells} == set(labels), "every group and role has its figures"
        for cell in cells:
            assert cell["height"] > 0 and cell["left"] >= 0 and cell["right"] <= width, cell
            assert cell["before"] == f'"{cell["label"]}"', cell  # the figure is named on its card
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"export-html-phone-{language}.png"), full_page=True)
    finally:
        context.close()
