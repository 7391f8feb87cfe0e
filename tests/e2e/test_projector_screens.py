"""The projector's live screen after the spotlight or a round, in Chromium: a map that arrived while the
spotlight was up (the map hidden) still fits each group label's text inside its plate once the live screen
returns; and with an agenda the spotlight and round screens keep the current question's line ("問題 2／2：…")
at the back-row sizes. Live analysis is off: the projector is given the groups (tests/e2e/scripted.py).
Screenshots go to artifacts/screenshots/projector-screens-*.png.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect

from tests.e2e.conftest import PROJECTOR, create_meeting, host_command, new_page, screenshot
from tests.e2e.scripted import SEEDS, Phone, legible, serve_without_analysis, two_groups
from tests.e2e.test_lanes_and_hints import SHOW_ANALYSIS
from tests.e2e.test_projector_legibility import LABEL_PX
from tests.support.servers import ServerProcess

pytestmark = pytest.mark.browser

LABEL_BOXES = """() => Array.from(document.querySelectorAll('#map .group-label')).map((g) => {
  const text = g.querySelector('text').getBoundingClientRect();
  const plate = g.querySelector('rect').getBoundingClientRect();
  return {label: g.querySelector('text').textContent, text: [text.left, text.right, text.top, text.bottom],
          plate: [plate.left, plate.right, plate.top, plate.bottom]};
})"""
"""Each group label's text box and plate box, in screen pixels."""
SIZES = ({"width": 1920, "height": 1080}, {"width": 1280, "height": 720})
TOPIC = "夜市周邊的交通怎麼改善？"
QUESTION_2 = "夜市收攤後的清潔怎麼分工？"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    yield from serve_without_analysis(tmp_path_factory.mktemp("projector-screens"), "projector-screens")


def assert_labels_fit(projector: Any, where: str) -> None:
    labels = projector.evaluate(LABEL_BOXES)
    assert len(labels) == 2, (where, labels)
    for label in labels:
        (tl, tr, tt, tb), (pl, pr, pt, pb) = label["text"], label["plate"]
        assert tr - tl > 0, (where, label)
        assert pl <= tl and tr <= pr and pt <= tt and tb <= pb, f"{where}: text outside its plate: {label}"


def test_groups_sent_under_the_spotlight_get_labels_that_fit_their_text(browser: Any, server: ServerProcess) -> None:
    base = server.url
    created = create_meeting(base, roles=["住戶", "攤商"], seeds=SEEDS)
    code, key = created["code"], created["host_key"]
    assert host_command(base, code, key, {"type": "phase", "phase": "collecting"})["type"] == "ack"
    phones = [Phone(base, code, role) for role in ("住戶", "住戶", "住戶", "攤商", "攤商", "攤商")]
    for phone in phones:
        phone.vote(0, "agree" if phone.role == "住戶" else "disagree")
    projector = new_page(browser, PROJECTOR)
    projector.goto(f"{base}/projector/{code}")
    expect(projector.locator("body")).to_have_attribute("data-screen", "live")

    assert host_command(base, code, key, {"type": "spotlight", "statement": 0})["type"] == "ack"
    expect(projector.locator("body")).to_have_attribute("data-screen", "spotlight")
    expect(projector.locator("#map")).to_be_hidden()
    projector.evaluate(SHOW_ANALYSIS, two_groups([p.participant for p in phones[:3]],
                                                  [p.participant for p in phones[3:]]))
    expect(projector.locator("#spot-groups")).to_contain_text("A 組")  # the groups reached the page
    assert host_command(base, code, key, {"type": "spotlight_end"})["type"] == "ack"
    expect(projector.locator("body")).to_have_attribute("data-screen", "live")
    expect(projector.locator("#map .group-label text").first).to_have_text("A 組 · 3 人")
    with contextlib.suppress(PlaywrightTimeout):  # measured again once shown: wait, then say what does not fit
        projector.wait_for_function(f"() => ({LABEL_BOXES})().every((l) => l.text[1] <= l.plate[1])")
    for size in SIZES:
        projector.set_viewport_size(size)
        assert_labels_fit(projector, f"{size['width']}x{size['height']}")
        screenshot(projector, f"projector-screens-map-after-spotlight-{size['width']}x{size['height']}")
    assert projector.errors == [], projector.errors
    for phone in phones:
        phone.close()


def test_the_spotlight_and_round_screens_keep_the_agendas_question_line(browser: Any, server: ServerProcess) -> None:
    base = server.url
    created = create_meeting(base, title="夜市交通與清潔", topic=TOPIC, roles=["住戶", "攤商"], seeds=SEEDS[:2],
                             questions=[QUESTION_2])
    code, key = created["code"], created["host_key"]
    assert host_command(base, code, key, {"type": "phase", "phase": "collecting"})["type"] == "ack"
    assert host_command(base, code, key, {"type": "question_go", "question": 1})["type"] == "ack"
    fee = host_command(base, code, key, {"type": "seed", "text": "垃圾清運費應該由攤商分攤。"})
    assert fee["type"] == "ack", fee
    statement = len(SEEDS[:2])  # question 2's first statement
    phones = [Phone(base, code, role) for role in ("住戶", "攤商")]
    for phone in phones:
        phone.vote(statement, "agree" if phone.role == "住戶" else "disagree")
    projector = new_page(browser, PROJECTOR)
    projector.goto(f"{base}/projector/{code}")
    line = f"問題 2／2：{QUESTION_2}"
    expect(projector.locator("#topic")).to_have_text(line)

    screens = (("spotlight", {"type": "spotlight", "statement": statement}, {"type": "spotlight_end"}),
               ("round", {"type": "round_open", "statements": [statement]}, {"type": "round_close"}))
    for screen, start, end in screens:
        assert host_command(base, code, key, start)["type"] == "ack"
        expect(projector.locator("body")).to_have_attribute("data-screen", screen)
        topic = projector.locator("#topic")
        expect(topic).to_be_visible()
        expect(topic).to_have_text(line)
        for size in SIZES:
            projector.set_viewport_size(size)
            assert topic.evaluate("(e) => parseFloat(getComputedStyle(e).fontSize)") >= LABEL_PX - 0.01
            legible(projector, f"{screen}-{size['width']}x{size['height']}", ".spot-text")
            screenshot(projector, f"projector-screens-{screen}-agenda-{size['width']}x{size['height']}")
        assert host_command(base, code, key, end)["type"] == "ack"
        expect(projector.locator("body")).to_have_attribute("data-screen", "live")
    assert projector.errors == [], projector.errors
    for phone in phones:
        phone.close()
