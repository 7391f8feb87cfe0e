"""The host sees how many phones are writing before moving on from 蒐集意見 (issue 22): a phone typing in
its statement box shows "1 支手機正在寫意見" beside the phase buttons and in the confirmation, and the count
goes away when the box is emptied or the phone leaves.

Screenshot at 1280x720: artifacts/screenshots/console-typing-zh-TW.png.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import PHONE, Demo, create_meeting, new_page, screenshot, start_collecting
from tests.support.servers import scaled

pytestmark = pytest.mark.browser

VENUE_LAPTOP = {"width": 1280, "height": 720}
SEEDS = ["一號：河濱步道增設夜間照明。", "二號：延長公車末班車時間。"]


def test_the_console_counts_the_phones_writing(browser: Any, plain_demo: Demo) -> None:
    """Typing on a phone shows the count on the console and in the 表態 confirmation; emptying the box, and
    a phone that closes mid-sentence, take it away."""
    base = plain_demo.server.url
    created = create_meeting(base, ask_nickname=False, seeds=SEEDS)
    start_collecting(base, created)
    code = created["code"]
    host = new_page(browser, VENUE_LAPTOP)
    host.goto(f"{base}/host/{code}#key={created['host_key']}")
    expect(host.locator("#conn")).to_have_attribute("data-state", "online")
    phones = []
    for _ in range(2):
        phone = new_page(browser, PHONE)
        phone.goto(f"{base}/m/{code}")
        expect(phone.locator("#conn")).to_have_attribute("data-state", "online")
        phones.append(phone)
    typing_now = host.locator("#typing-now")
    expect(typing_now).to_be_hidden()

    phones[0].fill("#write-text", "我還在想要怎麼寫")
    expect(typing_now).to_contain_text("1 支手機正在寫意見")
    phones[1].fill("#write-text", "第二支手機也在寫")
    expect(typing_now).to_contain_text("2 支手機正在寫意見")
    host.locator("#phases button").nth(2).click()  # 表態: asked first, with the count
    expect(host.locator("#phase-confirm")).to_be_visible()
    expect(host.locator("#phase-confirm-typing")).to_contain_text("2 支手機正在寫意見")
    screenshot(host, "console-typing-zh-TW")
    host.click("#phase-confirm-no")

    phones[1].fill("#write-text", "")
    expect(typing_now).to_contain_text("1 支手機正在寫意見")
    phones[0].close()  # left mid-sentence: forgotten when its last signal expires
    expect(typing_now).to_be_hidden(timeout=scaled(20) * 1000)
    assert host.errors == [] and phones[1].errors == []
