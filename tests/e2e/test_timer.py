"""Time boxes in the browser (issue 23): the host starts a countdown from the console; the projector and a
phone show it, counted against the server's clock even on a phone whose own clock is ten minutes fast; at
the end the console prompts, and the meeting moves by itself only when auto-advance was ticked.

Screenshots go to artifacts/screenshots/timer-*.png.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import Demo, api, create_meeting, new_page, screenshot, start_collecting
from tests.support.servers import scaled

pytestmark = pytest.mark.browser

LAPTOP = {"width": 1280, "height": 720}
PHONE = {"width": 360, "height": 640}
SKEWED = "(() => { const real = Date.now; Date.now = () => real() + 10 * 60 * 1000; })();"
"""A phone whose clock runs ten minutes fast."""


def open_all(browser: Any, base: str, created: dict[str, Any]) -> tuple[Any, Any, Any]:
    code = created["code"]
    host = new_page(browser, LAPTOP)
    host.goto(f"{base}/host/{code}#key={created['host_key']}")
    projector = new_page(browser, LAPTOP)
    projector.goto(f"{base}/projector/{code}")
    phone = new_page(browser, PHONE)
    phone.context.add_init_script(SKEWED)
    phone.goto(f"{base}/m/{code}")
    for page in (host, projector, phone):
        expect(page.locator("#conn")).to_have_attribute("data-state", "online")
    return host, projector, phone


def seconds_shown(page: Any) -> int:
    text = page.locator("#timer").text_content() or ""
    found = re.search(r"(\d+):(\d\d)", text)
    assert found, text
    return int(found.group(1)) * 60 + int(found.group(2))


def start(host: Any, minutes: int, seconds: int, auto: bool) -> None:
    host.fill("#timer-minutes", str(minutes))
    host.fill("#timer-seconds", str(seconds))
    host.locator("#timer-auto").set_checked(auto)
    host.click("#timer-start")
    expect(host.locator("#timer-status")).to_have_attribute("data-tone", "ok")


def test_a_countdown_reaches_every_screen_and_its_end_prompts_the_host(browser: Any, plain_demo: Demo) -> None:
    """A 10-minute timer shows about 10:00 on the projector and on a phone ten minutes fast; ending it
    prompts the host with the next phase and moves nothing; the prompt's button moves on."""
    base = plain_demo.server.url
    created = create_meeting(base, ask_nickname=False)
    start_collecting(base, created)
    host, projector, phone = open_all(browser, base, created)
    start(host, 10, 0, auto=False)
    for page in (projector, phone):
        expect(page.locator("#timer")).to_be_visible()
        expect(page.locator("#timer")).to_contain_text("剩")
        assert 9 * 60 < seconds_shown(page) <= 10 * 60  # not 0:00 on the fast phone
    screenshot(phone, "timer-phone-running")
    screenshot(projector, "timer-projector-running")
    expect(host.locator("#timer-end")).to_be_visible()
    host.click("#timer-end")
    prompt = host.locator("#timer-prompt")
    expect(prompt).to_be_visible()
    expect(host.locator("#timer-prompt-text")).to_contain_text("時間到")
    expect(host.locator("#timer-next")).to_contain_text("表態")
    for page in (projector, phone):
        expect(page.locator("#timer")).to_have_text("時間到")
    assert api(base, f"/api/meetings/{created['code']}")["phase"] == "collecting"
    screenshot(host, "timer-console-prompt")
    host.click("#timer-next")
    expect(projector.locator("#phase")).to_have_text("表態")
    expect(prompt).to_be_hidden()
    for page in (host, projector, phone):
        assert page.errors == []


def test_auto_advance_to_the_next_question(browser: Any, plain_demo: Demo) -> None:
    """A 10-second timer that moves the agenda on: at the deadline the projector and the phone show
    question 2 and the console says so; the phase stays."""
    base = plain_demo.server.url
    created = create_meeting(base, ask_nickname=False, topic="第一題？", questions=["第二題？"])
    start_collecting(base, created)
    host, projector, phone = open_all(browser, base, created)
    host.select_option("#timer-advance-to", "question")
    start(host, 0, 10, auto=True)
    expect(projector.locator("#topic")).to_contain_text("問題 2／2：第二題？", timeout=scaled(30) * 1000)
    expect(phone.locator("#topic")).to_contain_text("第二題？")
    expect(host.locator("#timer-prompt-text")).to_contain_text("已自動進入第 2 題")
    assert api(base, f"/api/meetings/{created['code']}")["phase"] == "collecting"
    for page in (host, projector, phone):
        assert page.errors == []


def test_auto_advance_moves_the_room_when_time_is_up(browser: Any, plain_demo: Demo) -> None:
    """A 10-second timer with auto-advance: the server ends it at its deadline, the projector and the phone
    move to 表態, and the console says it moved."""
    base = plain_demo.server.url
    created = create_meeting(base, ask_nickname=False)
    start_collecting(base, created)
    host, projector, phone = open_all(browser, base, created)
    start(host, 0, 10, auto=True)
    expect(projector.locator("#timer")).to_be_visible()
    expect(projector.locator("#phase")).to_have_text("表態", timeout=scaled(30) * 1000)
    expect(host.locator("#timer-prompt-text")).to_contain_text("已自動進入「表態」")
    expect(host.locator("#timer-next")).to_be_hidden()
    expect(phone.locator("#timer")).to_have_text("時間到")
    assert api(base, f"/api/meetings/{created['code']}")["phase"] == "voting"
    for page in (host, projector, phone):
        assert page.errors == []
