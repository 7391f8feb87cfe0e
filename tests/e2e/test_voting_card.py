"""The phone's voting card and the words around it (found at the PO's second browser rehearsal), each checked
in Chromium against the real pages.

1. A late vote ack never swaps the card on screen: a tap votes on the statement whose text is shown, and
   while the ack is on its way the phone does not say "all done" with statements left.
2. The phone's results lists say how many more statements a lane holds than they list ("還有 N 則").
3. On the classic scale (no "acceptable") the figures say "贊成", not "贊成或可接受".
4. Keyboard focus stays on the vote buttons from one card to the next.
5. The projector warns when its join address is a loopback one phones cannot open.
6. On a 360x640 phone every vote button is on screen once voting starts, even with a long description.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e import test_lanes_and_hints
from tests.e2e.conftest import (
    PHONE,
    PROJECTOR,
    Demo,
    create_meeting,
    host_command,
    new_page,
    screenshot,
    start_collecting,
)
from tests.e2e.test_lanes_and_hints import open_phone, statement_ids
from tests.support.servers import scaled

pytestmark = pytest.mark.browser
public_server = test_lanes_and_hints.public_server
"""The server with a reachable public URL, shared with the first rehearsal's fixes (a fixture by that name)."""

SEEDS = ["一號：增設夜間照明。", "二號：延長公車班次。", "三號：設置緊急求助鈴。", "四號：增加巡邏次數。",
         "五號：公告施工時程。"]


def ws_url(base: str, code: str) -> str:
    return base.replace("http://", "ws://") + f"/ws/{code}"


def participant_votes(base: str, code: str, votes: dict[int, str], token: str | None = None) -> dict[int, str]:
    """Join as a participant (a new one, or the one of ``token``), cast ``votes``; the votes on record."""
    from websockets.sync.client import connect

    with connect(ws_url(base, code), open_timeout=scaled(10)) as ws:
        ws.send(json.dumps({"v": 1, "type": "hello", "role": "participant", **({"token": token} if token else {})}))
        while True:
            message = json.loads(ws.recv(timeout=scaled(10)))
            if message["type"] == "snapshot":
                on_record = {int(sid): str(value) for sid, value in message["you"]["votes"].items()}
                break
        for statement, value in votes.items():
            op = f"test-{uuid.uuid4().hex[:12]}"
            ws.send(json.dumps({"v": 1, "type": "vote", "op": op, "statement": statement, "value": value}))
            while (reply := json.loads(ws.recv(timeout=scaled(10)))).get("op") != op:
                pass
            assert reply["type"] == "ack", reply
            on_record[statement] = value
        return on_record


class HeldSocket:
    """Route a page's WebSocket through Playwright, holding server → page messages while ``hold`` is set
    (a slow network between the server's ack and the phone). Page → server messages pass at once."""

    def __init__(self, page: Any) -> None:
        self.hold = False
        self.held: list[tuple[Any, str | bytes]] = []
        page.route_web_socket(re.compile(r"/ws/"), self.route)

    def route(self, ws: Any) -> None:
        server = ws.connect_to_server()

        def to_page(message: str | bytes) -> None:
            if self.hold:
                self.held.append((ws, message))
            else:
                ws.send(message)

        server.on_message(to_page)
        ws.on_message(server.send)

    def release(self) -> None:
        self.hold = False
        held, self.held = self.held, []
        for ws, message in held:
            ws.send(message)


def queue_empty(page: Any, code: str) -> None:
    """Wait until every vote the phone sent is acknowledged (its persistent queue is empty)."""
    page.wait_for_function(f"() => JSON.parse(localStorage.getItem('facilitation.queue.{code}') || '[]').length === 0")


def test_a_late_ack_never_swaps_the_card_under_a_tap(browser: Any, plain_demo: Demo) -> None:
    """Problem 1: the ack of a vote is held past the phone's 1.5 s wait. Until then the phone shows a neutral
    waiting line (not "all done", statements remain), then its own next card; when the ack arrives, that
    card stays, and a tap made just then votes on it, on the server too."""
    base = plain_demo.server.url
    created = create_meeting(base, ask_nickname=False, seeds=SEEDS)
    start_collecting(base, created)
    code = created["code"]
    ids = statement_ids(base, code)
    # someone else votes on the two oldest: the server routes this phone to the others (fewest votes
    # first), while the phone's own fallback is the oldest it has not voted on, so the two choices differ
    participant_votes(base, code, {ids[SEEDS[0]]: "agree", ids[SEEDS[1]]: "disagree"})

    phone = new_page(browser, PHONE)
    socket = HeldSocket(phone)
    phone.goto(f"{base}/m/{code}")
    expect(phone.locator("#conn")).to_have_attribute("data-state", "online")
    statement = phone.locator("#statement")
    first = statement.inner_text().strip()
    assert first in SEEDS[2:], first

    socket.hold = True
    phone.click("#vote-buttons [data-value=agree]")
    phone.wait_for_timeout(300)
    expect(phone.locator("#progress")).to_have_text("還有 4 則 · 已表態 1 則")
    assert phone.locator("#done").is_hidden()  # now, not eventually: the fallback card would hide it
    expect(phone.locator("#waiting")).to_have_text("正在取得下一則意見…")
    screenshot(phone, "round2-phone-waiting-for-ack")
    # past the wait, the phone's own choice: the oldest statement it has not voted on
    expect(statement).to_have_text(SEEDS[0])
    expect(phone.locator("#waiting")).to_be_hidden()
    assert socket.held, "the ack was not held"

    socket.release()
    phone.click("#vote-buttons [data-value=disagree]")  # at once: the person is reading SEEDS[0]
    queue_empty(phone, code)
    token = phone.evaluate(f"() => localStorage.getItem('facilitation.token.{code}')")
    on_record = participant_votes(base, code, {}, token=token)
    assert on_record == {ids[first]: "agree", ids[SEEDS[0]]: "disagree"}, on_record

    # again, now waiting until the late ack is in: the card on screen stays the same
    shown = statement.inner_text().strip()
    socket.hold = True
    phone.click("#vote-buttons [data-value=pass]")
    expect(phone.locator("#waiting")).to_be_visible()
    expect(phone.locator("#waiting")).to_be_hidden(timeout=scaled(5) * 1000)
    fallback = statement.inner_text().strip()
    assert fallback and fallback != shown
    socket.release()
    queue_empty(phone, code)
    phone.wait_for_timeout(300)
    expect(statement).to_have_text(fallback)
    phone.click("#vote-buttons [data-value=agree]")
    queue_empty(phone, code)
    on_record = participant_votes(base, code, {}, token=token)
    assert on_record[ids[shown]] == "pass" and on_record[ids[fallback]] == "agree", on_record
    assert phone.errors == []


DESCRIPTION = ("本次會議討論河濱公園夜間的安全與使用規劃。\n請先想想你平常什麼時候去公園、遇過什麼問題。\n"
               "每則意見請只寫一個想法，方便大家表態。\n會後結果會整理給市府相關單位參考。")
BUTTONS_IN_VIEW = """() => Array.from(document.querySelectorAll('#vote-buttons button')).map((b) => {
  const r = b.getBoundingClientRect();
  return {value: b.dataset.value, top: r.top, bottom: r.bottom, inside: r.top >= 0 && r.bottom <= innerHeight};
})"""


def voting_phone(browser: Any, base: str, viewport: dict[str, int]) -> tuple[Any, dict[str, Any]]:
    """A phone that joined with a nickname a meeting with a four-line description, now in the voting phase."""
    created = create_meeting(base, ask_nickname=True, description=DESCRIPTION, topic="如何讓河濱公園夜間更安全？",
                             seeds=["河濱公園的步道應該在夜間維持足夠照明，讓大家安心散步與運動。", *SEEDS])
    code = created["code"]
    phone = new_page(browser, viewport)
    phone.goto(f"{base}/m/{code}")
    expect(phone.locator("#description")).to_be_visible()  # read on the join screen, before voting
    assert phone.locator("#description").inner_text().count("\n") == 3
    phone.fill("#nickname", "小華")
    phone.click("#join-form button[type=submit]")
    expect(phone.locator("#conn")).to_have_attribute("data-state", "online")
    for phase in ("collecting", "voting"):
        reply = host_command(base, code, created["host_key"], {"type": "phase", "phase": phase})
        assert reply["type"] == "ack", reply
    expect(phone.locator("#vote-buttons button")).to_have_count(4)
    expect(phone.locator("#phase-note")).to_be_visible()
    expect(phone.locator("#me")).to_be_visible()
    return phone, created


def test_vote_buttons_fit_a_small_phone(browser: Any, plain_demo: Demo) -> None:
    """Problem 6: with a four-line description, the "you join as" line and the phase note, every vote button
    of a 360x640 phone is on screen without scrolling once voting starts (and at 320x568 the first ones);
    the description folds away and opens again from its summary."""
    base = plain_demo.server.url
    phone, _ = voting_phone(browser, base, {"width": 360, "height": 640})
    buttons = phone.evaluate(BUTTONS_IN_VIEW)
    screenshot(phone, "round2-phone-360x640-voting")
    assert all(button["inside"] for button in buttons), buttons
    expect(phone.locator("#description")).to_be_hidden()
    phone.click("#about summary")
    expect(phone.locator("#description")).to_be_visible()
    assert phone.errors == []

    small, _ = voting_phone(browser, base, {"width": 320, "height": 568})
    buttons = small.evaluate(BUTTONS_IN_VIEW)
    screenshot(small, "round2-phone-320x568-voting")
    assert buttons[0]["inside"], buttons
    assert small.errors == []


WIDEST_CODE = """() => {
  // The meeting code made of the alphabet's widest letter in the code's own font, as wide as a code can be.
  const code = document.querySelector('#code');
  const probe = document.createElement('span');
  probe.style.cssText = 'position:absolute;visibility:hidden;white-space:pre';
  probe.style.font = getComputedStyle(code).font;
  probe.style.letterSpacing = getComputedStyle(code).letterSpacing;
  document.body.append(probe);
  let widest = '', width = -1;
  for (const letter of '23456789ABCDEFGHJKMNPQRSTUVWXYZ') {
    probe.textContent = letter.repeat(6);
    if (probe.getBoundingClientRect().width > width) { width = probe.getBoundingClientRect().width; widest = letter; }
  }
  probe.remove();
  code.textContent = `${widest.repeat(3)}-${widest.repeat(3)}`;
  const middle = (selector) => {
    const r = document.querySelector(selector).getBoundingClientRect();
    return (r.top + r.bottom) / 2;
  };
  return {code: code.textContent, code_middle: middle('#code'), conn_middle: middle('#conn'),
          toggle_middle: middle('#lang-toggle')};
}"""


def test_the_phone_top_bar_keeps_one_line_at_320px_with_the_widest_code(browser: Any, plain_demo: Demo) -> None:
    """At 320x568 the code, the connection state and the language button share one line whatever the code's
    letters (a code of wide letters pushed the button to a second line and the first vote button off screen)."""
    small, _ = voting_phone(browser, plain_demo.server.url, {"width": 320, "height": 568})
    bar = small.evaluate(WIDEST_CODE)
    assert abs(bar["toggle_middle"] - bar["code_middle"]) < 8, bar
    assert abs(bar["conn_middle"] - bar["code_middle"]) < 8, bar
    buttons = small.evaluate(BUTTONS_IN_VIEW)
    assert buttons[0]["inside"], (bar, buttons)
    assert small.errors == []


MANY = [f"第{n}則意見：公園設施的改善方向之{n}。" for n in range(1, 13)]


class InjectingSocket(HeldSocket):
    """A routed WebSocket that can also push a message to the page as if the server had sent it."""

    def __init__(self, page: Any) -> None:
        self.sockets: list[Any] = []
        super().__init__(page)

    def route(self, ws: Any) -> None:
        self.sockets.append(ws)
        super().route(ws)

    def push(self, message: dict[str, Any]) -> None:
        self.sockets[-1].send(json.dumps({"v": 1, **message}))


def phone_analysis(ids: list[int], acceptable: int, disputed: int) -> dict[str, Any]:
    """A phone's analysis message (docs/protocol.md, Participant): five statements per lane at most, with the
    lanes' real sizes in ``lane_counts``."""
    return {"type": "analysis", "run": 99, "groups": [], "you": None, "summary": {
        "lanes": {"acceptable": ids[:5], "disputed": ids[5:10]},
        "lane_counts": {"acceptable": acceptable, "disputed": disputed, "rejected": 0, "needs_votes": 2},
        "acceptable_to_all": [{"statement": sid, "accepted": 6, "seen": 6} for sid in ids[:5]],
        "majority": [], "representative": {}}}


def open_injected_phone(browser: Any, base: str, code: str) -> tuple[Any, InjectingSocket]:
    phone = new_page(browser, PHONE)
    socket = InjectingSocket(phone)
    phone.goto(f"{base}/m/{code}")
    expect(phone.locator("#conn")).to_have_attribute("data-state", "online")
    return phone, socket


def test_phone_results_say_how_many_more(browser: Any, plain_demo: Demo) -> None:
    """Problem 2: the phone's summary lists five statements a lane; its lane_counts say there are 7 acceptable
    and 9 disputed, so the lists say "還有 2 則" and "還有 4 則" under them (none when all are listed)."""
    base = plain_demo.server.url
    created = create_meeting(base, ask_nickname=False, seeds=MANY)
    start_collecting(base, created)
    code = created["code"]
    ids = [statement_ids(base, code)[text] for text in MANY]
    phone, socket = open_injected_phone(browser, base, code)
    socket.push(phone_analysis(ids, acceptable=7, disputed=9))
    expect(phone.locator("#everyone-accepts li")).to_have_count(5)
    expect(phone.locator("#disputed li")).to_have_count(5)
    expect(phone.locator("#everyone-accepts-more")).to_have_text("還有 2 則")
    expect(phone.locator("#disputed-more")).to_have_text("還有 4 則")
    # the consent scale: "acceptable" counts, and the figure says so
    expect(phone.locator("#everyone-accepts li").first).to_contain_text("6 / 6 贊成或可接受 · 100%")
    phone.locator("#results").scroll_into_view_if_needed()
    screenshot(phone, "round2-phone-results-more")
    phone.click("#lang-toggle")
    expect(phone.locator("#disputed-more")).to_have_text("4 more")
    socket.push(phone_analysis(ids, acceptable=5, disputed=5))
    expect(phone.locator("#everyone-accepts-more")).to_be_hidden()
    expect(phone.locator("#disputed-more")).to_be_hidden()
    assert phone.errors == []


def test_classic_scale_figures_say_agree(browser: Any, plain_demo: Demo) -> None:
    """Problem 3: on the classic scale nobody can vote "acceptable": the phone and the projector print
    "6 / 6 贊成", never "贊成或可接受"."""
    base = plain_demo.server.url
    created = create_meeting(base, ask_nickname=False, seeds=MANY, scale="classic")
    start_collecting(base, created)
    code = created["code"]
    ids = [statement_ids(base, code)[text] for text in MANY]
    phone, socket = open_injected_phone(browser, base, code)
    expect(phone.locator("#vote-buttons button")).to_have_count(3)
    socket.push(phone_analysis(ids, acceptable=5, disputed=5))
    first = phone.locator("#everyone-accepts li").first
    expect(first).to_contain_text("6 / 6 贊成 · 100%")
    expect(phone.locator("#results")).not_to_contain_text("可接受")
    phone.locator("#results").scroll_into_view_if_needed()
    screenshot(phone, "round2-phone-classic-figure")
    phone.click("#lang-toggle")
    expect(first).to_contain_text("6 / 6 agree · 100%")
    expect(phone.locator("#results")).not_to_contain_text("acceptable")

    projector = new_page(browser, PROJECTOR)
    projector.goto(f"{base}/projector/{code}")
    expect(projector.locator("#conn")).to_have_attribute("data-state", "online")
    projector.evaluate("async (p) => (await import('/static/js/projector.js')).showAnalysis(p)", {
        "groups": [], "lanes": {str(sid): "acceptable" for sid in ids[:3]},
        "acceptable_to_all": [{"statement": sid, "accepted": 6, "seen": 6} for sid in ids[:3]]})
    figure = projector.locator("#lane-acceptable .lane-figure").first
    expect(figure).to_have_text("6 / 6 贊成 · 100%")
    screenshot(projector, "round2-projector-classic-figure")
    assert phone.errors == [] and projector.errors == []


def test_keyboard_focus_stays_on_the_vote_buttons(browser: Any, plain_demo: Demo) -> None:
    """Problem 4: voting from the keyboard, focus moves to the first vote button of the next card (never
    to <body>), so Enter, Enter, ... votes through the statements."""
    base = plain_demo.server.url
    created = create_meeting(base, ask_nickname=False, seeds=SEEDS[:3])
    start_collecting(base, created)
    phone = open_phone(browser, base, created["code"])
    focused = "() => { const a = document.activeElement; return a.dataset.value || a.id || a.tagName; }"
    phone.locator("#vote-buttons button").first.focus()
    phone.keyboard.press("Tab")  # to "acceptable"
    assert phone.evaluate(focused) == "acceptable"
    seen = []
    for count in (1, 2):
        seen.append(phone.locator("#statement").inner_text())
        phone.keyboard.press("Enter")
        expect(phone.locator("#voted li")).to_have_count(count)
        expect(phone.locator("#statement")).not_to_have_text(seen[-1])
        phone.wait_for_function("() => document.activeElement.matches('#vote-buttons button')")
        assert phone.evaluate(focused) == "agree", phone.evaluate(focused)
    screenshot(phone, "round2-phone-keyboard-focus")
    phone.keyboard.press("Enter")
    expect(phone.locator("#done")).to_be_visible()
    assert phone.evaluate(focused) != "BODY"
    assert sorted(phone.locator("#voted .voted-text").all_inner_texts()) == sorted(SEEDS[:3])
    assert phone.errors == []


def test_projector_warns_of_a_loopback_join_address(browser: Any, plain_demo: Demo, public_server: Any) -> None:
    """Problem 5: a projector whose join address is 127.0.0.1 says phones cannot open it, beside the address
    on the join slide and on the live screen; with a reachable address (FACILITATION_PUBLIC_URL) it does not."""
    base = plain_demo.server.url
    created = create_meeting(base)
    projector = new_page(browser, PROJECTOR)
    projector.goto(f"{base}/projector/{created['code']}")
    expect(projector.locator("#conn")).to_have_attribute("data-state", "online")
    warning = projector.locator("#slide-warning")
    expect(warning).to_be_visible()
    expect(warning).to_contain_text("手機打不開這個網址")
    expect(warning).to_contain_text("127.0.0.1")
    screenshot(projector, "round2-projector-loopback-join")
    start_collecting(base, created)
    expect(projector.locator("#join-warning")).to_be_visible()
    expect(projector.locator("#join-warning")).to_contain_text("127.0.0.1")
    screenshot(projector, "round2-projector-loopback-live")
    projector.click("#lang-toggle")
    expect(projector.locator("#join-warning")).to_contain_text("Phones cannot open this address")
    assert projector.errors == []

    reachable = create_meeting(public_server.url)
    other = new_page(browser, PROJECTOR)
    other.goto(f"{public_server.url}/projector/{reachable['code']}")
    expect(other.locator("#conn")).to_have_attribute("data-state", "online")
    expect(other.locator("#slide-url")).to_contain_text("192.0.2.10:8000")
    expect(other.locator(".join-warning")).to_have_count(3)
    for node in other.locator(".join-warning").all():
        expect(node).to_be_hidden()
    assert other.errors == []
