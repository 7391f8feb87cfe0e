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

from tests.e2e.conftest import DESKTOP, PHONE, create_meeting, host_command, launch_chromium, new_page
from tests.e2e.test_accessibility import serious_violations
from tests.e2e.test_keyboard_zoom_motion import tab_until
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


def test_a_phone_reads_and_erases_its_data_by_keyboard(browser: Any, server: ServerProcess) -> None:
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
    assert serious_violations(phone) == []
    tab_until(phone, "#my-data-erase")
    phone.keyboard.press("Enter")
    expect(phone.locator("#my-data-confirm-yes")).to_be_focused()
    phone.keyboard.press("Enter")
    expect(phone.locator("#erased")).to_be_focused()
    assert serious_violations(phone) == []
    assert phone.errors == []


def test_the_console_publishes_and_deletes_by_keyboard(browser: Any, server: ServerProcess) -> None:
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
    assert serious_violations(console) == []

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
