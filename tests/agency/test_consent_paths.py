"""Every way into a meeting that asks for consent passes its gate, the reconnecting one included: a phone
whose saved key the meeting does not know (erased, or from another server) is refused by the server
(``consent_required``) and shown the notice and the consent box again instead of an error; declining then
stores nothing, agreeing joins with the consent recorded. Joining by code from the front page lands on the
same gate."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.agency.test_privacy_notice import NOTICE
from tests.e2e.conftest import PHONE, PROJECTOR, api, launch_chromium, new_page
from tests.support.servers import ServerProcess

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from launch_chromium()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    tmp: Path = tmp_path_factory.mktemp("consent-paths")
    proc = ServerProcess(f"sqlite:///{tmp / 'm.db'}", env={"FACILITATION_ANALYSIS": "0"}).start()
    try:
        yield proc
    finally:
        proc.stop()


def consent_meeting(server: ServerProcess) -> str:
    body = {"title": "公園規劃", "privacy": NOTICE, "require_consent": True, "ask_nickname": True,
            "seeds": ["公園要有更多樹蔭"]}
    return str(api(server.url, "/api/meetings", body)["code"])


def stored_bytes(server: ServerProcess) -> bytes:
    db = Path(server.store.removeprefix("sqlite:///"))
    return b"".join(p.read_bytes() for p in (db, db.with_name(db.name + "-wal")) if p.exists())


def with_stale_key(browser: Any, server: ServerProcess, code: str) -> Any:
    page = new_page(browser, PHONE)
    page.context.add_init_script(f"localStorage.setItem('facilitation.token.{code}', 'a-key-this-meeting-never-saw')")
    page.goto(f"{server.url}/m/{code}")
    return page


def test_a_stale_key_meets_the_gate_and_declining_stores_nothing(browser: Any, server: ServerProcess) -> None:
    """A saved key the meeting does not know: the notice and the box, not an error; declining forgets the key."""
    code = consent_meeting(server)
    page = with_stale_key(browser, server, code)
    expect(page.locator("#consent-field")).to_be_visible()
    expect(page.locator("#notice")).to_contain_text(NOTICE["agency"])
    expect(page.locator("#fatal-box")).to_be_hidden()
    page.fill("#nickname", "舊手機不同意")
    page.click("#decline")
    expect(page.locator("#declined")).to_be_visible()
    assert api(server.url, f"/api/meetings/{code}")["counters"]["participants"] == 0
    assert "舊手機不同意".encode() not in stored_bytes(server)
    assert page.evaluate("c => localStorage.getItem('facilitation.token.' + c)", code) is None
    assert page.errors == []


def test_a_stale_key_that_agrees_joins_with_consent(browser: Any, server: ServerProcess) -> None:
    """A saved key the meeting does not know, then the box ticked: the phone joins as a new participant."""
    code = consent_meeting(server)
    page = with_stale_key(browser, server, code)
    page.fill("#nickname", "舊手機同意")
    page.check("#consent")
    page.click("#join-form button[type=submit]")
    expect(page.locator("#conn")).to_have_attribute("data-state", "online")
    assert api(server.url, f"/api/meetings/{code}")["counters"]["participants"] == 1
    assert page.errors == []


def test_joining_by_code_from_the_front_page_meets_the_gate(browser: Any, server: ServerProcess) -> None:
    """The front page's code box leads to the notice and the consent box, with nobody joined yet."""
    code = consent_meeting(server)
    page = new_page(browser, PHONE)
    page.goto(server.url + "/")
    page.locator("form:visible input").first.fill(code)
    page.locator("form:visible button[type=submit]").click()
    page.wait_for_url(f"**/m/{code}")
    expect(page.locator("#consent-field")).to_be_visible()
    assert api(server.url, f"/api/meetings/{code}")["counters"]["participants"] == 0
    assert page.errors == []


def test_the_projectors_qr_code_leads_to_the_gate(browser: Any, server: ServerProcess) -> None:
    """The QR code the projector shows (decoded from its picture) opens the notice and the consent box;
    declining there stores nothing."""
    from tests.e2e.test_rehearsal import decode_qr

    code = consent_meeting(server)
    projector = new_page(browser, PROJECTOR)
    projector.goto(f"{server.url}/projector/{code}")
    projector.wait_for_function("() => document.querySelector('#slide-qr').naturalWidth > 0")
    link = decode_qr(projector.locator("#slide-qr").screenshot())
    assert link.endswith(f"/m/{code}"), link
    page = new_page(browser, PHONE)
    page.goto(link)
    expect(page.locator("#consent-field")).to_be_visible()
    expect(page.locator("#notice")).to_contain_text(NOTICE["agency"])
    page.fill("#nickname", "掃碼不同意")
    page.click("#decline")
    expect(page.locator("#declined")).to_be_visible()
    assert api(server.url, f"/api/meetings/{code}")["counters"]["participants"] == 0
    assert "掃碼不同意".encode() not in stored_bytes(server)
    assert page.errors == [] and projector.errors == []

