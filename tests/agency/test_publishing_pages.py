"""Chromium: the host publishes the record from the console (a confirmed, explicit act, possible once the
meeting is closed); the phones that took part get a link to the public record page, which opens without a
key and is no longer a draft."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import DESKTOP, PHONE, create_meeting, host_command, launch_chromium, new_page
from tests.support.servers import ServerProcess

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from launch_chromium()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    tmp: Path = tmp_path_factory.mktemp("publishing")
    proc = ServerProcess(f"sqlite:///{tmp / 'm.db'}", env={"FACILITATION_ANALYSIS": "0"}).start()
    try:
        yield proc
    finally:
        proc.stop()


def test_the_host_publishes_and_the_phone_opens_the_public_record(browser: Any, server: ServerProcess) -> None:
    created = create_meeting(server.url, title="河濱公園規劃")
    code, key = created["code"], created["host_key"]
    host_command(server.url, code, key, {"type": "phase", "phase": "collecting"})
    phone = new_page(browser, PHONE)
    phone.goto(f"{server.url}/m/{code}")
    phone.click("#join-form button[type=submit]")
    expect(phone.locator("#vote-buttons [data-value=agree]")).to_be_visible()
    phone.click("#vote-buttons [data-value=agree]")
    console = new_page(browser, DESKTOP)
    console.goto(f"{server.url}/host/{code}#key={key}")
    expect(console.locator("#publish-record")).to_be_disabled()  # a meeting still running has a draft record
    console.fill("#marker-label", "休息後")
    console.click("#set-marker")  # a transcript marker, for the stenographer to type where the talk is
    expect(console.locator("#marker-status")).to_have_text("已設定標記 1：請速記員在逐字稿此處寫〔標記 1〕。")
    expect(phone.locator("#published")).to_be_hidden()
    for phase in ("voting", "reviewing", "closed"):
        host_command(server.url, code, key, {"type": "phase", "phase": phase})
    expect(console.locator("#publish-record")).to_be_enabled()
    console.click("#publish-record")
    expect(console.locator("#publish-confirm")).to_be_visible()
    console.click("#publish-confirm-yes")
    expect(console.locator("#publish-status")).to_have_text("會議紀錄已公開。")
    expect(console.locator("#publish-link")).to_be_visible()
    expect(console.locator("#publish-record")).to_be_hidden()
    expect(console.locator("#log li").first).to_contain_text("公開會議紀錄")

    expect(phone.locator("#published")).to_be_visible()
    phone.click("#published-link")
    phone.wait_for_url(f"**/record/{code}")
    expect(phone.locator("h1")).to_contain_text("河濱公園規劃")
    expect(phone.locator(".record-notice")).not_to_contain_text("草稿")
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # no sideways scroll
    assert phone.errors == [] and console.errors == []
