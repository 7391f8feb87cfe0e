"""The voting-quality flags and the reversible exclusion on the host console (issue 24), in Chromium.

A phone answers twelve cards in the same instant on a real server with live analysis; the console shows it
flagged as faster than reading allows, with the counts behind the flag. The host clicks 排除於分析外: the
next analysis leaves that participant off the map (seen by a host WebSocket, as any script following
docs/protocol.md would), and 恢復納入分析 brings them back."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from contextlib import ExitStack
from typing import Any

from playwright.sync_api import expect

from tests.e2e.conftest import create_meeting, new_page, start_collecting
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
