"""Near-duplicates beside a pending statement, a merge, and reword / split from the console (issue 24,
statement lineage).

A phone posts a near-repeat of an earlier statement under pre-moderation; the host's console shows the
earlier one beside it with its similarity (facilitation/core/similarity.py, through /api/meetings/{code}/similar),
and its merge button closes both into one statement with the earlier words, as the moderation log says.
Published statements can be reworded while only their author has voted, and split whatever their votes."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import api, create_meeting, host_command, new_page
from tests.support.servers import ServerProcess, scaled

HOST = {"width": 1280, "height": 800}
SEEDS = ["夜市要有更多垃圾桶。", "攤位應該晚上十點以前收攤。", "停車位不夠。"]
REPEAT = "夜市要有更多的垃圾桶！"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    tmp = tmp_path_factory.mktemp("lineage")
    process = ServerProcess(f"sqlite:///{tmp / 'lineage.db'}", env={"FACILITATION_ANALYSIS": "0"}).start()
    try:
        yield process
    finally:
        process.stop()


def phone_send(base: str, code: str, message: dict[str, Any]) -> dict[str, Any]:
    """A new participant sends one message over the WebSocket, as a phone does; its reply."""
    from websockets.sync.client import connect

    with connect(base.replace("http://", "ws://") + f"/ws/{code}", open_timeout=scaled(10)) as ws:
        ws.send(json.dumps({"v": 1, "type": "hello", "role": "participant"}))
        while json.loads(ws.recv(timeout=scaled(10)))["type"] != "snapshot":
            pass
        ws.send(json.dumps({"v": 1, "op": "phone-1", **message}))
        while True:
            reply: dict[str, Any] = json.loads(ws.recv(timeout=scaled(10)))
            if reply.get("op") == "phone-1":
                return reply


def phone_post(base: str, code: str, text: str) -> dict[str, Any]:
    """A new participant posts ``text``."""
    return phone_send(base, code, {"type": "post", "text": text})


def log_entries(base: str, code: str, action: str) -> list[dict[str, Any]]:
    """The moderation log once it has an ``action`` entry (waited for), all of it."""
    deadline = time.monotonic() + scaled(10)
    while True:
        log: list[dict[str, Any]] = api(base, f"/api/meetings/{code}/log")["log"]
        if any(e["action"] == action for e in log) or time.monotonic() > deadline:
            return log
        time.sleep(0.05)


def test_the_console_suggests_the_earlier_statement_and_merges(browser: Any, server: ServerProcess) -> None:
    base = server.url
    created = create_meeting(base, title="夜市", moderation="pre", seeds=SEEDS)
    code, key = created["code"], created["host_key"]
    assert host_command(base, code, key, {"type": "phase", "phase": "collecting"})["type"] == "ack"
    posted = phone_post(base, code, REPEAT)
    assert posted["type"] == "ack" and posted["result"]["state"] == "pending", posted
    repeat = int(posted["result"]["statement"])

    with pytest.raises(urllib.error.HTTPError) as refused:  # the suggestions are the host's alone
        urllib.request.urlopen(f"{base}/api/meetings/{code}/similar?statement={repeat}", timeout=scaled(10))
    assert refused.value.code in (401, 403)

    host = new_page(browser, HOST)
    host.goto(f"{base}/host/{code}#key={key}")
    item = host.locator("#queue li", has_text=REPEAT)
    expect(item).to_be_visible()
    suggestion = item.locator(".near-duplicate")
    expect(suggestion).to_have_count(1)
    expect(item.locator(".near-duplicates-head")).to_have_text("可能重複（文字相似度）：")
    expect(suggestion.locator("button.merge")).to_have_text("合併到 #1")
    expect(suggestion).to_contain_text("#1")
    expect(suggestion).to_contain_text(SEEDS[0])
    expect(suggestion.locator(".near-duplicate-score")).to_contain_text("0.8")  # 0.83 on this meeting
    suggestion.locator("button.merge").click()
    expect(host.locator("#queue li", has_text=REPEAT)).to_have_count(0)

    deadline = time.monotonic() + scaled(10)
    while True:
        log = api(base, f"/api/meetings/{code}/log")["log"]
        merges = [e for e in log if e["action"] == "merge"]
        if merges or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert [(m["sources"], m["targets"]) for m in merges] == [([0, repeat], [repeat + 1])]
    hides = {e["statement"]: e["reason"] for e in log if e["action"] == "hide"}
    assert hides == {0: f"已合併為 #{repeat + 2}", repeat: f"已合併為 #{repeat + 2}"}
    assert host.errors == []


def test_the_console_splits_a_composite_statement(browser: Any, server: ServerProcess) -> None:
    """A phone's composite statement, split from the queue by typing the parts separated by ｜."""
    base = server.url
    created = create_meeting(base, title="夜市", moderation="pre", seeds=SEEDS)
    code, key = created["code"], created["host_key"]
    assert host_command(base, code, key, {"type": "phase", "phase": "collecting"})["type"] == "ack"
    composite = "降低攤位租金並且把市場搬到河濱"
    posted = phone_post(base, code, composite)
    original = int(posted["result"]["statement"])

    host = new_page(browser, HOST)
    host.goto(f"{base}/host/{code}#key={key}")
    item = host.locator("#queue li", has_text=composite)
    expect(item).to_be_visible()
    item.locator("input.rewrite").fill("降低攤位租金｜把市場搬到河濱")
    item.locator("button.rewrite-send").click()
    expect(host.locator("#queue li", has_text=composite)).to_have_count(0)

    deadline = time.monotonic() + scaled(10)
    while True:
        log = api(base, f"/api/meetings/{code}/log")["log"]
        splits = [e for e in log if e["action"] == "split"]
        if splits or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert [(e["sources"], e["targets"]) for e in splits] == [([original], [original + 1, original + 2])]
    reason = next(e["reason"] for e in log if e["action"] == "hide" and e["statement"] == original)
    assert reason == f"已拆分為 #{original + 2}、#{original + 3}"
    expect(host.locator("#all-statements")).to_contain_text("把市場搬到河濱")
    assert host.errors == []


def test_the_console_rewords_and_splits_published_statements(browser: Any, server: ServerProcess) -> None:
    """A published statement only its author voted on is reworded from the statements list; one someone else
    voted on offers the split only, says why with the count, and a reword of it is refused in words."""
    base = server.url
    created = create_meeting(base, title="夜市", moderation="post", seeds=SEEDS)
    code, key = created["code"], created["host_key"]
    assert host_command(base, code, key, {"type": "phase", "phase": "collecting"})["type"] == "ack"
    loose = "攤位租金太高了啦"
    composite = "降低攤位租金並且把市場搬到河濱"
    first = phone_post(base, code, loose)
    second = phone_post(base, code, composite)
    assert first["result"]["state"] == second["result"]["state"] == "accepted", (first, second)
    reworded, voted = int(first["result"]["statement"]), int(second["result"]["statement"])
    vote = phone_send(base, code, {"type": "vote", "statement": voted, "value": "disagree"})
    assert vote["type"] == "ack", vote

    host = new_page(browser, HOST)
    host.goto(f"{base}/host/{code}#key={key}")
    item = host.locator("#all-statements li", has_text=loose)
    expect(item.locator("summary.rewrite-open")).to_have_text("改寫／拆分")  # only its author voted
    item.locator("summary.rewrite-open").click()
    item.locator("input.rewrite").fill("攤位租金太高")
    item.locator("button.rewrite-send").click()
    log = log_entries(base, code, "reword")
    assert [(e["sources"], e["targets"]) for e in log if e["action"] == "reword"] == [([reworded], [voted + 1])]
    assert {e["statement"]: e["reason"] for e in log if e["action"] == "hide"} == {reworded: f"已改寫為 #{voted + 2}"}
    new = host.locator("#all-statements li", has_text="攤位租金太高").filter(has_not_text=loose)
    expect(new).to_contain_text("攤位租金太高")

    item = host.locator("#all-statements li", has_text=composite)
    expect(item.locator("summary.rewrite-open")).to_have_text("拆分")  # someone besides its author voted
    item.locator("summary.rewrite-open").click()
    expect(item.locator(".rewrite-note")).to_contain_text("作者以外已有 1 票")
    expect(item.locator("button.rewrite-send")).to_have_text("拆分")
    item.locator("input.rewrite").fill("降低攤位租金並把市場搬到河濱")  # one text: a reword, refused
    item.locator("button.rewrite-send").click()
    expect(item.locator(".rewrite-box .action-error")).to_have_text(
        "作者以外已經有人表態，不能改寫：請拆分成兩則以上（用 ｜ 分開），或另外新增一則。")
    assert not [e for e in api(base, f"/api/meetings/{code}/log")["log"] if e.get("statement") == voted]
    # the console rebuilds its lists on every event: the refusal and the host's words stay
    assert phone_send(base, code, {"type": "vote", "statement": 0, "value": "agree"})["type"] == "ack"
    expect(host.locator("#all-statements li", has_text=SEEDS[0])).to_contain_text("共 1 票")
    expect(item.locator(".rewrite-box .action-error")).to_contain_text("不能改寫")
    expect(item.locator("input.rewrite")).to_have_value("降低攤位租金並把市場搬到河濱")
    item.locator("input.rewrite").fill("降低攤位租金｜把市場搬到河濱")
    item.locator("button.rewrite-send").click()
    log = log_entries(base, code, "split")
    assert [(e["sources"], e["targets"]) for e in log if e["action"] == "split"] == [([voted], [voted + 2, voted + 3])]
    hidden = next(e["reason"] for e in log if e["action"] == "hide" and e["statement"] == voted)
    assert hidden == f"已拆分為 #{voted + 3}、#{voted + 4}"
    expect(host.locator("#all-statements li", has_text="把市場搬到河濱").locator(".badge")).not_to_have_count(0)
    closed = host.locator("#all-statements li", has_text=composite)
    expect(closed.locator("summary.rewrite-open")).to_have_count(0)  # a closed original is changed no more
    assert host.errors == []


def test_the_reword_hint_reads_whole_on_a_phone_sized_console(browser: Any, server: ServerProcess) -> None:
    """At 360x640 the reword / split hint is a visible line, all of it inside the screen (a placeholder was cut)."""
    base = server.url
    created = create_meeting(base, title="夜市", moderation="pre", seeds=SEEDS)
    code, key = created["code"], created["host_key"]
    assert host_command(base, code, key, {"type": "phase", "phase": "collecting"})["type"] == "ack"
    phone_post(base, code, "降低攤位租金並且把市場搬到河濱")
    host = new_page(browser, {"width": 360, "height": 640})
    host.goto(f"{base}/host/{code}#key={key}")
    item = host.locator("#queue li", has_text="降低攤位租金並且把市場搬到河濱")
    hint = item.locator(".rewrite-hint")
    expect(hint).to_have_text("新的文字；拆成幾則時用 ｜ 分開")
    # Scrolled and measured in one step: the queue is drawn again when the first analysis arrives, and an
    # element handle kept between two steps can be the one just replaced.
    box = hint.evaluate("(e) => { e.scrollIntoView({block: 'center'}); const r = e.getBoundingClientRect();"
                        " return {left: r.left, right: r.right, clipped: e.scrollWidth > e.clientWidth + 1}; }")
    assert box["left"] >= 0 and box["right"] <= 360 and not box["clipped"], box
    assert item.locator("input.rewrite").get_attribute("placeholder") is None
    item.locator(".rewrite-hint").click()  # the label focuses its box
    expect(item.locator("input.rewrite")).to_be_focused()
    assert host.errors == []
