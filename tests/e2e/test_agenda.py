"""A two-question agenda run from the console (issue 23): the host creates the meeting on /new with the ORID
template, runs question 1 with a timer, moves the room to question 2; the projector and a phone follow (the
question on screen, the phone's card from the new question only), and the exported summary has a section
per question whose statements are that question's.

Screenshots go to artifacts/screenshots/agenda-*.png.
"""

from __future__ import annotations

import urllib.request
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import Demo, api, host_command, new_page, screenshot
from tests.support.servers import scaled

pytestmark = pytest.mark.browser

LAPTOP = {"width": 1280, "height": 720}
PHONE = {"width": 360, "height": 640}
TOPIC = "夜市周邊的交通怎麼改善？"
Q1_SEED = "夜市周邊應該增設機車停車區。"
Q2_STATEMENT = "我看到週末晚上人行道都被機車佔滿。"


def export(base: str, code: str, key: str) -> str:
    with urllib.request.urlopen(f"{base}/api/meetings/{code}/export?format=md&key={key}",
                                timeout=scaled(30)) as response:
        return str(response.read().decode("utf-8"))


def test_a_two_question_agenda_with_a_timer(browser: Any, plain_demo: Demo) -> None:
    base = plain_demo.server.url
    host = new_page(browser, LAPTOP)
    host.goto(f"{base}/new")
    host.fill("#f-title", "夜市交通討論")
    host.fill("#f-topic", TOPIC)
    host.fill("#f-seeds", Q1_SEED)
    host.uncheck("#f-ask")
    host.click("#f-orid")
    expect(host.locator("#f-questions")).to_have_value(
        "客觀事實：關於這個議題，你看到、聽到、知道哪些事實？\n感受反應：哪些地方讓你驚訝、擔心或期待？\n"
        "意義詮釋：這對我們代表什麼？最重要的影響是什麼？\n決定行動：我們接下來要怎麼做？誰來做？")
    host.click("#new-form button[type=submit]")
    host.wait_for_url("**/host/*")
    expect(host.locator("#conn")).to_have_attribute("data-state", "online")
    code = host.url.split("/host/")[1].split("#")[0].split("?")[0]
    key = host.evaluate(f"localStorage.getItem('facilitation.host.{code}')")
    expect(host.locator("#agenda-list li")).to_have_count(5)
    expect(host.locator("#agenda-list li").first).to_contain_text(TOPIC)

    projector = new_page(browser, LAPTOP)
    projector.goto(f"{base}/projector/{code}")
    phone = new_page(browser, PHONE)
    phone.goto(f"{base}/m/{code}")
    for page in (projector, phone):
        expect(page.locator("#conn")).to_have_attribute("data-state", "online")
    expect(projector.locator("#topic")).to_contain_text(f"問題 1／5：{TOPIC}")

    host.locator("#phases button").nth(1).click()  # 蒐集意見
    expect(projector.locator("#phase")).to_have_text("蒐集意見")
    # question 1, time-boxed: the projector and the phone count down
    host.fill("#timer-minutes", "3")
    host.fill("#timer-seconds", "0")
    host.click("#timer-start")
    for page in (projector, phone):
        expect(page.locator("#timer")).to_contain_text("剩")
    phone.get_by_role("button", name="贊成").first.click()  # the phone's card: question 1's seed
    expect(phone.locator("body")).to_contain_text("已表態 1 則")
    expect(projector.locator("#lanes")).to_contain_text(Q1_SEED)
    screenshot(projector, "agenda-projector-question-1")

    # on to question 2 (客觀事實): everyone follows, and the phone writes under it
    host.locator("#agenda-list li").nth(1).get_by_role("button").click()
    expect(host.locator("#agenda-status")).to_have_attribute("data-tone", "ok")
    expect(projector.locator("#topic")).to_contain_text("問題 2／5：客觀事實")
    expect(phone.locator("#topic")).to_contain_text("問題 2／5：客觀事實")
    expect(host.locator("#agenda-list li").nth(1)).to_have_class("agenda-item current")
    expect(projector.locator("#lanes")).not_to_contain_text(Q1_SEED)  # the lanes are the current question's
    expect(host.locator("#lanes")).not_to_contain_text(Q1_SEED)
    info = api(base, f"/api/meetings/{code}")
    assert info["phase"] == "collecting"
    screenshot(projector, "agenda-projector-question-2")
    screenshot(phone, "agenda-phone-question-2")

    second = new_page(browser, PHONE)
    second.goto(f"{base}/m/{code}")
    expect(second.locator("#conn")).to_have_attribute("data-state", "online")
    expect(second.locator("#topic")).to_contain_text("客觀事實")
    # a phone joining now is offered nothing of question 1
    expect(second.locator("body")).not_to_contain_text(Q1_SEED)
    host.locator("#timer-end").click()
    expect(host.locator("#timer-prompt")).to_be_visible()
    for page in (projector, phone):
        expect(page.locator("#timer")).to_have_text("時間到")

    reply = host_command(base, code, key, {"type": "seed", "text": Q2_STATEMENT})
    assert reply["type"] == "ack", reply
    expect(second.locator("body")).to_contain_text(Q2_STATEMENT)
    expect(projector.locator("#lanes")).to_contain_text(Q2_STATEMENT)
    # the console tags each statement with its question
    expect(host.locator("#all-statements li", has_text=Q2_STATEMENT).locator(".stmt-question")).to_have_text("問題 2")
    expect(host.locator("#all-statements li", has_text=Q1_SEED).locator(".stmt-question")).to_have_text("問題 1")

    summary = export(base, code, key)
    one = summary.index("## 問題 1：")
    two = summary.index("## 問題 2：客觀事實")
    end = summary.index("## 問題 3：")
    assert Q1_SEED in summary[one:two] and Q2_STATEMENT not in summary[one:two]
    assert Q2_STATEMENT in summary[two:end] and Q1_SEED not in summary[two:end]
    assert "| 1 | " + Q1_SEED in summary[one:two]
    for page in (host, projector, phone, second):
        assert page.errors == []
