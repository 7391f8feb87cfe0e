"""The host console before moving on (issue 22): ending voting (檢視結果) and the meeting (已結束) are asked
about first, a cancelled move changes nothing, and statements carry the room's numbers (#1 first).

Screenshots at 1280x720 in zh-TW and en go to artifacts/screenshots/console-*.png.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import Demo, api, create_meeting, new_page, screenshot, start_collecting

pytestmark = pytest.mark.browser

VENUE_LAPTOP = {"width": 1280, "height": 720}
SEEDS = ["一號：河濱步道增設夜間照明。", "二號：延長公車末班車時間。"]


def open_console(browser: Any, base: str, created: dict[str, Any]) -> Any:
    host = new_page(browser, VENUE_LAPTOP)
    host.goto(f"{base}/host/{created['code']}#key={created['host_key']}")
    expect(host.locator("#conn")).to_have_attribute("data-state", "online")
    return host


def phase_of(base: str, code: str) -> str:
    return str(api(base, f"/api/meetings/{code}")["phase"])


def test_ending_voting_and_the_meeting_are_confirmed(browser: Any, plain_demo: Demo) -> None:
    """表態 → 檢視結果 and 檢視結果 → 已結束 each wait for 確定; 取消 leaves the phase as it was. Moving
    from 蒐集意見 to 表態 with nobody writing happens at once."""
    base = plain_demo.server.url
    created = create_meeting(base, ask_nickname=False, seeds=SEEDS)
    start_collecting(base, created)
    code = created["code"]
    host = open_console(browser, base, created)
    phases = host.locator("#phases button")
    phases.nth(2).click()  # 表態: no question
    expect(host.locator("#phase-now")).to_contain_text("表態")
    expect(host.locator("#phase-confirm")).to_be_hidden()

    phases.nth(3).click()  # 檢視結果
    confirm = host.locator("#phase-confirm")
    expect(confirm).to_be_visible()
    expect(host.locator("#phase-confirm-text")).to_contain_text("表態會結束")
    expect(host.locator("#phase-confirm-no")).to_be_focused()
    host.locator("#phase-confirm").scroll_into_view_if_needed()
    screenshot(host, "console-confirm-reviewing-zh-TW")
    host.click("#phase-confirm-no")
    expect(confirm).to_be_hidden()
    assert phase_of(base, code) == "voting"

    host.click("#lang-toggle")
    phases.nth(3).click()
    expect(host.locator("#phase-confirm-text")).to_contain_text("Voting ends")
    screenshot(host, "console-confirm-reviewing-en")
    host.click("#phase-confirm-yes")
    expect(host.locator("#phase-now")).to_contain_text("Reviewing")
    assert phase_of(base, code) == "reviewing"

    phases.nth(4).click()  # Closed
    expect(host.locator("#phase-confirm-text")).to_contain_text("Close the meeting")
    screenshot(host, "console-confirm-closed-en")
    host.click("#lang-toggle")
    expect(host.locator("#phase-confirm-text")).to_be_visible()
    host.click("#phase-confirm-no")
    assert phase_of(base, code) == "reviewing"
    phases.nth(4).click()
    expect(host.locator("#phase-confirm-text")).to_contain_text("要結束會議嗎")
    screenshot(host, "console-confirm-closed-zh-TW")
    host.click("#phase-confirm-yes")
    expect(host.locator("#phase-now")).to_contain_text("已結束")
    assert phase_of(base, code) == "closed"
    assert host.errors == []


def test_the_console_numbers_statements_from_one(browser: Any, plain_demo: Demo) -> None:
    """The statement list and the moderation log say #1 for the first statement, as the phones do."""
    base = plain_demo.server.url
    created = create_meeting(base, ask_nickname=False, seeds=SEEDS)
    start_collecting(base, created)
    host = open_console(browser, base, created)
    first = host.locator("#all-statements li", has_text=SEEDS[0])
    expect(first.locator(".stmt-id")).to_have_text("#1")
    expect(host.locator("#all-statements li", has_text=SEEDS[1]).locator(".stmt-id")).to_have_text("#2")
    first.locator("button.hide").click()
    expect(host.locator("#log")).to_contain_text(f"隱藏 #1：{SEEDS[0]}")
    host.locator("#all-statements").scroll_into_view_if_needed()
    screenshot(host, "console-numbers-zh-TW")
    assert host.errors == []


def test_the_console_counts_roles_only_when_the_meeting_has_roles(browser: Any, plain_demo: Demo) -> None:
    """In English, a meeting without roles says nothing about roles (not "Roles: none: 2"); one with roles
    lists each with its count and "no role given" for those who chose none, separated by commas."""
    from tests.e2e.scripted import Phone

    base = plain_demo.server.url
    plain = create_meeting(base, title="Night market", seeds=SEEDS, language="en", ask_nickname=False)
    host = open_console(browser, base, plain)
    phones = [Phone(base, plain["code"], ""), Phone(base, plain["code"], "")]
    expect(host.locator("#c-participants")).to_have_text("2")
    expect(host.locator("#by-role")).to_have_text("")
    with_roles = create_meeting(base, title="Night market", seeds=SEEDS, language="en", ask_nickname=False,
                                roles=["resident", "vendor"])
    other = open_console(browser, base, with_roles)
    phones += [Phone(base, with_roles["code"], "resident"), Phone(base, with_roles["code"], "")]
    expect(other.locator("#by-role")).to_have_text("Roles: resident: 1, no role given: 1")
    for phone in phones:
        phone.close()
    assert host.errors == [] and other.errors == []
