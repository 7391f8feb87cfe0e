"""axe-core on every page: zero serious or critical violations, in both languages.

The pages' CSP forbids injected scripts, so these contexts bypass CSP; nothing else differs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import DESKTOP, PHONE, PROJECTOR, Demo, create_meeting, host_command, new_page

pytestmark = pytest.mark.browser

AXE = Path(__file__).parent / "vendor" / "axe.min.js"


SETTLED = "document.getAnimations().every(a => a.playState !== 'running')"
"""No CSS animation or transition is running: axe measures contrast on what is painted, and a statement
fading into a lane (0.8 s from opacity 0) failed it mid-fade, a false alarm that depended on timing."""


def serious_violations(page: Any) -> list[str]:
    """axe's serious and critical findings on the page at rest: with reduced motion asked for (every
    animation of ours honours it, so nothing new starts fading in while a live meeting goes on) and once
    what was already running has ended."""
    page.emulate_media(reduced_motion="reduce")
    page.wait_for_function(SETTLED, timeout=10_000)
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} -> {[n['target'] for n in v['nodes']][:5]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def check(page: Any) -> None:
    problems = serious_violations(page)
    page.click("#lang-toggle")
    problems += serious_violations(page)
    assert problems == []


def test_front_door_and_create_form(browser: Any, demo: Demo) -> None:
    """The code entry page and the create-meeting form have no serious accessibility problems."""
    for path in ("/", "/new"):
        page = new_page(browser, PHONE, bypass_csp=True)
        page.goto(demo.server.url + path)
        expect(page.locator("form:visible button[type=submit]")).to_be_visible()
        check(page)


def test_participant_page(browser: Any, demo: Demo) -> None:
    """The phone page, on the join form and while voting, has no serious accessibility problems."""
    page = new_page(browser, PHONE, bypass_csp=True)
    page.goto(demo.join)
    expect(page.locator("#join")).to_be_visible()
    assert serious_violations(page) == []
    page.click("#join-form button[type=submit]")
    expect(page.locator("#conn")).to_have_attribute("data-state", "online")
    page.click("#vote-buttons [data-value=agree]")
    expect(page.locator("#voted li")).to_have_count(1)
    check(page)


def test_host_console(browser: Any, demo: Demo) -> None:
    """The host console has no serious accessibility problems."""
    page = new_page(browser, DESKTOP, bypass_csp=True)
    page.goto(demo.host)
    expect(page.locator("#conn")).to_have_attribute("data-state", "online")
    expect(page.locator("#all-statements li").first).to_be_visible()
    check(page)


def test_projector(browser: Any, demo: Demo) -> None:
    """The projector has no serious accessibility problems (contrast included, on its dark theme)."""
    page = new_page(browser, PROJECTOR, bypass_csp=True)
    page.goto(demo.projector)
    expect(page.locator("#conn")).to_have_attribute("data-state", "online")
    expect(page.locator("#lane-needs_votes li, #lane-acceptable li").first).to_be_visible()
    check(page)


def test_projector_screens_and_the_late_joiner(browser: Any, demo: Demo) -> None:
    """Every projector screen (join slide, results, closing) and the results a late joiner reads pass too."""
    base = demo.server.url
    created = create_meeting(base, ask_nickname=False)
    code, key = created["code"], created["host_key"]
    projector = new_page(browser, PROJECTOR, bypass_csp=True)
    projector.goto(f"{base}/projector/{code}")
    expect(projector.locator("#join-slide")).to_be_visible()
    assert serious_violations(projector) == []
    for phase, shown in (("collecting", ".map-area"), ("voting", ".map-area"), ("reviewing", "#results-heading"),
                         ("closed", "#closing")):
        assert host_command(base, code, key, {"type": "phase", "phase": phase})["type"] == "ack"
        expect(projector.locator(shown)).to_be_visible()
        if phase in ("reviewing", "closed"):
            assert serious_violations(projector) == [], phase
    late = new_page(browser, PHONE, bypass_csp=True)
    late.goto(f"{base}/m/{code}")
    expect(late.locator("#results")).to_be_visible()
    check(late)


MOVING = """() => Array.from(document.querySelectorAll('*')).filter((node) => {
  const style = getComputedStyle(node);
  const moves = (durations) => durations.split(',').some((d) => parseFloat(d) > 0);
  return moves(style.transitionDuration) || (style.animationName !== 'none' && moves(style.animationDuration));
}).map((node) => node.tagName.toLowerCase() + '.' + String(node.getAttribute('class') || ''))"""
"""Every element that would still move: a transition or animation of non-zero duration."""


def test_reduced_motion_stops_every_movement_on_the_projector(browser: Any, demo: Demo) -> None:
    """WCAG 2.3.3: with reduced motion asked for, the map's dots, labels and counts and the lanes' new
    statements appear in place; nothing slides or fades (a rule once lost its place in the stylesheet and
    the dots kept sliding)."""
    page = new_page(browser, PROJECTOR)
    page.emulate_media(reduced_motion="reduce")
    page.goto(demo.projector)
    expect(page.locator("#map .dot").first).to_be_attached(timeout=30_000)
    expect(page.locator("#lane-needs_votes li, #lane-acceptable li, #lane-disputed li").first).to_be_visible()
    assert page.evaluate(MOVING) == []
    page.emulate_media(reduced_motion="no-preference")
    assert any(name.startswith("path.dot") for name in page.evaluate(MOVING))  # the check can see movement
