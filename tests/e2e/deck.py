"""Reading the projector's results deck (static/js/deck.js) from a test: turn through every page with the
presenter's key and record what each shows."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

POSITION = "async () => (await import('/static/js/projector.js')).deckPosition()"


def deck_pages(page: Any) -> list[dict[str, Any]]:
    """Every page of the deck once, from the one on screen (PageDown, as a clicker sends it): its section,
    the statement ids it lists and its "第 i/n 頁" line (empty when the section has one page). The deck
    ends where it started."""
    start = page.evaluate(POSITION)
    assert start is not None, "the results deck has no pages"
    seen = []
    for _ in range(start["pages"]):
        now = page.evaluate(POSITION)
        shown = page.locator(".deck-page:not([hidden])")
        expect(shown).to_have_count(1)
        seen.append({
            "index": now["page"], "section": now["section"],
            "statements": shown.locator(".deck-list li").evaluate_all("els => els.map((e) => e.dataset.statement)"),
            "page_no": shown.locator(".deck-page-no").all_inner_texts(),
        })
        page.keyboard.press("PageDown")
    return seen


def section_statements(pages: list[dict[str, Any]], section: str) -> list[str]:
    """The statement ids a section lists across its pages, in order."""
    return [sid for entry in pages if entry["section"] == section for sid in entry["statements"]]
