"""The spotlight in Chromium (issue 23): the host picks a statement and a 30 s countdown in the console, the
projector turns to it with the countdown, a phone that had another card gets the spotlighted one and votes on
it, and the projector counts its votes by opinion group and by stakeholder role, figures a reader can check
against the votes cast here; the spotlight screen meets the back-row rules (36/28 px, 7:1) in both themes at
1920x1080 and 1280x720; ending it brings the live screen back."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import PHONE, PROJECTOR, create_meeting, host_command, new_page, screenshot
from tests.e2e.scripted import (
    SEEDS,
    Phone,
    clock_pattern,
    host_participants,
    legible,
    serve_without_analysis,
    table,
    two_groups,
)
from tests.e2e.test_lanes_and_hints import SHOW_ANALYSIS
from tests.support.servers import ServerProcess

pytestmark = pytest.mark.browser

SPOT = 2
"""The statement the host spotlights: #3."""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    yield from serve_without_analysis(tmp_path_factory.mktemp("spotlight"), "spotlight")


def test_a_spotlight_with_a_countdown_reaches_phones_and_the_projector_counts_it(
        browser: Any, server: ServerProcess) -> None:
    base = server.url
    created = create_meeting(base, roles=["住戶", "攤商"], seeds=SEEDS, ask_nickname=True)
    code, key = created["code"], created["host_key"]
    assert host_command(base, code, key, {"type": "phase", "phase": "collecting"})["type"] == "ack"

    phone = new_page(browser, PHONE)
    phone.goto(f"{base}/m/{code}")
    phone.fill("#nickname", "小明")
    phone.check("input[name=role][value=住戶]", force=True)
    phone.click("#join-form button[type=submit]")
    expect(phone.locator("#statement-number")).to_have_text("#1")

    others = [Phone(base, code, "住戶"), Phone(base, code, "攤商"), Phone(base, code, "攤商")]
    projector = new_page(browser, PROJECTOR)
    projector.goto(f"{base}/projector/{code}")
    expect(projector.locator("body")).to_have_attribute("data-screen", "live")

    host = new_page(browser, {"width": 1280, "height": 900})
    host.goto(f"{base}/host/{code}#key={key}")
    expect(host.locator("#spot-statement option")).to_have_count(len(SEEDS))
    host.select_option("#spot-statement", str(SPOT))
    host.select_option("#spot-seconds", "30")
    host.click("#spot-start")

    expect(projector.locator("body")).to_have_attribute("data-screen", "spotlight")
    expect(projector.locator("#spot-text")).to_have_text(SEEDS[SPOT])
    expect(projector.locator("#spot-no")).to_have_text(f"#{SPOT + 1}")
    expect(projector.locator("#spot-clock")).to_have_text(clock_pattern())
    expect(host.locator("#spot-now-text")).to_contain_text(SEEDS[SPOT])
    expect(host.locator("#spot-host-clock")).to_have_text(clock_pattern())

    # The phone had #1 on screen and had not voted on #3: #3 is its card now, under the banner and its clock.
    expect(phone.locator("#statement-number")).to_have_text(f"#{SPOT + 1}")
    expect(phone.locator("#statement")).to_have_text(SEEDS[SPOT])
    expect(phone.locator("#spot-banner")).to_be_visible()
    expect(phone.locator("#spot-banner-clock")).to_have_text(clock_pattern())
    expect(phone.locator("#card")).not_to_have_class(_re("spot-new"))  # the moment's guard is over
    phone.click("#vote-buttons button[data-value=disagree]")
    expect(phone.locator("#spot-banner-voted")).to_have_text("你的表態：反對")

    votes = {others[0]: "agree", others[1]: "agree", others[2]: "disagree"}
    for other, value in votes.items():
        other.vote(SPOT, value)
    ids = host_participants(base, code, key)
    me = ids["小明"]
    projector.evaluate(SHOW_ANALYSIS, two_groups([me, others[0].participant], [others[1].participant,
                                                                               others[2].participant]))
    # 小明 (住戶, A) disagree; 住戶 (A) agree; 攤商 (B) agree; 攤商 (B) disagree: 4 votes, 2 agree, 2 disagree.
    expect(projector.locator("#spot-total")).to_have_text("已表態 4 人：贊成 2 · 可接受 0 · 略過 0 · 反對 2")
    columns = ["贊成", "可接受", "略過", "反對", "合計"]
    assert projector.eval_on_selector_all("#spot-roles thead th", "ths => ths.map((th) => th.textContent)") == [
        "身分", *columns]
    assert table(projector, "#spot-roles") == {"住戶": ["1", "0", "0", "1", "2"], "攤商": ["1", "0", "0", "1", "2"]}
    assert table(projector, "#spot-groups") == {"A 組": ["1", "0", "0", "1", "2"], "B 組": ["1", "0", "0", "1", "2"]}
    expect(host.locator("#spot-host-total")).to_have_text("已表態 4 人：贊成 2 · 可接受 0 · 略過 0 · 反對 2")

    # A changed vote moves between columns; it is never counted twice.
    others[2].vote(SPOT, "agree")
    expect(projector.locator("#spot-total")).to_have_text("已表態 4 人：贊成 3 · 可接受 0 · 略過 0 · 反對 1")
    assert table(projector, "#spot-groups")["B 組"] == ["2", "0", "0", "0", "2"]

    for size in ({"width": 1920, "height": 1080}, {"width": 1280, "height": 720}):
        projector.set_viewport_size(size)
        for theme in ("dark", "light"):
            host_command(base, code, key, {"type": "settings", "changes": {"projector_theme": theme}})
            expect(projector.locator("body")).to_have_attribute("data-theme", theme)
            legible(projector, f"spotlight-{theme}-{size['width']}x{size['height']}")
            screenshot(projector, f"projector-spotlight-{theme}-{size['width']}x{size['height']}")
    screenshot(phone, "phone-spotlight")

    host.click("#spot-end")
    expect(projector.locator("body")).to_have_attribute("data-screen", "live")
    expect(phone.locator("#spot-banner")).to_be_hidden()
    expect(host.locator("#spot-now")).to_be_hidden()
    for page in (phone, projector, host):
        assert page.errors == [], page.errors
    for other in others:
        other.close()


def _re(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)
