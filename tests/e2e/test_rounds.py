"""A second round in Chromium (issue 23): phones voted in round 1; the host ticks the disputed statement in the
console and opens round 2; a phone that had voted on everything is shown it again with its earlier vote and
changes it; the projector shows what moved by role and by opinion group, figures a reader can check against
the votes cast here, legible from the back row in both themes at both sizes; the exported summary (Markdown and
JSON) holds both rounds and the same shift."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import PHONE, PROJECTOR, create_meeting, host_command, new_page, screenshot
from tests.e2e.scripted import (
    SEEDS,
    Phone,
    export,
    host_participants,
    legible,
    serve_without_analysis,
    two_groups,
)
from tests.e2e.test_lanes_and_hints import SHOW_ANALYSIS
from tests.support.servers import ServerProcess

pytestmark = pytest.mark.browser

DISPUTED = 2
"""The statement voted on again: #3."""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    yield from serve_without_analysis(tmp_path_factory.mktemp("rounds"), "rounds")


def test_round_two_shows_what_moved_on_the_projector_and_in_the_summary(browser: Any, server: ServerProcess) -> None:
    base = server.url
    created = create_meeting(base, roles=["住戶", "攤商"], seeds=SEEDS, ask_nickname=True)
    code, key = created["code"], created["host_key"]
    assert host_command(base, code, key, {"type": "phase", "phase": "collecting"})["type"] == "ack"

    phone = new_page(browser, PHONE)
    phone.goto(f"{base}/m/{code}")
    phone.fill("#nickname", "小明")
    phone.check("input[name=role][value=住戶]", force=True)
    phone.click("#join-form button[type=submit]")
    for number in range(1, len(SEEDS) + 1):
        expect(phone.locator("#statement-number")).to_have_text(f"#{number}")
        phone.click("#vote-buttons button[data-value=disagree]")
    expect(phone.locator("#done")).to_be_visible()

    r1, r2, v1 = Phone(base, code, "住戶"), Phone(base, code, "住戶"), Phone(base, code, "攤商")
    r1.vote(DISPUTED, "disagree")
    r2.vote(DISPUTED, "disagree")
    v1.vote(DISPUTED, "agree")

    projector = new_page(browser, PROJECTOR)
    projector.goto(f"{base}/projector/{code}")
    expect(projector.locator("body")).to_have_attribute("data-screen", "live")
    host = new_page(browser, {"width": 1280, "height": 900})
    host.goto(f"{base}/host/{code}#key={key}")
    expect(host.locator("#round-pick input")).to_have_count(len(SEEDS))
    host.click(".round-pick-box summary")  # the list of statements folds away until asked for
    host.check(f"#round-pick input[value='{DISPUTED}']")
    host.click("#round-open")

    expect(projector.locator("body")).to_have_attribute("data-screen", "round")
    expect(projector.locator("#round-h")).to_have_text("第 2 輪：再表態一次")
    expect(projector.locator("#round-text")).to_have_text(SEEDS[DISPUTED])
    expect(projector.locator("#round-count")).to_have_text("第 2 輪有 0 人再表態（之前 4 人表態過）")

    # The phone that had voted on everything gets #3 again, its 反對 pressed, under the round's banner.
    expect(phone.locator("#round-banner-h")).to_have_text("第 2 輪：主持人請大家再表態一次")
    expect(phone.locator("#statement-number")).to_have_text(f"#{DISPUTED + 1}")
    expect(phone.locator("#vote-buttons button[data-value=disagree]")).to_have_attribute("aria-pressed", "true")
    phone.click("#vote-buttons button[data-value=acceptable]")
    expect(phone.locator("#round-banner-left")).to_have_text("這一輪都表態完了，謝謝！")

    r1.vote(DISPUTED, "acceptable")
    r2.vote(DISPUTED, "disagree")
    v1.vote(DISPUTED, "agree")
    ids = host_participants(base, code, key)
    projector.evaluate(SHOW_ANALYSIS, two_groups([ids["小明"], r1.participant], [r2.participant, v1.participant]))
    # Round 1: 小明, r1, r2 (住戶) 反對, v1 (攤商) 贊成. Round 2: 小明 and r1 反對 -> 可接受, r2 kept 反對, v1 kept.
    expect(projector.locator("#round-count")).to_have_text("第 2 輪有 4 人再表態（之前 4 人表態過）")
    expect(projector.locator("#round-roles li")).to_have_text(
        ["住戶：反對 → 可接受 2 人 · 維持 1 人", "攤商：維持 1 人"])
    expect(projector.locator("#round-groups li")).to_have_text(["A 組：反對 → 可接受 2 人", "B 組：維持 2 人"])
    expect(host.locator("#round-now")).to_contain_text("已有 4 人再表態")

    for size in ({"width": 1920, "height": 1080}, {"width": 1280, "height": 720}):
        projector.set_viewport_size(size)
        for theme in ("dark", "light"):
            host_command(base, code, key, {"type": "settings", "changes": {"projector_theme": theme}})
            expect(projector.locator("body")).to_have_attribute("data-theme", theme)
            legible(projector, f"round-{theme}-{size['width']}x{size['height']}", ".spot-text")
            screenshot(projector, f"projector-round-{theme}-{size['width']}x{size['height']}")

    host.click("#round-close")
    expect(projector.locator("body")).to_have_attribute("data-screen", "live")
    expect(phone.locator("#round-banner")).to_be_hidden()

    summary = json.loads(export(base, code, key, "json"))
    (second,) = summary["rounds"]
    assert second["round"] == 2 and second["statements"][0]["statement"] == DISPUTED
    shift = second["statements"][0]
    assert shift["before"] == {"agree": 1, "disagree": 3}
    assert shift["after"] == {"acceptable": 2, "agree": 1, "disagree": 1}
    assert shift["by_role"]["住戶"] == {"voted": 3, "kept": 1, "new": 0, "moved": {"disagree->acceptable": 2}}
    markdown = export(base, code, key, "md")
    assert "住戶：反對 → 可接受 2 人 · 維持 1 人" in markdown
    for page in (phone, projector, host):
        assert page.errors == [], page.errors
    for other in (r1, r2, v1):
        other.close()


def test_a_round_nobody_has_voted_in_shows_no_empty_headings(browser: Any, server: ServerProcess) -> None:
    """Just opened, a round's screen says 0 voted again and shows no 身分 / 意見群組 heading over nothing;
    the first vote brings the heading with its line."""
    base = server.url
    created = create_meeting(base, roles=["住戶", "攤商"], seeds=SEEDS, ask_nickname=False)
    code, key = created["code"], created["host_key"]
    assert host_command(base, code, key, {"type": "phase", "phase": "collecting"})["type"] == "ack"
    projector = new_page(browser, PROJECTOR)
    projector.goto(f"{base}/projector/{code}")
    expect(projector.locator("body")).to_have_attribute("data-screen", "live")
    assert host_command(base, code, key, {"type": "round_open", "statements": [DISPUTED]})["type"] == "ack"
    expect(projector.locator("body")).to_have_attribute("data-screen", "round")
    expect(projector.locator("#round-count")).to_have_text("第 2 輪有 0 人再表態（之前 0 人表態過）")
    expect(projector.locator("#round h3")).to_have_count(2)
    for heading in projector.locator("#round h3").all():
        expect(heading).to_be_hidden()
    phone = Phone(base, code, "住戶")
    phone.vote(DISPUTED, "agree")
    expect(projector.locator("#round-roles li")).to_have_text(["住戶：新表態 1 人"])
    expect(projector.locator("#round-roles-box h3")).to_be_visible()
    expect(projector.locator("#round-groups-box h3")).to_be_visible()  # 尚未分組 1 人
    phone.close()
    assert projector.errors == []
