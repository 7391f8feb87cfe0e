"""What a phone keeps and how it reports it (issue 22): nothing typed is lost, the author's own record is
not a tap, 可接受 is explained and practised without voting, the phone speaks its browser's language,
statements carry the numbers the room uses (#1 for the first), and what everyone accepts comes first.

Screenshots at 360x640 in zh-TW and en go to artifacts/screenshots/phone-*.png.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import Demo, api, create_meeting, host_command, new_page, screenshot, start_collecting
from tests.e2e.test_lanes_and_hints import statement_ids
from tests.e2e.test_voting_card import InjectingSocket

pytestmark = pytest.mark.browser

SMALL = {"width": 360, "height": 640}
SEEDS = ["一號：河濱步道增設夜間照明。", "二號：延長公車末班車時間。", "三號：公園增設遮陽設施。"]
UNSENT = "還沒寫完的意見：社區活動中心週末也要開放"


def phase(base: str, created: dict[str, Any], to: str) -> None:
    reply = host_command(base, created["code"], created["host_key"], {"type": "phase", "phase": to})
    assert reply["type"] == "ack", reply


def open_phone(browser: Any, base: str, code: str, **options: Any) -> Any:
    phone = new_page(browser, SMALL, **options)
    phone.goto(f"{base}/m/{code}")
    expect(phone.locator("#conn")).to_have_attribute("data-state", "online")
    return phone


def sent_frames(phone: Any) -> list[dict[str, Any]]:
    """Every message the page sends on its WebSockets, recorded as it goes (call before goto)."""
    frames: list[dict[str, Any]] = []

    def watch(ws: Any) -> None:
        ws.on("framesent", lambda payload: frames.append(json.loads(payload)) if isinstance(payload, str) else None)

    phone.on("websocket", watch)
    return frames


# ---------------------------------------------------------------- nothing typed is lost


def test_an_unsent_statement_survives_a_phase_change(browser: Any, plain_demo: Demo) -> None:
    """A half-typed statement stays on the phone when the host moves to 表態 (shown, kept across a reload),
    and is back in the box when the host reopens 蒐集意見; nothing was posted meanwhile."""
    base = plain_demo.server.url
    created = create_meeting(base, ask_nickname=False, seeds=SEEDS)
    start_collecting(base, created)
    code = created["code"]
    phone = open_phone(browser, base, code)
    phone.fill("#write-text", UNSENT)
    phase(base, created, "voting")
    expect(phone.locator("#write")).to_be_hidden()
    kept = phone.locator("#draft-kept")
    expect(kept).to_be_visible()
    expect(phone.locator("#draft-text")).to_have_text(UNSENT)
    kept.scroll_into_view_if_needed()
    screenshot(phone, "phone-draft-kept-zh-TW")
    phone.reload()
    expect(phone.locator("#conn")).to_have_attribute("data-state", "online")
    expect(phone.locator("#draft-text")).to_have_text(UNSENT)
    phone.click("#lang-toggle")
    expect(phone.locator("#draft-kept-note")).to_contain_text("kept on this phone")
    kept.scroll_into_view_if_needed()
    screenshot(phone, "phone-draft-kept-en")
    phone.click("#lang-toggle")

    reply = host_command(base, code, created["host_key"], {"type": "phase", "phase": "collecting"})
    assert reply["type"] == "ack", reply
    expect(phone.locator("#write")).to_be_visible()
    expect(phone.locator("#write-text")).to_have_value(UNSENT)
    expect(phone.locator("#write-status")).to_contain_text("放回輸入框")
    expect(kept).to_be_hidden()
    assert api(base, f"/api/meetings/{code}")["counters"]["statements"] == len(SEEDS)  # nothing sent for them
    phone.click("#write-submit")
    expect(phone.locator("#my-statements")).to_contain_text(UNSENT)
    expect(phone.locator("#write-text")).to_have_value("")
    phone.reload()
    expect(phone.locator("#conn")).to_have_attribute("data-state", "online")
    expect(phone.locator("#write-text")).to_have_value("")  # sent: no draft left behind
    assert phone.errors == []


def test_in_reviewing_the_results_come_before_a_kept_statement(browser: Any, plain_demo: Demo) -> None:
    """Once voting is over the phone shows the results first and its kept, unsent statement below them (on a
    360 px phone the kept box above them pushed 討論結果 off the first screen)."""
    base = plain_demo.server.url
    created = create_meeting(base, ask_nickname=False, seeds=SEEDS)
    start_collecting(base, created)
    phone = open_phone(browser, base, created["code"])
    phone.fill("#write-text", UNSENT)
    phase(base, created, "voting")
    phase(base, created, "reviewing")
    results, kept = phone.locator("#results"), phone.locator("#draft-kept")
    expect(results).to_be_visible()
    expect(kept).to_be_visible()
    results_box, kept_box = results.bounding_box(), kept.bounding_box()
    assert results_box is not None and kept_box is not None
    assert results_box["y"] < kept_box["y"], (results_box, kept_box)
    assert phone.errors == []


def test_a_post_refused_after_the_phase_moved_on_comes_back(browser: Any, plain_demo: Demo) -> None:
    """Sent while offline, refused when it arrives (the host has moved to 表態): the text is not lost but
    kept as the phone's draft, with the reason."""
    base = plain_demo.server.url
    created = create_meeting(base, ask_nickname=False, seeds=SEEDS)
    start_collecting(base, created)
    code = created["code"]
    phone = open_phone(browser, base, code)
    phone.context.set_offline(True)
    expect(phone.locator("#conn")).not_to_have_attribute("data-state", "online")
    phone.fill("#write-text", UNSENT)
    phone.click("#write-submit")
    expect(phone.locator("#write-status")).to_contain_text("離線")
    phase(base, created, "voting")
    phone.context.set_offline(False)
    expect(phone.locator("#conn")).to_have_attribute("data-state", "online")
    expect(phone.locator("#draft-text")).to_have_text(UNSENT)
    assert api(base, f"/api/meetings/{code}")["counters"]["statements"] == len(SEEDS)
    assert phone.errors == []


# ---------------------------------------------------------------- the participant's own record


def test_the_authors_own_agree_is_not_a_tap(browser: Any, plain_demo: Demo) -> None:
    """The author's automatic agree reads "你提出的" in 我的表態 and does not raise 已表態; a vote they
    change on it afterwards is a tap like any other."""
    base = plain_demo.server.url
    created = create_meeting(base, ask_nickname=False, seeds=SEEDS)
    start_collecting(base, created)
    code = created["code"]
    phone = open_phone(browser, base, code)
    expect(phone.locator("#progress")).to_have_text("還有 3 則 · 已表態 0 則")
    phone.fill("#write-text", "我自己寫的：圖書館延長開放時間。")
    phone.click("#write-submit")
    own = phone.locator("#voted li", has_text="我自己寫的")
    expect(own).to_contain_text("你提出的")
    expect(own).not_to_contain_text("贊成")
    expect(own.locator(".voted-number")).to_have_text("#4")
    expect(phone.locator("#progress")).to_have_text("還有 3 則 · 已表態 0 則")
    expect(phone.locator("#my-statements .mine-number")).to_have_text("#4")
    screenshot(phone, "phone-own-record-zh-TW", full_page=True)
    phone.click("#lang-toggle")
    expect(own).to_contain_text("you wrote this")
    screenshot(phone, "phone-own-record-en", full_page=True)
    phone.click("#lang-toggle")

    phone.click("#vote-buttons [data-value=pass]")
    expect(phone.locator("#progress")).to_have_text("還有 2 則 · 已表態 1 則")
    own.click()  # change one's mind about one's own statement: that is a tap
    expect(phone.locator("#changing")).to_be_visible()
    phone.click("#vote-buttons [data-value=disagree]")
    expect(own).to_contain_text("反對")
    expect(phone.locator("#progress")).to_have_text("還有 2 則 · 已表態 2 則")
    assert phone.errors == []


# ---------------------------------------------------------------- 可接受 explained, and practised


def test_the_practice_card_comes_first_and_sends_no_vote(browser: Any, plain_demo: Demo) -> None:
    """A new phone gets a practice card before statement #1; a tap on it explains the choice and sends
    nothing; 開始表態 brings #1; the practice does not come back after a reload; 可接受 is explained in
    one line under the buttons."""
    base = plain_demo.server.url
    created = create_meeting(base, ask_nickname=False, seeds=SEEDS)
    start_collecting(base, created)
    code = created["code"]
    phone = new_page(browser, SMALL, practiced=False)
    frames = sent_frames(phone)
    phone.goto(f"{base}/m/{code}")
    expect(phone.locator("#conn")).to_have_attribute("data-state", "online")
    expect(phone.locator("#practice-label")).to_be_visible()
    expect(phone.locator("#statement")).to_have_text("會議中場休息時，提供茶水和點心。")
    expect(phone.locator("#statement-number")).to_be_hidden()
    expect(phone.locator("#acceptable-help")).to_have_text("可接受＝不完全滿意，但可以接受。")
    phone.click("#vote-buttons [data-value=acceptable]")
    expect(phone.locator("#practice-feedback")).to_contain_text("不完全滿意，但可以接受")
    expect(phone.locator("#vote-buttons [data-value=acceptable]")).to_have_attribute("aria-pressed", "true")
    screenshot(phone, "phone-practice-zh-TW")
    phone.click("#lang-toggle")
    expect(phone.locator("#practice-label")).to_have_text("Practice · not sent, not counted")
    screenshot(phone, "phone-practice-en")
    phone.click("#lang-toggle")
    assert api(base, f"/api/meetings/{code}")["counters"]["votes"] == 0
    assert not [f for f in frames if f.get("type") == "vote"], frames

    phone.click("#practice-start")
    expect(phone.locator("#practice-label")).to_be_hidden()
    expect(phone.locator("#statement-number")).to_have_text("#1")
    expect(phone.locator("#statement")).to_have_text(SEEDS[0])
    screenshot(phone, "phone-first-statement-zh-TW")
    phone.click("#vote-buttons [data-value=agree]")
    expect(phone.locator("#progress")).to_have_text("還有 2 則 · 已表態 1 則")
    votes = [f for f in frames if f.get("type") == "vote"]
    assert [(v["statement"], v["value"]) for v in votes] == [(statement_ids(base, code)[SEEDS[0]], "agree")]
    phone.reload()
    expect(phone.locator("#conn")).to_have_attribute("data-state", "online")
    expect(phone.locator("#practice-label")).to_be_hidden()
    expect(phone.locator("#statement-number")).to_have_text("#2")
    assert phone.errors == []

    # a second meeting on the same phone: practised already
    other = create_meeting(base, ask_nickname=False, seeds=SEEDS)
    start_collecting(base, other)
    phone.goto(f"{base}/m/{other['code']}")
    expect(phone.locator("#statement")).to_have_text(SEEDS[0])
    expect(phone.locator("#practice-label")).to_be_hidden()


def test_the_practice_can_be_skipped_and_the_classic_scale_has_no_acceptable_line(
        browser: Any, plain_demo: Demo) -> None:
    base = plain_demo.server.url
    created = create_meeting(base, ask_nickname=False, seeds=SEEDS, scale="classic")
    start_collecting(base, created)
    phone = new_page(browser, SMALL, practiced=False)
    phone.goto(f"{base}/m/{created['code']}")
    expect(phone.locator("#practice-label")).to_be_visible()
    expect(phone.locator("#acceptable-help")).to_be_hidden()
    phone.click("#practice-skip")
    expect(phone.locator("#statement")).to_have_text(SEEDS[0])
    assert api(base, f"/api/meetings/{created['code']}")["counters"]["votes"] == 0
    assert phone.errors == []


# ---------------------------------------------------------------- language


@pytest.mark.parametrize(("browser_locale", "meeting_language", "expected"), [
    ("en-US", "zh-TW", "en"),        # an English phone at a Chinese meeting reads English pages
    ("zh-TW", "en", "zh-Hant-TW"),   # and a Chinese phone at an English meeting, Chinese ones
    ("fr-FR", "en", "en"),           # a language the pages do not have: the meeting's
    ("fr-FR", "zh-TW", "zh-Hant-TW"),
])
def test_the_phone_follows_its_browsers_language(browser: Any, plain_demo: Demo, browser_locale: str,
                                                 meeting_language: str, expected: str) -> None:
    base = plain_demo.server.url
    created = create_meeting(base, ask_nickname=False, seeds=SEEDS, language=meeting_language)
    start_collecting(base, created)
    phone = open_phone(browser, base, created["code"], locale=browser_locale)
    expect(phone.locator("html")).to_have_attribute("lang", expected)
    vote_label = "Agree" if expected == "en" else "贊成"
    expect(phone.locator("#vote-buttons [data-value=agree]")).to_contain_text(vote_label)
    assert phone.errors == []


def test_the_toggle_wins_and_is_remembered_and_shared_screens_follow_the_meeting(
        browser: Any, plain_demo: Demo) -> None:
    base = plain_demo.server.url
    created = create_meeting(base, ask_nickname=False, seeds=SEEDS, language="zh-TW")
    start_collecting(base, created)
    code = created["code"]
    phone = open_phone(browser, base, code, locale="en-US")
    expect(phone.locator("html")).to_have_attribute("lang", "en")
    phone.click("#lang-toggle")
    expect(phone.locator("html")).to_have_attribute("lang", "zh-Hant-TW")
    phone.reload()
    expect(phone.locator("#conn")).to_have_attribute("data-state", "online")
    expect(phone.locator("html")).to_have_attribute("lang", "zh-Hant-TW")
    projector = new_page(browser, {"width": 1280, "height": 720}, locale="en-US")
    projector.goto(f"{base}/projector/{code}")
    expect(projector.locator("#conn")).to_have_attribute("data-state", "online")
    expect(projector.locator("html")).to_have_attribute("lang", "zh-Hant-TW")
    assert phone.errors == [] and projector.errors == []


# ---------------------------------------------------------------- results: what everyone accepts first


def test_what_everyone_accepts_comes_first_with_numbers(browser: Any, plain_demo: Demo) -> None:
    """In the phone's results the acceptable statements stand first, in their own panel, above the
    phone's group; every listed statement carries its number."""
    base = plain_demo.server.url
    created = create_meeting(base, ask_nickname=False, seeds=SEEDS)
    start_collecting(base, created)
    code = created["code"]
    ids = [statement_ids(base, code)[text] for text in SEEDS]
    phone = new_page(browser, SMALL)
    socket = InjectingSocket(phone)
    phone.goto(f"{base}/m/{code}")
    expect(phone.locator("#conn")).to_have_attribute("data-state", "online")
    socket.push({"type": "analysis", "run": 5, "you": {"group": "A", "x": 0.1, "y": 0.2},
                 "groups": [{"id": "A", "size": 3}, {"id": "B", "size": 3}],
                 "summary": {"lanes": {"acceptable": ids[:2], "disputed": [ids[2]]},
                             "lane_counts": {"acceptable": 2, "disputed": 1, "rejected": 0, "needs_votes": 0},
                             "acceptable_to_all": [{"statement": sid, "accepted": 5, "seen": 6} for sid in ids[:2]],
                             "majority": [], "representative": {
                                 "A": [{"statement": ids[2], "direction": "agree", "count": 3, "seen": 3}]}}})
    accepts = phone.locator("#everyone-accepts li")
    expect(accepts).to_have_count(2)
    expect(accepts.first.locator(".result-number")).to_have_text("#1")
    expect(phone.locator("#disputed li .result-number")).to_have_text("#3")
    expect(phone.locator("#group-thinks li .result-number")).to_have_text("#3")
    expect(phone.locator("#my-group")).to_contain_text("A 組")
    order = phone.evaluate("""() => ['#accepts-block', '#my-group', '#group-thinks-h', '#disputed-h']
      .map((s) => document.querySelector(s)).filter((n) => n && !n.hidden && n.offsetParent !== null)
      .map((n) => n.getBoundingClientRect().top)""")
    assert order == sorted(order) and len(order) >= 2, order
    style = phone.evaluate("() => getComputedStyle(document.querySelector('#accepts-block')).borderTopStyle")
    assert style == "solid"
    phone.locator("#results").scroll_into_view_if_needed()
    screenshot(phone, "phone-results-zh-TW")
    phone.click("#lang-toggle")
    phone.locator("#results").scroll_into_view_if_needed()
    screenshot(phone, "phone-results-en")
    assert phone.errors == []
