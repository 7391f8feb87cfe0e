"""The speaking queue in Chromium (issue 23): three phones of two roles ask for the floor (one by its button);
after a resident spoke, the console puts the unheard role first and the projector names it as next; the host
gives the floor to the one it chooses and the phone says so; the summary counts turns and time by role."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import PHONE, PROJECTOR, create_meeting, host_command, new_page
from tests.e2e.scripted import SEEDS, Phone, export, legible, serve_without_analysis
from tests.support.servers import ServerProcess

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    yield from serve_without_analysis(tmp_path_factory.mktemp("floor"), "floor")


def test_the_unheard_role_is_first_in_the_queue(browser: Any, server: ServerProcess) -> None:
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
    resident, vendor = Phone(base, code, "住戶"), Phone(base, code, "攤商")

    host = new_page(browser, {"width": 1280, "height": 900})
    host.goto(f"{base}/host/{code}#key={key}")
    projector = new_page(browser, PROJECTOR)
    projector.goto(f"{base}/projector/{code}")
    expect(projector.locator("body")).to_have_attribute("data-screen", "live")

    resident.ask_floor()
    phone.click("#floor-ask")
    expect(phone.locator("#floor-state")).to_have_text("你在發言排隊中，主持人會請你發言。")
    vendor.ask_floor()
    expect(host.locator("#floor-queue li")).to_have_count(3)
    # Nobody has spoken: first come, first served.
    first = host.locator("#floor-queue li").first
    expect(first).to_have_attribute("data-participant", str(resident.participant))
    first.locator("button").click()
    expect(host.locator("#floor-now")).to_contain_text("住戶")
    host.click("#floor-end")
    # A resident spoke: the vendor (攤商, unheard) comes before 小明 (住戶), who asked before the vendor.
    expect(host.locator("#floor-queue li").first).to_have_attribute("data-participant", str(vendor.participant))
    expect(projector.locator("#floor-next")).to_have_text("下一位：攤商（排隊 2 人）")
    legible(projector, "floor-next", ".lane-text")
    # The host may choose otherwise: 小明 gets the floor, and the phone says so.
    host.locator("#floor-queue li", has_text="小明").locator("button").click()
    expect(phone.locator("#floor-state")).to_have_text("輪到你發言了！")
    expect(projector.locator("#floor-next")).to_have_text("發言中：住戶　下一位：攤商（排隊 1 人）")
    host.click("#floor-end")
    expect(host.locator("#floor-heard")).to_have_text("已發言：住戶 2")

    summary = json.loads(export(base, code, key, "json"))
    floor = summary["floor"]
    assert {r["name"]: r["turns"] for r in floor["by_role"]} == {"住戶": 2}
    assert floor["unheard_roles"] == ["攤商"]
    assert "攤商" in export(base, code, key, "md")
    for page in (phone, projector, host):
        assert page.errors == [], page.errors
    resident.close()
    vendor.close()
