"""What "everyone" means (issue 22): the acceptable lane is named for its rule (每組多數可接受, never
大家都能接受), says the rule in one line on the projector, its deck and the phone, counts who opposes
(無人反對 when nobody did) and says which people its figure counts (地圖上: those in opinion groups).

Screenshots: artifacts/screenshots/wording-projector-1920.png, wording-phone-360x640.png.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import Demo, create_meeting, new_page, screenshot, start_collecting
from tests.e2e.test_lanes_and_hints import statement_ids
from tests.e2e.test_voting_card import MANY, open_injected_phone

pytestmark = pytest.mark.browser

PROJECTOR = {"width": 1920, "height": 1080}


def _entry(sid: int, a: tuple[int, int, int], b: tuple[int, int, int]) -> dict[str, Any]:
    """An acceptable entry with groups A and B: (accepted, seen, disagree) each."""
    counts = {g: {"accepted": x[0], "seen": x[1], "disagree": x[2]} for g, x in (("A", a), ("B", b))}
    return {"statement": sid, "accepted": a[0] + b[0], "seen": a[1] + b[1], "disagree": a[2] + b[2],
            "groups": {"A": 0.8, "B": 0.8}, "group_counts": counts}


def test_the_projector_names_the_rule_and_counts_the_opposition(browser: Any, plain_demo: Demo) -> None:
    """Lane title, rule line, 地圖上 figures with 無人反對 / N 人反對, and the same in the reviewing deck."""
    base = plain_demo.server.url
    created = create_meeting(base, ask_nickname=False, seeds=MANY)
    start_collecting(base, created)
    code = created["code"]
    ids = [statement_ids(base, code)[text] for text in MANY]
    projector = new_page(browser, PROJECTOR)
    projector.goto(f"{base}/projector/{code}")
    expect(projector.locator("#conn")).to_have_attribute("data-state", "online")
    payload = {"run": 5, "groups": [{"id": "A", "size": 6, "representative": []},
                                    {"id": "B", "size": 6, "representative": []}],
               "lanes": {str(ids[0]): "acceptable", str(ids[1]): "acceptable"},
               "acceptable_to_all": [_entry(ids[0], (6, 6, 0), (6, 6, 0)), _entry(ids[1], (5, 6, 1), (5, 6, 1))]}
    projector.evaluate("async (p) => (await import('/static/js/projector.js')).showAnalysis(p)", payload)
    lane = projector.locator(".lanes .lane-acceptable")
    expect(lane.locator("h2")).to_contain_text("每組多數可接受")
    expect(projector.locator("#lane-acceptable-rule")).to_have_text("規則：每一組都明顯超過一半贊成或可接受")
    figures = projector.locator("#lane-acceptable .lane-figure")
    expect(figures.nth(0)).to_have_text("地圖上 12 / 12 贊成或可接受 · 100% · 無人反對")
    expect(figures.nth(1)).to_have_text("地圖上 10 / 12 贊成或可接受 · 83% · 2 人反對")
    expect(projector.locator("body")).not_to_contain_text("大家都能接受")
    screenshot(projector, "wording-projector-1920")
    projector.click("#lang-toggle")
    expect(projector.locator("#lane-acceptable-rule")).to_contain_text("clearly more than half of every group")
    expect(figures.nth(1)).to_contain_text("· 2 oppose")
    assert projector.errors == []


def test_the_phone_says_the_rule_under_its_heading(browser: Any, plain_demo: Demo) -> None:
    """The phone's list is headed 每組多數可接受的 with the rule under it, and counts who opposes."""
    base = plain_demo.server.url
    created = create_meeting(base, ask_nickname=False, seeds=MANY)
    start_collecting(base, created)
    code = created["code"]
    ids = [statement_ids(base, code)[text] for text in MANY]
    phone, socket = open_injected_phone(browser, base, code)
    socket.push({"type": "analysis", "run": 9, "groups": [{"id": "A", "size": 6}, {"id": "B", "size": 6}],
                 "you": None, "summary": {
                     "lanes": {"acceptable": ids[:1]}, "lane_counts": {"acceptable": 1},
                     "acceptable_to_all": [_entry(ids[0], (5, 6, 1), (6, 6, 0))],
                     "majority": [], "representative": {}}})
    expect(phone.locator("#everyone-accepts-h")).to_have_text("每組多數可接受的")
    expect(phone.locator("#everyone-accepts-rule")).to_have_text("規則：每一組都明顯超過一半贊成或可接受")
    expect(phone.locator("#everyone-accepts li").first).to_contain_text("地圖上 11 / 12 贊成或可接受 · 92% · 1 人反對")
    phone.set_viewport_size({"width": 360, "height": 640})
    phone.locator("#everyone-accepts-h").scroll_into_view_if_needed()
    screenshot(phone, "wording-phone-360x640")
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"sideways scroll: {width}"
    assert phone.errors == []


def test_the_projector_says_when_the_map_is_still_forming(browser: Any, plain_demo: Demo) -> None:
    """A room's map with steady.forming (few people on it, clustering/steady.py) says so under the map."""
    base = plain_demo.server.url
    created = create_meeting(base, ask_nickname=False, seeds=MANY)
    start_collecting(base, created)
    code = created["code"]
    projector = new_page(browser, PROJECTOR)
    projector.goto(f"{base}/projector/{code}")
    expect(projector.locator("#conn")).to_have_attribute("data-state", "online")
    points = {"participants": [1, 2, 3], "x": [0.1, 0.2, -0.3], "y": [0.0, 0.1, 0.2], "group": [0, 0, 1]}
    groups = [{"id": "A", "size": 2, "representative": []}, {"id": "B", "size": 1, "representative": []}]
    show = "async (p) => (await import('/static/js/projector.js')).showAnalysis(p)"
    projector.evaluate(show, {"run": 1, "groups": groups, "points": points, "lanes": {},
                              "counts": {"participants": 3, "clustered": 3}, "steady": {"forming": True}})
    expect(projector.locator("#map-summary")).to_contain_text("地圖形成中")
    projector.evaluate(show, {"run": 2, "groups": groups, "points": points, "lanes": {},
                              "counts": {"participants": 3, "clustered": 3}, "steady": {"forming": False}})
    expect(projector.locator("#map-summary")).to_contain_text("2 組意見")
    assert projector.errors == []
