"""The public record page (/record/CODE) of a meeting with an agenda, in Chromium: each question's heading
(h3.question) stands above its counts and its lanes (h4), sized between the section heading (h2) and the
lanes, with a rule above it, as the record's download styles it (facilitation/export/record.py). Screenshots
go to artifacts/screenshots/record-questions-*.png."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import create_meeting, host_command, new_page, screenshot
from tests.e2e.scripted import SEEDS, Phone, serve_without_analysis
from tests.support.servers import ServerProcess

pytestmark = pytest.mark.browser

TOPIC = "夜市周邊的交通怎麼改善？"
QUESTION_2 = "夜市收攤後的清潔怎麼分工？"
STYLES = """() => {
  const style = (e) => { const s = getComputedStyle(e);
    return {size: parseFloat(s.fontSize), weight: Number(s.fontWeight), rule: parseFloat(s.borderTopWidth),
            top: e.getBoundingClientRect().top, text: e.textContent}; };
  return {h2: Array.from(document.querySelectorAll('h2')).map(style),
          questions: Array.from(document.querySelectorAll('h3.question')).map(style),
          lanes: Array.from(document.querySelectorAll('h4')).map(style)};
}"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    yield from serve_without_analysis(tmp_path_factory.mktemp("record-page"), "record-page")


def test_the_public_record_shows_each_question_above_its_lanes(browser: Any, server: ServerProcess) -> None:
    base = server.url
    created = create_meeting(base, title="夜市交通與清潔", topic=TOPIC, seeds=SEEDS[:2], questions=[QUESTION_2])
    code, key = created["code"], created["host_key"]
    assert host_command(base, code, key, {"type": "phase", "phase": "collecting"})["type"] == "ack"
    phone = Phone(base, code, "")
    phone.vote(0, "agree")
    assert host_command(base, code, key, {"type": "question_go", "question": 1})["type"] == "ack"
    assert host_command(base, code, key, {"type": "seed", "text": "垃圾清運費應該由攤商分攤。"})["type"] == "ack"
    phone.vote(2, "disagree")
    phone.close()
    for phase in ("voting", "reviewing", "closed"):
        assert host_command(base, code, key, {"type": "phase", "phase": phase})["type"] == "ack"
    assert host_command(base, code, key, {"type": "publish"})["type"] == "ack"

    for size in ({"width": 1920, "height": 1080}, {"width": 1280, "height": 720}):
        page = new_page(browser, size)
        page.goto(f"{base}/record/{code}")
        expect(page.locator("h3.question")).to_have_count(2)
        found = page.evaluate(STYLES)
        conclusions = next(h for h in found["h2"] if h["text"] == "結論")
        one, two = found["questions"]
        assert one["text"].startswith("問題 1") and TOPIC in one["text"], one
        assert two["text"].startswith("問題 2") and QUESTION_2 in two["text"], two
        assert conclusions["top"] < one["top"] < two["top"]
        for question in (one, two):  # a clear step down: section > question > lane, a rule above each question
            assert conclusions["size"] > question["size"], (conclusions, question)
            assert question["rule"] >= 2, question
            assert question["weight"] >= 700, question
        lanes = found["lanes"]
        assert lanes, "no lane headings"
        assert all(lane["size"] < one["size"] and lane["weight"] >= 700 for lane in lanes), lanes
        assert any(one["top"] < lane["top"] < two["top"] for lane in lanes)  # question 1's lanes under it
        assert any(lane["top"] > two["top"] for lane in lanes)
        page.locator("#question-1").scroll_into_view_if_needed()
        screenshot(page, f"record-questions-{size['width']}x{size['height']}")
        assert page.errors == [], page.errors
