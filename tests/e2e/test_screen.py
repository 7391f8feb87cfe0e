"""Projector control in Chromium (issue 23): the host picks what the room sees in the console (the map alone,
the lanes alone, one opinion group's page, the join slide, back to automatic) and the projector follows live,
legible from the back row; the console's preview frame is the projector page itself."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import PROJECTOR, create_meeting, host_command, new_page
from tests.e2e.scripted import SEEDS, Phone, legible, two_groups
from tests.e2e.test_lanes_and_hints import SHOW_ANALYSIS
from tests.support.servers import ServerProcess

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    tmp = tmp_path_factory.mktemp("screen")
    process = ServerProcess(f"sqlite:///{tmp / 'screen.db'}", env={"FACILITATION_ANALYSIS": "0"}).start()
    try:
        yield process
    finally:
        process.stop()


def test_the_host_chooses_what_the_room_sees(browser: Any, server: ServerProcess) -> None:
    base = server.url
    created = create_meeting(base, roles=["住戶", "攤商"], seeds=SEEDS)
    code, key = created["code"], created["host_key"]
    assert host_command(base, code, key, {"type": "phase", "phase": "collecting"})["type"] == "ack"
    a, b = Phone(base, code, "住戶"), Phone(base, code, "攤商")
    a.vote(0, "agree")
    b.vote(0, "disagree")
    projector = new_page(browser, PROJECTOR)
    projector.goto(f"{base}/projector/{code}")
    expect(projector.locator("body")).to_have_attribute("data-screen", "live")
    projector.evaluate(SHOW_ANALYSIS, two_groups([a.participant], [b.participant]))
    host = new_page(browser, {"width": 1280, "height": 900})
    host.goto(f"{base}/host/{code}#key={key}")
    expect(host.locator("#screen-preview iframe")).to_have_attribute("src", f"/projector/{code}")

    host.click("#screen-choices button[data-view=lanes]")
    expect(projector.locator("body")).to_have_attribute("data-screen", "lanes")
    expect(projector.locator("#lanes")).to_be_visible()
    expect(projector.locator(".map-area")).to_be_hidden()
    legible(projector, "lanes-only", ".lane-text")
    expect(host.locator("#screen-choices button[data-view=lanes]")).to_have_attribute("aria-pressed", "true")
    expect(host.frame_locator("#screen-preview iframe").locator("body")).to_have_attribute("data-screen", "lanes")

    host.click("#screen-choices button[data-view=map]")
    expect(projector.locator("body")).to_have_attribute("data-screen", "map")
    expect(projector.locator(".map-area")).to_be_visible()
    expect(projector.locator("#lanes")).to_be_hidden()

    reply = host_command(base, code, key, {"type": "screen", "view": "group", "group": "B"})
    assert reply["type"] == "ack", reply
    expect(projector.locator("body")).to_have_attribute("data-screen", "results")
    expect(projector.locator(".deck-title")).to_contain_text("B 組")

    host.click("#screen-choices button[data-view=join]")
    expect(projector.locator("body")).to_have_attribute("data-screen", "join")
    host.click("#screen-choices button[data-view=auto]")
    expect(projector.locator("body")).to_have_attribute("data-screen", "live")
    refused = host_command(base, code, key, {"type": "screen", "view": "group"})
    assert refused["type"] == "error" and refused["error"]["code"] == "invalid_field"
    for page in (projector, host):
        assert page.errors == [], page.errors
    a.close()
    b.close()
