"""Chromium: the create form takes the notice (or the agency's saved one); a phone shows the notice before
joining, the full text a tap away; a phone that declines sends nothing and nothing is stored about it; a
phone that agrees joins."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.agency.test_privacy_notice import NOTICE
from tests.e2e.conftest import PHONE, api, launch_chromium, new_page
from tests.support.servers import ServerProcess

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from launch_chromium()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    tmp = tmp_path_factory.mktemp("privacy")
    saved = tmp / "notice.json"
    saved.write_text(json.dumps({"privacy": NOTICE, "require_consent": True, "retention_days": 180},
                                ensure_ascii=False), encoding="utf-8")
    proc = ServerProcess(f"sqlite:///{tmp / 'm.db'}", env={"FACILITATION_ANALYSIS": "0",
                                                          "FACILITATION_PRIVACY_NOTICE": str(saved)}).start()
    try:
        yield proc
    finally:
        proc.stop()


def stored_bytes(server: ServerProcess) -> bytes:
    """Every byte of the server's SQLite file and its write-ahead log."""
    db = Path(server.store.removeprefix("sqlite:///"))
    return b"".join(path.read_bytes() for path in (db, db.with_name(db.name + "-wal")) if path.exists())


def test_create_form_takes_the_saved_notice(browser: Any, server: ServerProcess) -> None:
    """/new offers the agency's saved notice; the meeting created carries it, with consent and retention."""
    page = new_page(browser, {"width": 1280, "height": 900})
    page.goto(server.url + "/new")
    page.fill("#f-title", "公園規劃")
    page.click("#privacy-default")
    expect(page.locator("#f-privacy-agency")).to_have_value(NOTICE["agency"])
    expect(page.locator("#f-consent")).to_be_checked()
    expect(page.locator("#f-retention")).to_have_value("180")
    page.fill("#f-privacy-period", "會議結束後 90 天")
    page.fill("#f-retention", "90")
    page.click("#new-form button[type=submit]")
    page.wait_for_url("**/host/**")
    code = page.url.split("/host/")[1].split("#")[0]
    settings = api(server.url, f"/api/meetings/{code}")["settings"]
    assert settings["privacy"] == {**NOTICE, "period": "會議結束後 90 天"}
    assert settings["require_consent"] is True and settings["retention_days"] == 90
    assert page.errors == []


def consent_meeting(server: ServerProcess) -> str:
    body = {"title": "公園規劃", "privacy": NOTICE, "require_consent": True, "ask_nickname": True,
            "retention_days": 180, "seeds": ["公園要有更多樹蔭"]}
    return str(api(server.url, "/api/meetings", body)["code"])


def test_a_phone_that_declines_sends_nothing_and_nothing_is_stored(browser: Any, server: ServerProcess) -> None:
    """The notice shows before joining, the full text behind one tap; declining opens no connection, keeps
    nothing on the phone and leaves nothing in the store; the counters still say nobody joined."""
    code = consent_meeting(server)
    page = new_page(browser, PHONE)
    sockets: list[str] = []
    page.on("websocket", lambda ws: sockets.append(ws.url))
    page.goto(f"{server.url}/m/{code}")
    notice = page.locator("#notice")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text(NOTICE["agency"])
    expect(notice).to_contain_text(NOTICE["purpose"])
    expect(notice).to_contain_text("會議結束後 180 天")  # the meeting's retention, which the purge enforces
    expect(notice).to_contain_text("自動刪除。加入後")  # Chinese sentences follow each other without a space
    expect(page.get_by_text(NOTICE["rights"])).to_be_hidden()
    page.locator("#notice summary").click()  # the full notice, one tap away
    expect(page.get_by_text(NOTICE["rights"])).to_be_visible()
    page.fill("#nickname", "不想加入的人")
    page.click("#join-form button[type=submit]")  # without the box ticked
    expect(page.locator("#consent-error")).not_to_be_empty()
    assert page.evaluate("""() => {
      const probe = document.body.appendChild(document.createElement('span'));
      probe.style.color = 'var(--bad)';
      const same = getComputedStyle(probe).color === getComputedStyle(document.querySelector('#consent-error')).color;
      probe.remove();
      return same;
    }"""), "the missing consent is said in the colour for a problem"
    page.click("#decline")
    expect(page.locator("#declined")).to_be_visible()
    expect(page.locator("#join")).to_be_hidden()
    expect(page.locator("#conn")).to_have_attribute("data-state", "idle")  # it never said 連線中 truthfully
    page.wait_for_timeout(500)
    assert sockets == []
    assert page.evaluate("code => Object.keys(localStorage).filter((k) => k.includes(code))", code) == []
    assert api(server.url, f"/api/meetings/{code}")["counters"]["participants"] == 0
    assert "不想加入的人".encode() not in stored_bytes(server)
    assert page.errors == []


def test_a_phone_that_agrees_joins_with_its_consent_recorded(browser: Any, server: ServerProcess) -> None:
    """Ticking the box and joining makes a participant whose join records the notice and the consent."""
    code = consent_meeting(server)
    page = new_page(browser, PHONE)
    page.goto(f"{server.url}/m/{code}")
    expect(page.locator("#conn")).to_have_attribute("data-state", "idle")
    box, label = (page.locator(s).bounding_box() for s in ("#consent", "label[for=consent]"))
    assert box and label and box["x"] + box["width"] <= label["x"], (box, label)  # the box beside its sentence
    assert label["y"] <= box["y"] + box["height"] / 2 <= label["y"] + label["height"], (box, label)
    page.fill("#nickname", "同意的人")
    page.check("#consent")
    page.click("#join-form button[type=submit]")
    expect(page.locator("#conn")).to_have_attribute("data-state", "online")
    expect(page.locator("#vote")).to_be_hidden()  # the lobby: joined, waiting
    assert api(server.url, f"/api/meetings/{code}")["counters"]["participants"] == 1
    assert "同意的人".encode() in stored_bytes(server)  # the scan above sees what is stored
    assert page.errors == []


def test_a_notice_without_consent_shows_no_box_and_joins_directly(browser: Any, server: ServerProcess) -> None:
    """The consent box and the decline button are there only when the host asks for consent: a notice alone
    is shown (the full text a tap away) and the phone joins without ticking anything."""
    body = {"title": "只告知", "privacy": NOTICE, "require_consent": False, "ask_nickname": True,
            "seeds": ["公園要有更多樹蔭"]}
    code = str(api(server.url, "/api/meetings", body)["code"])
    page = new_page(browser, PHONE)
    page.goto(f"{server.url}/m/{code}")
    expect(page.locator("#notice")).to_contain_text(NOTICE["agency"])
    page.locator("#notice summary").click()
    expect(page.get_by_text(NOTICE["rights"])).to_be_visible()
    expect(page.locator("#consent-field")).to_be_hidden()
    expect(page.locator("#decline")).to_be_hidden()
    page.click("#join-form button[type=submit]")
    expect(page.locator("#conn")).to_have_attribute("data-state", "online")
    assert api(server.url, f"/api/meetings/{code}")["counters"]["participants"] == 1
    assert page.errors == []


def test_the_notice_screen_passes_axe_in_both_languages(browser: Any, server: ServerProcess) -> None:
    """The join screen with the notice open and the create form's notice fields: no serious axe finding in
    either language."""
    from tests.e2e.test_accessibility import check

    code = consent_meeting(server)
    page = new_page(browser, PHONE, bypass_csp=True)
    page.goto(f"{server.url}/m/{code}")
    page.locator("#notice summary").click()
    check(page)
    form = new_page(browser, {"width": 1280, "height": 900}, bypass_csp=True)
    form.goto(server.url + "/new")
    expect(form.locator("#f-privacy-agency")).to_be_visible()
    check(form)
