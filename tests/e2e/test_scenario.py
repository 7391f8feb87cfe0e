"""The pages end to end in Chromium: phones join, vote and post, the host moderates, the projector follows."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import DESKTOP, PHONE, PROJECTOR, Demo, counters, new_page, screenshot
from tests.support.servers import scaled

pytestmark = pytest.mark.browser

LONG = scaled(20) * 1000


def assert_one_lane_each(projector: Any) -> None:
    ids = projector.locator(".lane-list li").evaluate_all("els => els.map(e => e.dataset.statement)")
    assert len(ids) == len(set(ids)), f"a statement shown in two lanes: {ids}"


def join_phone(browser: Any, url: str, nickname: str = "") -> Any:
    """Open the join link on a 360 px phone and get past the nickname form if there is one."""
    phone = new_page(browser, PHONE)
    phone.goto(url)
    form = phone.locator("#join")
    expect(phone.locator("#title")).not_to_be_empty()
    if form.is_visible():
        if nickname:
            phone.fill("#nickname", nickname)
        phone.click("#join-form button[type=submit]")
    expect(phone.locator("#conn")).to_have_attribute("data-state", "online")
    return phone


def test_phone_joins_demo_votes_and_is_remembered(browser: Any, demo: Demo) -> None:
    """A phone joins the demo by link, votes, and after a reload is the same participant with its vote."""
    phone = new_page(browser, PHONE)
    phone.goto(demo.join)
    phone.fill("#nickname", "小華")
    phone.locator("#roles label").first.click()
    phone.click("#join-form button[type=submit]")
    expect(phone.locator("#conn")).to_have_attribute("data-state", "online")
    statement = phone.locator("#statement")
    expect(statement).not_to_be_empty()
    first = statement.text_content()
    phone.click("#vote-buttons [data-value=agree]")
    expect(phone.locator("#voted li")).to_have_count(1)
    expect(phone.locator("#voted li")).to_contain_text(first or "")
    expect(statement).not_to_have_text(first or "")
    expect(phone.locator("#me")).to_contain_text("小華")
    phone.reload()
    expect(phone.locator("#conn")).to_have_attribute("data-state", "online")
    expect(phone.locator("#join")).to_be_hidden()
    expect(phone.locator("#voted li")).to_have_count(1)
    assert phone.errors == []


def test_projector_draws_the_live_map(browser: Any, demo: Demo) -> None:
    """The demo's projector shows the QR, the counters and a map with labelled groups from live analysis."""
    projector = new_page(browser, PROJECTOR)
    projector.goto(demo.projector)
    expect(projector.locator("#conn")).to_have_attribute("data-state", "online")
    expect(projector.locator("#join-code")).to_have_text(f"{demo.code[:3]}-{demo.code[3:]}")
    assert projector.evaluate("document.querySelector('#qr').naturalWidth") > 0
    expect(projector.locator("#map .dot").first).to_be_attached(timeout=LONG)
    expect(projector.locator("#map .group-label text").first).to_contain_text(re.compile(r"\d"))
    expect(projector.locator("#map .group-label").first).to_be_visible()
    assert int(projector.locator("#c-participants").text_content() or 0) >= 36
    assert_one_lane_each(projector)
    projector.wait_for_timeout(1500)  # let the dots finish moving before the picture
    screenshot(projector, "projector-demo")
    assert projector.errors == []


@pytest.mark.slow
def test_pre_moderation_scenario(browser: Any, demo: Demo) -> None:
    """Create a pre-moderated meeting on /new; phones vote and post; the host accepts; the projector shows it."""
    base = demo.server.url
    host = new_page(browser, DESKTOP)
    host.goto(base + "/new")
    host.fill("#f-title", "夜市交通座談")
    host.fill("#f-topic", "如何讓夜市周邊更安全？")
    host.select_option("#f-moderation", "pre")
    host.fill("#f-roles", "住戶\n攤商")
    host.fill("#f-seeds", "應該增設機車停車區。\n應該增加公車班次。")
    host.click("#new-form button[type=submit]")
    host.wait_for_url(re.compile(r"/host/[2-9A-Z]{6}$"))
    code = host.url.rsplit("/", 1)[1]
    assert "key=" not in host.url, "the host key must leave the visible URL"
    assert host.evaluate(f"localStorage.getItem('facilitation.host.{code}')")
    expect(host.locator("#conn")).to_have_attribute("data-state", "online")
    host.locator("#phases button").nth(1).click()
    expect(host.locator("#phases button").nth(1)).to_have_attribute("aria-pressed", "true")

    projector = new_page(browser, PROJECTOR)
    projector.goto(f"{base}/projector/{code}")
    expect(projector.locator("#conn")).to_have_attribute("data-state", "online")

    voter = join_phone(browser, f"{base}/m/{code}", "阿明")
    expect(voter.locator("#statement")).not_to_be_empty()
    voter.click("#vote-buttons [data-value=acceptable]")
    expect(voter.locator("#voted li")).to_have_count(1)

    writer = join_phone(browser, f"{base}/m/{code}")
    text = "夜市週末應該實施行人徒步區。"
    writer.fill("#write-text", text)
    expect(writer.locator("#write-count")).to_contain_text(str(len(text)))
    writer.press("#write-text", "Enter")
    expect(writer.locator("#my-statements .state-pending")).to_have_count(1)

    queued = host.locator("#queue li")
    expect(queued).to_have_count(1)
    expect(queued).to_contain_text(text)
    queued.locator("button.accept").click()
    expect(host.locator("#queue li")).to_have_count(0)
    expect(writer.locator("#my-statements .state-accepted")).to_have_count(1)

    rejected = "請問停車場在哪裡？"
    writer.fill("#write-text", rejected)
    writer.click("#write-submit")
    expect(host.locator("#queue li")).to_have_count(1)
    host.fill("#queue li input", "請寫成陳述句，不要用問句。")
    host.click("#queue li button.reject")
    expect(writer.locator("#my-statements .state-rejected")).to_have_count(1)
    expect(writer.locator("#my-statements")).to_contain_text("請寫成陳述句")
    expect(host.locator("#log")).to_contain_text("請寫成陳述句")

    expect(projector.locator("#c-participants")).to_have_text("2")
    expect(projector.locator("#c-statements")).to_have_text("3")
    # The voter's vote plus the author's implicit agree on the accepted post (not on the rejected one).
    expect(projector.locator("#c-votes")).to_have_text("2")
    expect(projector.locator(".lanes")).to_contain_text(text)
    assert_one_lane_each(projector)
    voter.click("#vote-buttons [data-value=pass]")
    expect(voter.locator("#statement")).to_have_text(text)
    expect(projector.locator("#c-votes")).to_have_text("3")
    assert counters(base, code)["votes"] == 3

    screenshot(voter, "participant", full_page=True)
    screenshot(writer, "participant-writer", full_page=True)
    screenshot(host, "host", full_page=True)
    screenshot(projector, "projector")
    for page in (host, projector, voter, writer):
        assert page.errors == []
