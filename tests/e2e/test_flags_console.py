"""The voting-quality flags and the reversible exclusion on the host console (issue 24), in Chromium.

A phone answers twelve cards in the same instant on a real server with live analysis; the console shows it
flagged as faster than reading allows, with the counts behind the flag. The host clicks 排除於分析外: the
next analysis leaves that participant off the map (seen by a host WebSocket, as any script following
docs/protocol.md would), and 恢復納入分析 brings them back."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from contextlib import ExitStack
from typing import Any

from playwright.sync_api import expect

from tests.e2e.conftest import create_meeting, new_page, screenshot, start_collecting
from tests.support.servers import ServerProcess, scaled

HOST = {"width": 1280, "height": 800}
SEEDS = [f"第 {i} 則起始意見，說明夜市的一件事。" for i in range(12)]


class Socket:
    """One real WebSocket client (a phone or a host), synchronous."""

    def __init__(self, base: str, code: str, hello: dict[str, Any]) -> None:
        from websockets.sync.client import connect

        self.stack = ExitStack()
        self.ws = self.stack.enter_context(
            connect(base.replace("http://", "ws://") + f"/ws/{code}", open_timeout=scaled(10))
        )
        self.ws.send(json.dumps({"v": 1, "type": "hello", **hello}))
        self.snapshot = self.wait(lambda m: m.get("type") == "snapshot")
        self.ops = 0

    def wait(self, where: Callable[[dict[str, Any]], bool], timeout: float = 30.0) -> dict[str, Any]:
        deadline = time.monotonic() + scaled(timeout)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no such message")
            try:
                message: dict[str, Any] = json.loads(self.ws.recv(timeout=left))
            except TimeoutError:
                continue
            if where(message):
                return message

    def send(self, type_: str, **fields: Any) -> str:
        self.ops += 1
        op = f"{type_}-{self.ops}-{id(self)}"
        self.ws.send(json.dumps({"v": 1, "op": op, "type": type_, **fields}))
        return op

    def reply(self, op: str) -> dict[str, Any]:
        """The server's answer to the command sent as ``op``."""
        return self.wait(lambda m: m.get("op") == op)

    def close(self) -> None:
        self.stack.close()


def on_map(message: dict[str, Any]) -> set[int]:
    """Who an analysis message places on the map."""
    return {int(p) for p in (message.get("points") or {}).get("participants") or []}


def test_the_host_excludes_a_flagged_voter_and_brings_them_back(browser: Any, server: ServerProcess) -> None:
    base = server.url
    created = create_meeting(base, title="夜市", seeds=SEEDS)
    code, key = created["code"], created["host_key"]
    start_collecting(base, created)
    sockets: list[Socket] = []
    try:
        fast = Socket(base, code, {"role": "participant", "nickname": "快手"})
        sockets.append(fast)
        statements = [s["id"] for s in fast.snapshot["meeting"]["statements"]]
        assert len(statements) == 12
        me = int(fast.snapshot["you"]["participant"])
        ops = {fast.send("vote", statement=s, value="agree") for s in statements}  # twelve cards at once
        while ops:
            reply = fast.wait(lambda m: m.get("op") in ops)
            assert reply["type"] == "ack", reply
            ops.discard(reply["op"])
        for i in range(4):  # others at a person's pace, on a few cards: too few to be timed
            phone = Socket(base, code, {"role": "participant", "nickname": f"p{i}"})
            sockets.append(phone)
            for s in statements[:4]:
                op = phone.send("vote", statement=s, value="agree" if (s + i) % 2 else "disagree")
                assert phone.reply(op)["type"] == "ack"

        watcher = Socket(base, code, {"role": "host", "host_key": key})
        sockets.append(watcher)
        flagged = watcher.wait(
            lambda m: m.get("type") == "quality_flags" and str(me) in {f["participant"] for f in m["flags"]}
        )
        flag = next(f for f in flagged["flags"] if f["participant"] == str(me))
        if me not in on_map(watcher.snapshot.get("analysis") or {}):  # on the map before the host acts
            watcher.wait(lambda m: m.get("type") == "analysis" and me in on_map(m))

        host = new_page(browser, HOST)
        host.goto(f"{base}/host/{code}#key={key}")
        panel = host.locator("#flags-panel")
        expect(panel).to_be_visible()
        expect(host.locator("#flags-heading")).to_have_text("表態品質提醒")
        row = panel.locator(f"li.flag[data-participant='{me}']")
        expect(row).to_contain_text("快手")
        expect(row.locator(".flag-reasons")).to_contain_text(f"比讀完意見還快（{flag['fast']}／{flag['timed']} 票）")
        expect(panel.locator("li.flag")).to_have_count(len(flagged["flags"]))

        row.get_by_role("button", name="排除於分析外").click()
        expect(row.get_by_role("button", name="恢復納入分析")).to_be_visible()  # the analysis_excluded event came back
        left_out = watcher.wait(lambda m: m.get("type") == "analysis" and me not in on_map(m) and len(on_map(m)) >= 2)
        assert left_out["points"]["participants"], left_out
        check = Socket(base, code, {"role": "host", "host_key": key})  # a reconnecting console's snapshot
        sockets.append(check)
        assert me in [int(p) for p in check.snapshot["excluded"]]
        expect(row).to_be_visible()  # still flagged once excluded: the host sees why

        row.get_by_role("button", name="恢復納入分析").click()
        expect(row.get_by_role("button", name="排除於分析外")).to_be_visible()
        watcher.wait(lambda m: m.get("type") == "analysis" and me in on_map(m))
        again = Socket(base, code, {"role": "host", "host_key": key})
        sockets.append(again)
        assert me not in [int(p) for p in again.snapshot["excluded"]]
        assert host.errors == []
    finally:
        for socket in sockets:
            socket.close()


SHORT_SEEDS = [f"Idea {i}." for i in range(1, 22)]
"""Twenty-one cards (the same-answer rule looks from 20 votes on), each 2 words: 0.5 s to read, so a vote
is too fast under 0.17 s after the previous one (clustering/quality.py)."""
READING_MS = 400
"""How long the phone's person looks at a card before answering: a human pace, over the too-fast line."""
CONSOLE_PHONE = {"width": 360, "height": 640}
CONSOLE_DESKTOP = {"width": 1280, "height": 720}


def overflowing(page: Any, selector: str, width: int) -> list[str]:
    """Elements under ``selector`` that stick out of the viewport's width or clip their own text."""
    found: list[str] = page.locator(selector).evaluate_all(
        """(els, width) => els.flatMap((e) => {
            const r = e.getBoundingClientRect();
            const out = r.left < 0 || r.right > width + 0.5 || e.scrollWidth > e.clientWidth + 1;
            return out && r.width > 0 ? [`${e.tagName}.${e.className} ${r.left}-${r.right} (${e.scrollWidth})`] : [];
        })""",
        width,
    )
    return found


def test_same_answer_flag_in_english_on_a_phone_sized_console(browser: Any, server: ServerProcess) -> None:
    """A phone (Chromium, tapping) answers 贊成 to all 21 cards at a reading pace: the console, in English,
    flags it "same answer" with the counts (21 of 21), not "too fast"; at 360x640 (a co-host holding the
    console on a phone) the panel is legible and nothing sticks out; at 1280x720 too."""
    base = server.url
    created = create_meeting(base, title="Night market", seeds=SHORT_SEEDS, language="en", ask_nickname=True)
    code, key = created["code"], created["host_key"]
    start_collecting(base, created)
    sockets: list[Socket] = []
    try:
        phone = new_page(browser, {"width": 360, "height": 740})
        phone.goto(f"{base}/m/{code}")
        phone.fill("#nickname", "Steady")
        phone.click("#join-form button[type=submit]")
        expect(phone.locator("#conn")).to_have_attribute("data-state", "online")
        for n in range(len(SHORT_SEEDS)):
            card = phone.locator("#statement")
            expect(card).to_have_text(re.compile(r"^Idea \d+\.$"))
            shown = card.text_content()
            phone.wait_for_timeout(READING_MS)  # the person reads the card: the pace is the scenario, not a wait
            phone.click("#vote-buttons [data-value=agree]")
            expect(phone.locator("#voted li")).to_have_count(n + 1)
            if n + 1 < len(SHORT_SEEDS):
                expect(card).not_to_have_text(shown or "")
        for i in range(4):  # others at a person's pace, on a few cards, with mixed answers
            other = Socket(base, code, {"role": "participant", "nickname": f"p{i}"})
            sockets.append(other)
            for s in range(4):
                op = other.send("vote", statement=s, value="agree" if (s + i) % 2 else "disagree")
                assert other.reply(op)["type"] == "ack"

        watcher = Socket(base, code, {"role": "host", "host_key": key})
        sockets.append(watcher)
        named = {int(p["participant"]): p["nickname"] for p in watcher.snapshot["participants"]}
        steady = next(p for p, name in named.items() if name == "Steady")
        # the flags of a run that counted all 21 votes: a run begun before the last vote (slow under load)
        # may publish after this socket joins, with 20
        flagged = watcher.wait(lambda m: m.get("type") == "quality_flags" and any(
            f["participant"] == str(steady) and f["votes"] == len(SHORT_SEEDS) for f in m["flags"]))
        flag = next(f for f in flagged["flags"] if f["participant"] == str(steady))
        assert flag["reasons"] == ["same_answer"], flag  # at a reading pace: not too fast
        assert (flag["same_count"], flag["votes"]) == (21, 21), flag

        shots = {}
        for name, viewport in (("phone", CONSOLE_PHONE), ("desktop", CONSOLE_DESKTOP)):
            host = new_page(browser, viewport)
            host.goto(f"{base}/host/{code}#key={key}")
            panel = host.locator("#flags-panel")
            expect(panel).to_be_visible()
            expect(host.locator("#flags-heading")).to_have_text("Voting-quality flags")
            row = panel.locator(f"li.flag[data-participant='{steady}']")
            expect(row).to_contain_text("Steady")
            expect(row.locator(".flag-reasons")).to_have_text("Same answer to nearly everything (21 of 21 votes)")
            expect(row.get_by_role("button", name="Leave out of the analysis")).to_be_visible()
            panel.scroll_into_view_if_needed()
            width = viewport["width"]
            assert host.evaluate("document.documentElement.scrollWidth") <= width
            assert overflowing(host, "#flags-panel, #flags-panel *", width) == []
            sizes = panel.locator("h2, li, span, button").evaluate_all(
                "els => els.map((e) => parseFloat(getComputedStyle(e).fontSize))")
            assert min(sizes) >= 14, sizes  # legible on a phone held at arm's length
            button = row.get_by_role("button")
            button.scroll_into_view_if_needed()
            box = button.bounding_box()
            assert box is not None and box["height"] >= 44 and box["width"] >= 44, box
            # not under the phone-sized console's fixed jump bar: the button itself is what a tap reaches
            assert button.evaluate("""(b) => { const r = b.getBoundingClientRect();
                return document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2) === b; }""")
            shots[name] = screenshot(host, f"console-flags-{name}-en")
            assert host.errors == []
        # the phone-sized console works too: the exclusion and back
        row.get_by_role("button", name="Leave out of the analysis").click()
        expect(row.get_by_role("button", name="Bring back into the analysis")).to_be_visible()
        row.get_by_role("button", name="Bring back into the analysis").click()
        expect(row.get_by_role("button", name="Leave out of the analysis")).to_be_visible()
        assert all(path.exists() for path in shots.values())
    finally:
        for socket in sockets:
            socket.close()
