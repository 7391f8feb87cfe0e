"""What axe cannot check: the keyboard alone gets through the phone (join -> vote -> write) and the host
console, in an order that follows the page with the focus always visible; pages reflow at 200% zoom; with
reduced motion asked for, nothing on the phone or the console moves."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import DESKTOP, PHONE, Demo, create_meeting, host_command, new_page
from tests.e2e.test_accessibility import MOVING

pytestmark = pytest.mark.browser

MAX_TABS = 120
"""Tab presses allowed to reach a control: the console holds a panel per tool (timer, agenda, spotlight, rounds,
speaking queue, markers...), each with its buttons, between its top and the statement list."""

FOCUS = """() => {
  const node = document.activeElement;
  if (!node || node === document.body) return null;
  const style = getComputedStyle(node);
  const box = node.getBoundingClientRect();
  return {
    id: node.id, tag: node.tagName.toLowerCase(), text: (node.textContent || '').trim().slice(0, 40),
    value: node.dataset ? (node.dataset.value || '') : '',
    top: box.top + window.scrollY, left: box.left + window.scrollX, width: box.width, height: box.height,
    outline: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2,
    ring: style.boxShadow !== 'none',
    inView: box.bottom > 0 && box.top < window.innerHeight && box.width > 0 && box.height > 0,
  };
}"""
"""The focused element: where it is, and whether a focus indicator (outline of 2 px or more, or a ring)
is drawn on it and it is scrolled into view (WCAG 2.4.7, 2.4.11)."""


def tab_until(page: Any, selector: str, shift: bool = False) -> list[dict[str, Any]]:
    """Press Tab (or Shift+Tab) until the focus is on ``selector``; every stop on the way must show its
    focus and be in view. Returns the stops, the last one being the target."""
    stops: list[dict[str, Any]] = []
    if page.evaluate("s => document.activeElement.matches(s)", selector):
        return stops  # already there (a page may focus its first field on load)
    for _ in range(MAX_TABS):
        page.keyboard.press("Shift+Tab" if shift else "Tab")
        stop = page.evaluate(FOCUS)
        if stop is None:
            continue
        assert stop["outline"] or stop["ring"], f"no visible focus on {stop}"
        assert stop["inView"], f"focused but off screen: {stop}"
        stop["node"] = page.evaluate_handle("document.activeElement")
        stops.append(stop)
        if page.evaluate("s => document.activeElement.matches(s)", selector):
            return stops
    raise AssertionError(f"{selector} not reached in {MAX_TABS} tabs: {[s['id'] or s['tag'] for s in stops]}")


FOLLOWS = ("([a, b]) => a.isConnected && b.isConnected"
           " && !!(a.compareDocumentPosition(b) & Node.DOCUMENT_POSITION_FOLLOWING)")


def in_reading_order(page: Any, stops: list[dict[str, Any]]) -> None:
    """The focus moves through the page as it reads (WCAG 2.4.3): in document order (no positive tabindex,
    no script moving it back), and on screen never back up to the left: the next stop is on the same
    line further right, lower down, or at the top of a column to the right (the console's second column)."""
    for before, after in itertools.pairwise(stops):
        assert page.evaluate(FOLLOWS, [before["node"], after["node"]]), ("document order", before, after)
        same_line = abs(after["top"] - before["top"]) < max(4, before["height"] / 2)
        lower = after["top"] > before["top"]
        next_column = after["left"] > before["left"] + before["width"] / 2
        assert (same_line and after["left"] >= before["left"]) or lower or next_column, (before, after)


def test_phone_by_keyboard_alone(browser: Any, demo: Demo) -> None:
    """Tab, arrows, Space and Enter only: fill the nickname, pick a role, join, vote on the card, and
    write a statement; the focus follows the page's order and is always visible."""
    base = demo.server.url
    created = create_meeting(base, roles=["居民", "業者"], ask_nickname=True)
    code, key = created["code"], created["host_key"]
    assert host_command(base, code, key, {"type": "phase", "phase": "collecting"})["type"] == "ack"
    page = new_page(browser, PHONE)
    page.goto(f"{base}/m/{code}")
    expect(page.locator("#join")).to_be_visible()
    stops = tab_until(page, "#nickname")
    page.keyboard.type("小明")
    stops += tab_until(page, "#roles input")
    page.keyboard.press("Space")
    page.keyboard.press("ArrowDown")  # radio group: the arrow moves to and selects the next role
    expect(page.locator("#roles input:checked")).to_have_count(1)
    stops += tab_until(page, "#join-form button[type=submit]")
    in_reading_order(page, stops)
    page.keyboard.press("Enter")
    expect(page.locator("#vote")).to_be_visible()
    expect(page.locator("#me")).to_contain_text("小明")
    stops = tab_until(page, "#vote-buttons [data-value=agree]")
    page.keyboard.press("Enter")
    expect(page.locator("#voted li")).to_have_count(1)
    stops = tab_until(page, "#write-text")
    page.keyboard.type("公園應該有更多遮蔭的座位")
    stops += tab_until(page, "#write-submit")
    in_reading_order(page, stops)
    page.keyboard.press("Enter")
    expect(page.locator("#my-statements li")).to_have_count(1)
    expect(page.locator("#write-text")).to_have_value("")
    assert page.errors == []


def test_host_console_by_keyboard_alone(browser: Any, demo: Demo) -> None:
    """Open the meeting, accept a pending statement, add one, switch results on phones, go back a phase
    through the confirmation, and open the map's table: keyboard only, focus always visible."""
    base = demo.server.url
    created = create_meeting(base, moderation="pre")
    code, key = created["code"], created["host_key"]
    page = new_page(browser, DESKTOP)
    page.goto(f"{base}/host/{code}#key={key}")
    expect(page.locator("#conn")).to_have_attribute("data-state", "online")
    tab_until(page, "#phases button:not([disabled])")
    page.keyboard.press("Enter")  # lobby -> collecting
    expect(page.locator("#phases button[aria-pressed=true]")).to_contain_text("2.")
    phone = new_page(browser, PHONE)
    phone.goto(f"{base}/m/{code}")
    phone.click("#join-form button[type=submit]")
    phone.fill("#write-text", "需要主持人審核的意見")
    phone.click("#write-submit")
    expect(page.locator("#queue li")).to_have_count(1)
    page.locator("body").focus()
    page.evaluate("window.scrollTo(0, 0)")
    tab_until(page, "#queue li button.accept")
    page.keyboard.press("Enter")
    expect(page.locator("#queue li")).to_have_count(0)
    tab_until(page, "#results-visible")
    shown = page.is_checked("#results-visible")
    page.keyboard.press("Space")
    expect(page.locator("#results-visible")).to_be_checked(checked=not shown)
    phone.wait_for_function("shown => !document.querySelector('#results').hidden === shown", arg=not shown)
    tab_until(page, "#seed-input")
    page.keyboard.type("主持人補充的意見")
    page.keyboard.press("Enter")
    expect(page.locator("#all-statements li")).to_have_count(4)
    tab_until(page, "#phases button:first-child", shift=True)  # back to the lobby
    page.keyboard.press("Enter")
    expect(page.locator("#phase-confirm")).to_be_visible()
    assert page.evaluate("document.activeElement.id") == "phase-confirm-no"  # the safe answer first
    page.keyboard.press("Shift+Tab")
    assert page.evaluate("document.activeElement.id") == "phase-confirm-yes"
    page.keyboard.press("Enter")
    expect(page.locator("#phases button[aria-pressed=true]")).to_contain_text("1.")
    tab_until(page, ".map-table-box summary")
    page.keyboard.press("Enter")
    expect(page.locator("#map-table")).to_be_visible()
    assert page.errors == [] and phone.errors == []


def test_host_console_tab_order_follows_the_page(browser: Any, demo: Demo) -> None:
    """From the top of the console to the field for a new statement, the focus visits controls in reading order,
    each with a visible focus indicator."""
    page = new_page(browser, DESKTOP)
    page.goto(demo.host)
    expect(page.locator("#conn")).to_have_attribute("data-state", "online")
    stops = tab_until(page, "#seed-input")
    assert len(stops) > 10
    in_reading_order(page, stops)


def test_console_keeps_the_keyboard_focus_while_votes_stream_in(browser: Any, demo: Demo) -> None:
    """A keyboard user on a statement's button in the console stays there while the demo's voters keep
    voting: the lists are rebuilt on every batch, the focus comes back to the same statement's button."""
    page = new_page(browser, DESKTOP)
    page.goto(demo.host)
    expect(page.locator("#all-statements li button").first).to_be_visible()
    tab_until(page, "#all-statements li button")
    item = page.evaluate("document.activeElement.closest('li').dataset.statement")
    votes = page.inner_text("#c-votes")
    page.wait_for_function("v => document.querySelector('#c-votes').textContent !== v", arg=votes, timeout=30_000)
    votes = page.inner_text("#c-votes")
    page.wait_for_function("v => document.querySelector('#c-votes').textContent !== v", arg=votes, timeout=30_000)
    assert page.evaluate("document.activeElement.matches('#all-statements li button')")
    assert page.evaluate("document.activeElement.closest('li').dataset.statement") == item


OVERFLOW = """() => {
  const wide = document.documentElement.scrollWidth > window.innerWidth + 1;
  const clipped = [...document.querySelectorAll('body *')].filter((node) => {
    const style = getComputedStyle(node);
    if (style.display === 'none' || style.visibility === 'hidden') return false;
    if (node.closest('[hidden], .visually-hidden')) return false;
    if (!['hidden', 'clip'].includes(style.overflowX)) return false;
    return node.scrollWidth > node.clientWidth + 1 && node.textContent.trim();
  }).map((node) => node.id || node.className || node.tagName);
  return { wide, clipped };
}"""
"""Whether the page needs sideways scrolling, and which text containers cut their content off."""


@pytest.mark.parametrize("path", ["/", "/new", "/accessibility", "host"])
def test_desktop_pages_reflow_at_200_percent(browser: Any, demo: Demo, path: str) -> None:
    """A 1280 x 900 screen zoomed to 200% is a 640 x 450 viewport: no page needs sideways scrolling and no
    text is cut off (WCAG 1.4.4, 1.4.10)."""
    page = new_page(browser, {"width": 640, "height": 450})
    page.goto(demo.host if path == "host" else demo.server.url + path)
    if path == "host":
        expect(page.locator("#conn")).to_have_attribute("data-state", "online")
    else:
        expect(page.locator("h1:visible").first).to_be_visible()
    assert page.evaluate(OVERFLOW) == {"wide": False, "clipped": []}


def test_phone_reflows_with_text_at_200_percent(browser: Any, demo: Demo) -> None:
    """A phone's text size at 200% (the system font setting, which scales rem): the join form, the card
    and its buttons, and the writing form stay within a 360 px screen."""
    page = new_page(browser, PHONE, bypass_csp=True)  # the test's own style tag; the page's CSP forbids inline
    page.goto(demo.join)
    page.add_style_tag(content="html { font-size: 200% !important; }")
    expect(page.locator("#join")).to_be_visible()
    assert page.evaluate(OVERFLOW) == {"wide": False, "clipped": []}
    page.click("#join-form button[type=submit]")
    expect(page.locator("#vote-buttons button").first).to_be_visible()
    assert page.evaluate(OVERFLOW) == {"wide": False, "clipped": []}


@pytest.mark.parametrize("which", ["phone", "host"])
def test_reduced_motion_stops_every_movement(browser: Any, demo: Demo, which: str) -> None:
    """WCAG 2.3.3: with reduced motion asked for, nothing on the phone (card, buttons, progress) or the
    console (map, lanes) has a transition or animation left; on the console, without it, the map's dots
    do (so the check sees movement where there is some)."""
    page = new_page(browser, PHONE if which == "phone" else DESKTOP)
    page.emulate_media(reduced_motion="reduce")
    if which == "phone":
        page.goto(demo.join)
        page.click("#join-form button[type=submit]")
        expect(page.locator("#vote-buttons button").first).to_be_visible()
        page.click("#vote-buttons [data-value=agree]")
        expect(page.locator("#voted li")).to_have_count(1)
    else:
        page.goto(demo.host)
        expect(page.locator("#map .dot").first).to_be_attached(timeout=30_000)
    assert page.evaluate(MOVING) == []
    if which == "host":
        page.emulate_media(reduced_motion="no-preference")
        assert page.evaluate(MOVING) != []
