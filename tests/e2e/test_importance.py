"""“This matters to me” from a phone (issue 24): the phone ticks the box on the card and votes; the mark goes
with the vote, and the exported summary counts it on that statement."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import create_meeting, new_page, start_collecting
from tests.support.servers import ServerProcess, scaled

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    tmp = tmp_path_factory.mktemp("importance")
    process = ServerProcess(f"sqlite:///{tmp / 'importance.db'}", env={"FACILITATION_ANALYSIS": "0"}).start()
    try:
        yield process
    finally:
        process.stop()


def summary(base: str, created: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(f"{base}/api/meetings/{created['code']}/export?format=json",
                                     headers={"X-Host-Key": created["host_key"]})
    with urllib.request.urlopen(request, timeout=scaled(30)) as response:
        data: dict[str, Any] = json.loads(response.read())
        return data


def test_a_phone_marks_a_statement_important_with_its_vote(browser: Any, server: ServerProcess) -> None:
    """Tick, vote: the statement voted on has one mark; the box is cleared for the next card, whose vote
    carries no mark."""
    base = server.url
    created = create_meeting(base, ask_nickname=True)
    start_collecting(base, created)
    phone = new_page(browser, {"width": 360, "height": 640})
    phone.goto(f"{base}/m/{created['code']}")
    phone.fill("#nickname", "小華")
    phone.click("#join-form button[type=submit]")
    expect(phone.locator("#conn")).to_have_attribute("data-state", "online")
    expect(phone.locator("#vote-buttons button")).to_have_count(4)
    expect(phone.locator("#statement")).not_to_be_empty()
    first = phone.locator("#statement").inner_text().strip()
    phone.check("#important")
    phone.click("#vote-buttons [data-value=agree]")
    expect(phone.locator("#statement")).not_to_have_text(first)
    expect(phone.locator("#important")).not_to_be_checked()
    phone.click("#vote-buttons [data-value=disagree]")
    expect(phone.locator("#done")).to_be_visible()
    marked: dict[str, int] = {}
    end = time.monotonic() + scaled(10)
    while time.monotonic() < end:
        data = summary(base, created)
        marked = {s["text"]: s["important"] for s in data["statements"]}
        if sum(marked.values()):
            break
        time.sleep(0.2)
    assert marked[first] == 1 and sum(marked.values()) == 1, marked
    assert phone.errors == []


def test_the_box_sits_beside_its_words_on_a_small_phone(browser: Any, server: ServerProcess) -> None:
    """At 360x640 the 這對我很重要 box is a small box on the line of its words (it stood alone, a 44 px wide
    empty square above them), and the line is a 44 px tap target."""
    base = server.url
    created = create_meeting(base, ask_nickname=False)
    start_collecting(base, created)
    phone = new_page(browser, {"width": 360, "height": 640})
    phone.goto(f"{base}/m/{created['code']}")
    expect(phone.locator("#vote-buttons button")).to_have_count(4)
    box = phone.locator("#important").bounding_box()
    words = phone.locator(".important-mark span").bounding_box()
    line = phone.locator(".important-mark").bounding_box()
    assert box is not None and words is not None and line is not None
    assert box["width"] <= 32 and box["height"] <= 32, box
    assert abs((box["y"] + box["height"] / 2) - (words["y"] + words["height"] / 2)) < 4, (box, words)
    assert words["x"] > box["x"] + box["width"], (box, words)
    assert line["height"] >= 44, line
    phone.locator(".important-mark span").click()
    expect(phone.locator("#important")).to_be_checked()
    assert phone.errors == []
