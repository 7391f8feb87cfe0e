"""Lanes show whole items and say how many more; the phone's counts and hints; the console's warnings
(found at the PO's first browser rehearsal), each checked in Chromium against the real pages.

1-2. Projector lanes show only whole items (long ones clamped to three lines) and say how many more there
     are ("還有 N 則"), also beyond the five a lane lists, on the projector and in the console.
3.   The phone's "還有 N 則 · 已表態 M 則" counts only statements still shown.
4.   A phone without a group that has voted enough is told to wait for others, not to vote more.
5.   The console warns when the join link names a loopback address phones cannot open.
6.   The meeting description keeps its line breaks on the phone.
7.   A fresh meeting's screens log no console errors (no request for an analysis that does not exist).
8.   Over the statement limit the phone says to shorten it, with the meeting's own limit.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import (
    DESKTOP,
    PHONE,
    PROJECTOR,
    Demo,
    create_meeting,
    host_command,
    new_page,
    screenshot,
    start_collecting,
)
from tests.e2e.deck import deck_pages, section_statements
from tests.support.servers import ServerProcess, scaled

pytestmark = pytest.mark.browser

SENTENCE = "河濱公園的步道應該在夜間維持足夠照明，並且設置清楚的指標與緊急求助設施，讓大家安心使用。"
LONG = [(f"第{n}則長意見：" + SENTENCE * 4)[:140] for n in "一二三四"]
"""Four statements of exactly 140 characters, the default limit."""
SHORT = [f"短意見{n}。" for n in range(1, 9)]
SHOW_ANALYSIS = "async (p) => (await import('/static/js/projector.js')).showAnalysis(p)"
LANE_REPORT = """() => Array.from(document.querySelectorAll('.lane')).map((lane) => {
  const box = lane.getBoundingClientRect();
  const style = getComputedStyle(lane);
  const rect = (node) => { const r = node.getBoundingClientRect(); return {top: r.top, bottom: r.bottom}; };
  const shown = (node) => node !== null && node.getClientRects().length > 0;
  const more = lane.querySelector('.lane-more');
  return {
    lane: lane.querySelector('.lane-list').id,
    count: lane.querySelector('.lane-count').textContent,
    inside: {top: box.top + parseFloat(style.borderTopWidth), bottom: box.bottom - parseFloat(style.borderBottomWidth)},
    items: Array.from(lane.querySelectorAll('.lane-list li')).filter(shown)
      .map((li) => ({...rect(li), text: li.querySelector('.lane-text').textContent})),
    more: shown(more) ? {...rect(more), text: more.textContent} : null,
  };
})"""


def statement_ids(base: str, code: str) -> dict[str, int]:
    """Statement id by text, from a projector's snapshot (the accepted statements)."""
    from websockets.sync.client import connect

    with connect(base.replace("http://", "ws://") + f"/ws/{code}", open_timeout=scaled(10)) as ws:
        ws.send(json.dumps({"v": 1, "type": "hello", "role": "projector"}))
        while True:
            message = json.loads(ws.recv(timeout=scaled(10)))
            if message["type"] == "snapshot":
                return {s["text"]: int(s["id"]) for s in message["meeting"]["statements"]}


def first_number(text: str) -> int:
    found = re.search(r"\d+", text)
    assert found, f"no number in {text!r}"
    return int(found.group())


def settle(page: Any) -> None:
    """Wait for a rendering update (a resize's refit runs in one) and for arrivals and moves to finish, so
    boxes are where they stay."""
    page.evaluate("() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))")
    page.wait_for_function("() => document.getAnimations().length === 0")


def assert_lanes_fit(page: Any, where: str) -> list[dict[str, Any]]:
    """Every item and "還有 N 則" line shown lies whole inside its lane, and shown + N is the lane's count."""
    settle(page)
    lanes: list[dict[str, Any]] = page.evaluate(LANE_REPORT)
    for lane in lanes:
        total = first_number(lane["count"]) if lane["count"] else 0
        hidden = first_number(lane["more"]["text"]) if lane["more"] else 0
        shown = len(lane["items"])
        assert shown + hidden == total, f"{where} {lane['lane']}: {shown} shown + {hidden} more != {total}"
        inside = lane["inside"]
        for part in [*lane["items"], *([lane["more"]] if lane["more"] else [])]:
            assert inside["top"] - 0.5 <= part["top"] and part["bottom"] <= inside["bottom"] + 0.5, (
                f"{where} {lane['lane']}: {part['text'][:20]!r} spans {part['top']:.0f}-{part['bottom']:.0f}, "
                f"the lane {inside['top']:.0f}-{inside['bottom']:.0f}")
        if total:
            assert lane["items"], f"{where} {lane['lane']}: no item shown of {total}"
    return lanes


def by_lane(lanes: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {lane["lane"]: lane for lane in lanes}


def test_projector_lanes_show_whole_items_and_how_many_more(browser: Any, plain_demo: Demo) -> None:
    """Problems 1 and 2: long statements and more than five per lane never overflow a projector lane; the
    lane says how many it does not show, before and after a resize; the results screen pages through all."""
    base = plain_demo.server.url
    created = create_meeting(base, ask_nickname=False, seeds=[*LONG, *SHORT])
    start_collecting(base, created)
    code = created["code"]
    ids = statement_ids(base, code)
    projector = new_page(browser, PROJECTOR)
    projector.goto(f"{base}/projector/{code}")
    expect(projector.locator("#conn")).to_have_attribute("data-state", "online")
    expect(projector.locator("#lane-needs_votes-n")).to_have_text("12 則")

    # without an analysis every statement needs votes: 12 of them, at most 5 listed
    needs = by_lane(assert_lanes_fit(projector, "no analysis"))["lane-needs_votes"]
    assert needs["more"] is not None and len(needs["items"]) <= 5
    screenshot(projector, "fixes-projector-lanes-no-analysis")

    acceptable = [LONG[0], SHORT[0], LONG[1], SHORT[1]]
    disputed = [LONG[2], *SHORT[2:7]]
    analysis = {
        "groups": [{"id": "A", "size": 3, "members": ["0", "1", "2"]}, {"id": "B", "size": 2, "members": ["3", "4"]}],
        "positions": {"0": [0.1, 0.2], "1": [0.2, 0.1], "2": [0.15, 0.25], "3": [-1.0, -0.9], "4": [-1.1, -1.0]},
        "lanes": {**{str(ids[s]): "acceptable" for s in acceptable}, **{str(ids[s]): "disputed" for s in disputed},
                  str(ids[LONG[3]]): "needs_votes", str(ids[SHORT[7]]): "needs_votes"},
        "acceptable_to_all": [{"statement": ids[s], "accepted": 9, "seen": 10} for s in acceptable],
    }
    projector.evaluate(SHOW_ANALYSIS, analysis)
    expect(projector.locator("#lane-disputed-n")).to_have_text("6 則")
    live = by_lane(assert_lanes_fit(projector, "live"))
    assert live["lane-disputed"]["more"] is not None  # six disputed: never all of them in five slots
    assert live["lane-needs_votes"]["more"] is None and len(live["lane-needs_votes"]["items"]) == 2
    # a 140-character statement takes at most three lines on the projector
    clamp = projector.locator("#lane-disputed li", has_text=LONG[2][:10]).locator(".lane-text").evaluate(
        "e => e.getBoundingClientRect().height / parseFloat(getComputedStyle(e).lineHeight)")
    assert clamp <= 3.05, clamp
    screenshot(projector, "fixes-projector-lanes-live")

    # a lower screen (the type scales with the width) shows fewer items, and a lane too low for one
    # three-line statement shows it on fewer lines rather than none; back at full height the items return
    projector.set_viewport_size({"width": 1920, "height": 800})
    small = by_lane(assert_lanes_fit(projector, "1920x800"))
    screenshot(projector, "fixes-projector-lanes-small")
    projector.set_viewport_size(PROJECTOR)
    again = by_lane(assert_lanes_fit(projector, "1920x1080 again"))
    assert [len(again[k]["items"]) for k in again] == [len(live[k]["items"]) for k in live]
    assert sum(len(lane["items"]) for lane in small.values()) < sum(len(lane["items"]) for lane in again.values())

    # the results screen pages through each lane instead (issue 22): every statement once, on some page
    for phase in ("voting", "reviewing"):
        reply = host_command(base, code, created["host_key"], {"type": "phase", "phase": phase})
        assert reply["type"] == "ack", reply
    expect(projector.locator("#deck .deck-page:not([hidden])")).to_have_count(1)
    pages = deck_pages(projector)
    assert sorted(section_statements(pages, "acceptable")) == sorted(str(ids[s]) for s in acceptable)
    assert sorted(section_statements(pages, "disputed")) == sorted(str(ids[s]) for s in disputed)
    screenshot(projector, "fixes-projector-lanes-results")
    assert projector.errors == []


def test_console_lanes_say_how_many_more(browser: Any, plain_demo: Demo) -> None:
    """Problem 2 in the host console: a lane lists five and says how many others it holds."""
    base = plain_demo.server.url
    created = create_meeting(base, ask_nickname=False, seeds=SHORT)
    start_collecting(base, created)
    host = new_page(browser, DESKTOP)
    host.goto(f"{base}/host/{created['code']}#key={created['host_key']}")
    expect(host.locator("#conn")).to_have_attribute("data-state", "online")
    expect(host.locator("#lane-needs_votes-n")).to_have_text("8 則")
    expect(host.locator("#lane-needs_votes li:visible")).to_have_count(5)
    expect(host.locator("#lane-needs_votes-more")).to_have_text("還有 3 則")
    assert_lanes_fit(host, "console")
    host.click("#lang-toggle")
    expect(host.locator("#lane-needs_votes-more")).to_have_text("3 more")
    screenshot(host, "fixes-console-lanes", full_page=True)
    assert host.errors == []


def open_phone(browser: Any, base: str, code: str) -> Any:
    phone = new_page(browser, PHONE)
    phone.goto(f"{base}/m/{code}")
    expect(phone.locator("#conn")).to_have_attribute("data-state", "online")
    return phone


def vote(phone: Any, times: int) -> list[str]:
    """Agree with the next ``times`` statements the phone offers; their texts."""
    texts = []
    for _ in range(times):
        text = phone.locator("#statement").inner_text().strip()
        count = phone.locator("#voted li").count()
        phone.click("#vote-buttons [data-value=agree]")
        expect(phone.locator("#voted li")).to_have_count(count + 1)
        texts.append(text)
    return texts


def test_progress_counts_only_statements_still_shown(browser: Any, plain_demo: Demo) -> None:
    """Problem 3: after the host hides a statement the phone voted on, "left + voted" is what it shows."""
    base = plain_demo.server.url
    created = create_meeting(base, ask_nickname=False, seeds=["一號意見。", "二號意見。", "三號意見。"])
    start_collecting(base, created)
    code = created["code"]
    phone = open_phone(browser, base, code)
    expect(phone.locator("#progress")).to_have_text("還有 3 則 · 已表態 0 則")
    voted = vote(phone, 2)
    expect(phone.locator("#progress")).to_have_text("還有 1 則 · 已表態 2 則")
    reply = host_command(base, code, created["host_key"],
                         {"type": "moderate", "statement": statement_ids(base, code)[voted[0]], "action": "hide"})
    assert reply["type"] == "ack", reply
    expect(phone.locator("#voted li")).to_have_count(1)
    expect(phone.locator("#progress")).to_have_text("還有 1 則 · 已表態 1 則")
    screenshot(phone, "fixes-phone-progress-after-hide", full_page=True)
    assert phone.errors == []


def test_no_group_yet_after_enough_votes(browser: Any, plain_demo: Demo) -> None:
    """Problem 4: "vote on a few more" until the phone has 7 votes (or all statements, when fewer); then
    the phone is told groups appear once more people have voted."""
    base = plain_demo.server.url
    many = create_meeting(base, ask_nickname=False, seeds=SHORT)
    start_collecting(base, many)
    phone = open_phone(browser, base, many["code"])
    group = phone.locator("#my-group")
    expect(group).to_have_text("再多表態幾則，就能看到你屬於哪一組。")
    vote(phone, 6)
    expect(group).to_have_text("再多表態幾則，就能看到你屬於哪一組。")
    vote(phone, 1)
    expect(group).to_have_text("等更多人表態後，就會分出意見群組。")
    phone.click("#lang-toggle")
    expect(group).to_have_text("Groups appear once more people have voted.")
    screenshot(phone, "fixes-phone-no-group-yet", full_page=True)

    few = create_meeting(base, ask_nickname=False, seeds=["甲。", "乙。", "丙。"])
    start_collecting(base, few)
    phone = open_phone(browser, base, few["code"])
    vote(phone, 2)
    expect(phone.locator("#my-group")).to_have_text("再多表態幾則，就能看到你屬於哪一組。")
    vote(phone, 1)
    expect(phone.locator("#done")).to_be_visible()
    expect(phone.locator("#my-group")).to_have_text("等更多人表態後，就會分出意見群組。")
    assert phone.errors == []


@pytest.fixture(scope="module")
def public_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server whose links name an address phones reach (FACILITATION_PUBLIC_URL), though it binds loopback."""
    tmp = tmp_path_factory.mktemp("public")
    env = {"FACILITATION_ANALYSIS": "0", "FACILITATION_PUBLIC_URL": "http://192.0.2.10:8000"}
    process = ServerProcess(f"sqlite:///{tmp / 'public.db'}", env=env).start()
    try:
        yield process
    finally:
        process.stop()


def test_console_warns_when_phones_cannot_open_the_join_link(
        browser: Any, plain_demo: Demo, public_server: ServerProcess) -> None:
    """Problem 5: a join link on 127.0.0.1 or localhost gets a warning beside it; a reachable one does not."""
    base = plain_demo.server.url
    created = create_meeting(base)
    host = new_page(browser, DESKTOP)
    host.goto(f"{base}/host/{created['code']}#key={created['host_key']}")
    expect(host.locator("#conn")).to_have_attribute("data-state", "online")
    assert host.locator("#join-link").input_value().startswith("http://127.0.0.1:")
    warning = host.locator("#join-warning")
    expect(warning).to_be_visible()
    expect(warning).to_contain_text("手機打不開這個網址")
    expect(warning).to_contain_text("127.0.0.1")
    expect(warning).to_contain_text("facilitation serve --host 0.0.0.0")
    screenshot(host, "fixes-console-loopback-warning", full_page=True)
    host.click("#lang-toggle")
    expect(warning).to_contain_text("Phones cannot open this link")
    assert host.errors == []

    # the same console opened as localhost: its join link names localhost, and the warning says so
    local = new_page(browser, DESKTOP)
    local.goto(f"http://localhost:{plain_demo.server.port}/host/{created['code']}#key={created['host_key']}")
    expect(local.locator("#join-warning")).to_contain_text("localhost")

    loopback = host.evaluate("""async (names) => {
        const { isLoopback } = await import('/static/js/host.js');
        return names.map((name) => isLoopback(name));
    }""", ["127.0.0.1", "127.1.2.3", "localhost", "LOCALHOST", "app.localhost", "[::1]", "::1",
           "192.168.1.20", "10.0.0.5", "example.org", "127.example.org", "[2001:db8::1]"])
    assert loopback == [True] * 7 + [False] * 5, loopback

    reachable = create_meeting(public_server.url)
    host = new_page(browser, DESKTOP)
    host.goto(f"{public_server.url}/host/{reachable['code']}#key={reachable['host_key']}")
    expect(host.locator("#conn")).to_have_attribute("data-state", "online")
    expect(host.locator("#join-link")).to_have_value(f"http://192.0.2.10:8000/m/{reachable['code']}")
    expect(host.locator("#join-warning")).to_be_hidden()
    assert host.errors == []


def test_description_keeps_its_line_breaks_on_the_phone(browser: Any, plain_demo: Demo) -> None:
    """Problem 6: a two-line 說明 entered on /new reads as two lines on the phone."""
    base = plain_demo.server.url
    host = new_page(browser, DESKTOP)
    host.goto(f"{base}/new")
    host.fill("#f-title", "兩行說明")
    host.fill("#f-description", "第一行：會議目的。\n第二行：請先讀完資料。")
    host.click("#new-form button[type=submit]")
    expect(host.locator("#conn")).to_have_attribute("data-state", "online")
    code = host.evaluate("location.pathname.split('/').pop()")
    phone = new_page(browser, PHONE)
    phone.goto(f"{base}/m/{code}")
    description = phone.locator("#description")
    expect(description).to_be_visible()
    assert description.inner_text() == "第一行：會議目的。\n第二行：請先讀完資料。"
    screenshot(phone, "fixes-phone-description")
    assert phone.errors == []


def collect_console_errors(page: Any) -> list[str]:
    """Console errors of the page, but the Cross-Origin-Opener-Policy notice (a header matter)."""
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text)
            if message.type == "error" and "Cross-Origin-Opener-Policy" not in message.text else None)
    return errors


def test_a_fresh_meeting_logs_no_console_errors(browser: Any, demo: Demo) -> None:
    """Problem 7: before the first analysis the projector (and the phone) do not ask for one (a 404)."""
    base = demo.server.url
    created = create_meeting(base, ask_nickname=False)
    code = created["code"]
    pages: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for name, viewport, path in (("projector", PROJECTOR, f"/projector/{code}"),
                                 ("host", DESKTOP, f"/host/{code}#key={created['host_key']}")):
        pages[name] = new_page(browser, viewport)
        errors[name] = collect_console_errors(pages[name])
        pages[name].goto(base + path)
        expect(pages[name].locator("#conn")).to_have_attribute("data-state", "online")
    start_collecting(base, created)  # results are shown to phones while collecting: they could ask too
    pages["phone"] = new_page(browser, PHONE)
    errors["phone"] = collect_console_errors(pages["phone"])
    pages["phone"].goto(f"{base}/m/{code}")
    expect(pages["phone"].locator("#results")).to_be_visible()
    expect(pages["projector"].locator(".map-area")).to_be_visible()
    for page in pages.values():
        page.wait_for_load_state("networkidle")
        page.wait_for_timeout(800)  # past the phone's delayed look-up
    assert errors == {name: [] for name in pages}, errors
    assert all(page.errors == [] for page in pages.values())


def test_phone_says_to_shorten_an_overlong_statement(browser: Any, plain_demo: Demo) -> None:
    """Problem 8: over the meeting's limit (60 here, set on the server) a hint names the limit."""
    base = plain_demo.server.url
    created = create_meeting(base, ask_nickname=False, max_statement_chars=60)
    start_collecting(base, created)
    phone = open_phone(browser, base, created["code"])
    hint = phone.locator("#write-too-long")
    expect(hint).to_be_hidden()
    phone.fill("#write-text", "長" * 61)
    expect(hint).to_be_visible()
    expect(hint).to_have_text("請縮短到 60 字以內。")
    expect(phone.locator("#write-submit")).to_be_disabled()
    expect(phone.locator("#write-text")).to_have_attribute("aria-describedby", re.compile(r"\bwrite-too-long\b"))
    screenshot(phone, "fixes-phone-too-long", full_page=True)
    phone.click("#lang-toggle")
    expect(hint).to_have_text("Shorten it to 60 characters or fewer.")
    phone.fill("#write-text", "長" * 60)
    expect(hint).to_be_hidden()
    expect(phone.locator("#write-submit")).to_be_enabled()
    assert phone.errors == []
