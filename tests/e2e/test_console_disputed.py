"""The console's 選取爭議中的意見 button with an agenda, in Chromium: the map's disputed lane spans the whole
meeting, so on question 2 the button ticks only question 2's disputed statements, and the round opens (a
statement of question 1 would be refused with ``other_question``, so the list to tick from holds question 2's
statements only).

Live analysis is off; the console is given the map as the server would send it, through Playwright's
WebSocket routing (the page's real socket to the real server, with one message added from the server side),
so which statements are disputed is known: #2 of question 1, #3 and #4 of question 2. The map goes to the
console's own socket, the one whose hello says ``host``: the console also holds the projector's preview (an
iframe of the projector page, static/js/screenhost.js) with a socket of its own that the same route catches.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import DESKTOP, PROJECTOR, create_meeting, host_command, new_page, screenshot
from tests.e2e.scripted import Phone, serve_without_analysis, two_groups
from tests.support.servers import ServerProcess

pytestmark = pytest.mark.browser

Q1 = ["夜市周邊應該增設機車停車區。", "應該設置行人專用時相的紅綠燈。"]
QUESTION_2 = "夜市收攤後的清潔怎麼分工？"
Q2 = ["垃圾清運費應該由攤商分攤。", "收攤後由里辦公處統一清掃。", "每週固定一天休市大掃除。"]
DISPUTED = [1, 2, 3]
"""The map's disputed lane: #2 (question 1), #3 and #4 (question 2)."""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    yield from serve_without_analysis(tmp_path_factory.mktemp("console-disputed"), "console-disputed")


def test_the_disputed_button_ticks_the_current_questions_statements_and_the_round_opens(
        browser: Any, server: ServerProcess) -> None:
    base = server.url
    created = create_meeting(base, topic="夜市周邊的交通怎麼改善？", roles=["住戶", "攤商"], seeds=Q1,
                             questions=[QUESTION_2])
    code, key = created["code"], created["host_key"]
    assert host_command(base, code, key, {"type": "phase", "phase": "collecting"})["type"] == "ack"
    phones = [Phone(base, code, role) for role in ("住戶", "住戶", "攤商", "攤商")]
    for phone in phones:
        for sid in (0, 1):
            phone.vote(sid, "agree" if phone.role == "住戶" else "disagree")
    assert host_command(base, code, key, {"type": "question_go", "question": 1})["type"] == "ack"
    for text in Q2:
        assert host_command(base, code, key, {"type": "seed", "text": text})["type"] == "ack"
    for phone in phones:
        for sid in (2, 3, 4):
            phone.vote(sid, "agree" if phone.role == "住戶" else "disagree")

    host = new_page(browser, DESKTOP)
    consoles: list[Any] = []

    def route(ws: Any) -> None:
        server = ws.connect_to_server()  # every message still flows both ways; the test adds one to the page

        def to_server(message: str | bytes) -> None:
            sent = json.loads(message) if isinstance(message, str) else {}
            if sent.get("type") == "hello" and sent.get("role") == "host":  # not the preview's projector
                consoles.append(ws)
            server.send(message)

        ws.on_message(to_server)

    host.route_web_socket("**/ws/**", route)
    host.goto(f"{base}/host/{code}#key={key}")
    expect(host.locator("#conn")).to_have_attribute("data-state", "online")  # its hello has passed the route
    expect(host.locator("#round-pick input")).to_have_count(len(Q2))  # the current question's statements
    assert len(consoles) == 1, consoles
    analysis = two_groups([p.participant for p in phones[:2]], [p.participant for p in phones[2:]])
    analysis["lanes"] = {"disputed": DISPUTED}
    consoles[0].send(json.dumps(analysis))
    expect(host.locator("#groups")).to_contain_text("A")

    host.click("#round-disputed")
    ticked = host.locator("#round-pick input:checked")
    expect(ticked).to_have_count(2)
    assert [box.get_attribute("value") for box in ticked.all()] == ["2", "3"]
    for size in ({"width": 1920, "height": 1080}, {"width": 1280, "height": 720}):
        host.set_viewport_size(size)
        host.locator(".round-pick-box").scroll_into_view_if_needed()
        screenshot(host, f"console-disputed-ticked-{size['width']}x{size['height']}")

    projector = new_page(browser, PROJECTOR)
    projector.goto(f"{base}/projector/{code}")
    expect(projector.locator("body")).to_have_attribute("data-screen", "live")
    host.click("#round-open")
    expect(host.locator("#round-now")).to_be_visible()
    expect(host.locator("#round-now")).to_contain_text("#3、#4")
    expect(host.locator("#round-status")).not_to_have_attribute("data-tone", "error")
    expect(projector.locator("body")).to_have_attribute("data-screen", "round")
    expect(projector.locator("#round-text")).to_have_text(Q2[0])
    for page in (host, projector):
        assert page.errors == [], page.errors
    for phone in phones:
        phone.close()
