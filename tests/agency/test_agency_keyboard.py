"""The agency features by keyboard alone, and axe-core on them: on the phone, "my data" read and erased with
Tab and Enter; in the console, publishing the record and deleting the meeting; the public record page and
the open panels without a serious axe finding. Every Tab stop shows its focus and is in view
(tests/e2e/test_keyboard_zoom_motion.py's walk)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.agency.test_privacy_notice import NOTICE
from tests.e2e.conftest import DESKTOP, PHONE, api, create_meeting, host_command, launch_chromium, new_page
from tests.e2e.test_accessibility import MOVING, serious_violations
from tests.e2e.test_keyboard_zoom_motion import OVERFLOW, in_reading_order, tab_until
from tests.support.servers import ServerProcess

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from launch_chromium()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    tmp: Path = tmp_path_factory.mktemp("agency-keyboard")
    proc = ServerProcess(f"sqlite:///{tmp / 'm.db'}", env={"FACILITATION_ANALYSIS": "0"}).start()
    try:
        yield proc
    finally:
        proc.stop()


def both_languages(page: Any) -> list[str]:
    """axe's serious findings in zh-TW and in English (the 中/EN toggle, then back)."""
    problems = serious_violations(page)
    page.click("#lang-toggle")
    problems += [f"en: {p}" for p in serious_violations(page)]
    page.click("#lang-toggle")
    return problems


def test_a_phone_passes_the_consent_gate_then_votes_and_posts_by_keyboard(browser: Any,
                                                                         server: ServerProcess) -> None:
    """On a meeting that asks for consent: open the full notice, try to join without the box (the error
    takes the focus to the box), tick it with Space, join, vote and write, by keyboard alone, in reading
    order with the focus always visible; another phone declines by keyboard and the focus lands on what
    the page says about it."""
    created = api(server.url, "/api/meetings", {"title": "鍵盤同意", "privacy": NOTICE, "require_consent": True,
                                                "ask_nickname": True, "seeds": ["公園要有更多樹蔭"]})
    code = created["code"]
    host_command(server.url, code, created["host_key"], {"type": "phase", "phase": "collecting"})
    phone = new_page(browser, PHONE)
    phone.goto(f"{server.url}/m/{code}")
    expect(phone.locator("#consent-field")).to_be_visible()
    tab_until(phone, "#notice summary", shift=True)
    phone.keyboard.press("Enter")
    expect(phone.get_by_text(NOTICE["rights"])).to_be_visible()  # the full notice, one key away
    stops = tab_until(phone, "#nickname")
    phone.keyboard.type("鍵盤同意者")
    stops += tab_until(phone, "#join-form button[type=submit]")
    in_reading_order(phone, stops)
    assert "consent" in [stop["id"] for stop in stops]  # the box is on the way to the button
    phone.keyboard.press("Enter")
    expect(phone.locator("#consent-error")).not_to_be_empty()
    expect(phone.locator("#consent")).to_be_focused()
    phone.keyboard.press("Space")
    expect(phone.locator("#consent")).to_be_checked()
    tab_until(phone, "#join-form button[type=submit]")
    phone.keyboard.press("Enter")
    expect(phone.locator("#conn")).to_have_attribute("data-state", "online")
    tab_until(phone, "#vote-buttons [data-value=agree]")
    phone.keyboard.press("Enter")
    expect(phone.locator("#voted li")).to_have_count(1)
    tab_until(phone, "#write-text")
    phone.keyboard.type("鍵盤寫的意見")
    tab_until(phone, "#write-submit")
    phone.keyboard.press("Enter")
    expect(phone.locator("#my-statements li")).to_have_count(1)

    other = new_page(browser, PHONE)
    other.goto(f"{server.url}/m/{code}")
    tab_until(other, "#decline")
    other.keyboard.press("Enter")
    expect(other.locator("#declined")).to_be_focused()
    assert api(server.url, f"/api/meetings/{code}")["counters"]["participants"] == 1
    assert phone.errors == [] and other.errors == []


def test_a_phone_reads_and_erases_its_data_by_keyboard(browser: Any, server: ServerProcess) -> None:
    """我的資料 opened, read and erased by Tab and Enter; the confirmation and then the result take the
    focus; axe finds nothing serious on the open panel and on the result, in zh-TW and English."""
    created = create_meeting(server.url, ask_nickname=True)
    host_command(server.url, created["code"], created["host_key"], {"type": "phase", "phase": "collecting"})
    phone = new_page(browser, PHONE, bypass_csp=True)
    phone.goto(f"{server.url}/m/{created['code']}")
    tab_until(phone, "#nickname")
    phone.keyboard.type("鍵盤使用者")
    phone.keyboard.press("Enter")
    expect(phone.locator("#vote-buttons [data-value=agree]")).to_be_visible()
    tab_until(phone, "#vote-buttons [data-value=agree]")
    phone.keyboard.press("Enter")
    tab_until(phone, "#my-data-show")
    phone.keyboard.press("Enter")
    expect(phone.locator("#my-data-profile")).to_contain_text("鍵盤使用者")
    assert both_languages(phone) == []
    tab_until(phone, "#my-data-erase")
    phone.keyboard.press("Enter")
    expect(phone.locator("#my-data-confirm-yes")).to_be_focused()
    phone.keyboard.press("Enter")
    expect(phone.locator("#erased")).to_be_focused()
    assert both_languages(phone) == []
    assert phone.errors == []


def test_the_console_publishes_and_deletes_by_keyboard(browser: Any, server: ServerProcess) -> None:
    """The console's 公開會議紀錄 (with its confirmation) and 刪除會議 (typing the code) by keyboard alone;
    axe finds nothing serious on the published panel, in zh-TW and English, nor on the public record page."""
    created = create_meeting(server.url, title="鍵盤公開測試")
    code, key = created["code"], created["host_key"]
    for phase in ("collecting", "voting", "reviewing", "closed"):
        host_command(server.url, code, key, {"type": "phase", "phase": phase})
    console = new_page(browser, DESKTOP, bypass_csp=True)
    console.goto(f"{server.url}/host/{code}#key={key}")
    expect(console.locator("#publish-record")).to_be_enabled()
    tab_until(console, "#publish-record")
    console.keyboard.press("Enter")
    expect(console.locator("#publish-confirm-yes")).to_be_focused()
    console.keyboard.press("Enter")
    expect(console.locator("#publish-link")).to_be_visible()
    tab_until(console, "#publish-link")
    assert both_languages(console) == []

    record = new_page(browser, PHONE, bypass_csp=True)
    record.goto(f"{server.url}/record/{code}")
    expect(record.locator("h1")).to_contain_text("鍵盤公開測試")
    assert serious_violations(record) == []

    tab_until(console, "#delete-confirm")
    console.keyboard.type(code)
    tab_until(console, "#delete-meeting")
    console.keyboard.press("Enter")
    expect(console.locator("#fatal")).to_contain_text("已刪除")
    assert console.errors == [] and record.errors == []


def test_the_public_record_passes_axe_in_either_language(browser: Any, server: ServerProcess) -> None:
    """/record/CODE of a meeting held in English and of one in zh-TW, with a privacy notice: the page's
    language is the meeting's, and axe finds nothing serious on either."""
    problems = []
    for language, heading in (("en", "Privacy notice"), ("zh-TW", "個人資料告知")):
        created = api(server.url, "/api/meetings", {"title": f"record {language}", "language": language,
                                                    "privacy": NOTICE, "seeds": ["公園要有更多樹蔭"]})
        code, key = created["code"], created["host_key"]
        for phase in ("collecting", "voting", "reviewing", "closed"):
            host_command(server.url, code, key, {"type": "phase", "phase": phase})
        assert host_command(server.url, code, key, {"type": "publish"})["type"] == "ack"
        page = new_page(browser, PHONE, bypass_csp=True)
        page.goto(f"{server.url}/record/{code}")
        expect(page.locator("html")).to_have_attribute("lang", "en" if language == "en" else "zh-Hant-TW")
        expect(page.locator("#privacy")).to_have_text(heading)
        problems += [f"{language}: {p}" for p in serious_violations(page)]
        assert page.errors == []
    assert problems == []


def test_the_agency_screens_reflow_at_200_percent_and_keep_still(browser: Any, server: ServerProcess) -> None:
    """The phone's text at 200%: the notice with its full text open and the consent box, then 我的資料 open,
    stay within 360 px with no text cut off, and nothing on them moves when reduced motion is asked for;
    the public record at 640 x 450 (1280 x 900 zoomed to 200%) needs no sideways scrolling."""
    created = api(server.url, "/api/meetings", {"title": "放大檢查", "privacy": NOTICE, "require_consent": True,
                                                "ask_nickname": True, "seeds": ["公園要有更多樹蔭"]})
    code, key = created["code"], created["host_key"]
    host_command(server.url, code, key, {"type": "phase", "phase": "collecting"})
    phone = new_page(browser, PHONE, bypass_csp=True)  # the test's own style tag; the page's CSP forbids inline
    phone.emulate_media(reduced_motion="reduce")
    phone.goto(f"{server.url}/m/{code}")
    phone.add_style_tag(content="html { font-size: 200% !important; }")
    phone.locator("#notice summary").click()
    expect(phone.get_by_text(NOTICE["rights"])).to_be_visible()
    assert phone.evaluate(OVERFLOW) == {"wide": False, "clipped": []}
    assert phone.evaluate(MOVING) == []
    phone.fill("#nickname", "放大的人")
    phone.check("#consent")
    phone.click("#join-form button[type=submit]")
    expect(phone.locator("#conn")).to_have_attribute("data-state", "online")
    phone.click("#my-data-show")
    expect(phone.locator("#my-data-profile")).to_contain_text("放大的人")
    phone.click("#my-data-erase")
    expect(phone.locator("#my-data-confirm")).to_be_visible()
    assert phone.evaluate(OVERFLOW) == {"wide": False, "clipped": []}
    assert phone.evaluate(MOVING) == []
    for phase in ("voting", "reviewing", "closed"):
        host_command(server.url, code, key, {"type": "phase", "phase": phase})
    assert host_command(server.url, code, key, {"type": "publish"})["type"] == "ack"
    record = new_page(browser, {"width": 640, "height": 450})
    record.goto(f"{server.url}/record/{code}")
    expect(record.locator("#privacy")).to_be_visible()
    assert record.evaluate(OVERFLOW) == {"wide": False, "clipped": []}
    assert phone.errors == [] and record.errors == []
