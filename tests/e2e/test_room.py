"""Regression cases of issue 13 ("a real meeting in a real room") that the rehearsal does not isolate:
unknown codes on every page, plurals in English, the favicon, a success shown as a success, and a phone
told when the host goes back a phase."""

from __future__ import annotations

import urllib.error
import urllib.parse
import urllib.request
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import DESKTOP, PHONE, PROJECTOR, Demo, create_meeting, host_command, new_page
from tests.support.servers import scaled

pytestmark = pytest.mark.browser


@pytest.mark.parametrize(("path", "viewport"), [("m", PHONE), ("host", DESKTOP), ("projector", PROJECTOR)])
def test_an_unknown_code_says_so(browser: Any, plain_demo: Demo, path: str, viewport: dict[str, int]) -> None:
    """No page stays on "connecting..." for a code that does not exist: it says so, the badge says failed."""
    page = new_page(browser, viewport)
    page.goto(f"{plain_demo.server.url}/{path}/ZZZZZZ")
    expect(page.locator("#fatal")).to_contain_text("找不到這個會議")
    expect(page.locator("#conn")).to_have_attribute("data-state", "failed")
    if path != "projector":
        expect(page.locator("#home-link")).to_be_visible()
    assert page.errors == []


def test_english_plurals_and_the_lobby_count(browser: Any, plain_demo: Demo) -> None:
    """One participant reads "1 person has joined", not "1 people"."""
    base = plain_demo.server.url
    created = create_meeting(base, ask_nickname=False)
    projector = new_page(browser, PROJECTOR)
    projector.add_init_script("localStorage.setItem('facilitation.lang', 'en')")
    projector.goto(f"{base}/projector/{created['code']}")
    expect(projector.locator("#slide-count")).to_have_text("0 people have joined")
    phone = new_page(browser, PHONE)
    phone.goto(f"{base}/m/{created['code']}")
    expect(phone.locator("#conn")).to_have_attribute("data-state", "online")
    expect(projector.locator("#slide-count")).to_have_text("1 person has joined")


def test_going_back_a_phase_is_confirmed_and_phones_are_told(browser: Any, plain_demo: Demo) -> None:
    """The console asks before sending a voting meeting back; the phone says what happened; the success
    reads as a success (green), not in the error style."""
    base = plain_demo.server.url
    created = create_meeting(base, ask_nickname=False)
    code, key = created["code"], created["host_key"]
    for phase in ("collecting", "voting"):
        assert host_command(base, code, key, {"type": "phase", "phase": phase})["type"] == "ack"
    phone = new_page(browser, PHONE)
    phone.goto(f"{base}/m/{code}")
    expect(phone.locator("#vote")).to_be_visible()
    host = new_page(browser, DESKTOP)
    host.goto(f"{base}/host/{code}#key={key}")
    expect(host.locator("#conn")).to_have_attribute("data-state", "online")
    host.locator("#phases button", has_text="準備中").click()
    expect(host.locator("#phase-confirm")).to_contain_text("退回")
    host.click("#phase-confirm-yes")
    expect(host.locator("#phase-status")).to_have_attribute("data-tone", "ok")
    expect(phone.locator("#phase-change")).to_contain_text("準備中")
    expect(phone.locator("#vote")).to_be_hidden()
    host.locator("#phases button", has_text="蒐集意見").click()
    expect(host.locator("#phase-now")).to_contain_text("蒐集意見")
    expect(phone.locator("#phase-change")).to_be_hidden()
    assert host.errors == [] and phone.errors == []


def test_favicon(plain_demo: Demo) -> None:
    with urllib.request.urlopen(f"{plain_demo.server.url}/favicon.ico", timeout=scaled(10)) as response:
        assert response.status == 200
        assert response.headers["content-type"].startswith("image/svg+xml")
        assert b"<svg" in response.read()


def test_the_host_link_qr_needs_the_host_key(plain_demo: Demo) -> None:
    """The host-link QR code is served only to a request that carries the key, and is never cached."""
    base = plain_demo.server.url
    created = create_meeting(base)
    url = f"{base}/api/meetings/{created['code']}/host-qr.svg"
    for headers in ({}, {"X-Host-Key": "not-the-key"}):
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=scaled(10))
        assert refused.value.code == 403
    with pytest.raises(urllib.error.HTTPError) as refused:  # the key in the URL is not taken here
        urllib.request.urlopen(f"{url}?key={urllib.parse.quote(created['host_key'])}", timeout=scaled(10))
    assert refused.value.code == 403
    request = urllib.request.Request(url, headers={"X-Host-Key": created["host_key"]})
    with urllib.request.urlopen(request, timeout=scaled(10)) as response:
        assert response.headers["content-type"].startswith("image/svg+xml")
        assert response.headers["cache-control"] == "no-store"
        assert b"<svg" in response.read()
