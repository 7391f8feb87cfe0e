"""From the map to a checked conclusion, in Chromium (issue 24): the host builds a draft from the acceptable
lane of a real live analysis, phones answer (one objects, with a reason), the reason becomes a statement the
host accepts, the host revises the draft and checks again, the projector shows the check legibly, and the
exported summary gives both checks with the right counts by opinion group and by stakeholder role."""

from __future__ import annotations

import json
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import create_meeting, host_command, new_page, screenshot
from tests.e2e.test_projector_legibility import THEMES, check
from tests.support.servers import ServerProcess, scaled

pytestmark = pytest.mark.browser

PHONE = {"width": 360, "height": 640}
HOST = {"width": 1280, "height": 900}
PROJECTOR = {"width": 1280, "height": 720}
BIG = {"width": 1920, "height": 1080}
ROLES = ["攤商", "住戶"]
SHARED = ["夜市周邊應該增設有人管理的機車停車區。", "救護車與消防車的通道必須隨時保持暢通。",
          "應該在夜市周邊設置清楚的指標。"]
SPLIT = ["夜市營業時段應該延長到凌晨一點。", "週末應該開放攤位擺到騎樓。", "住戶的停車位可以借給攤商使用。"]
REASON = "凌晨營業太晚，住戶需要安靜的夜晚。"
SCRIPTED = 12
"""Participants who vote and answer by script (six of each role, in two camps); two more are Chromium phones."""


def ws_url(base: str, code: str) -> str:
    return base.replace("http://", "ws://") + f"/ws/{code}"


def as_participant(base: str, code: str, hello: dict[str, Any], commands: list[dict[str, Any]]) -> dict[str, Any]:
    """Say hello as a participant and send ``commands`` one at a time, each acked; the welcome."""
    from websockets.sync.client import connect

    with connect(ws_url(base, code), open_timeout=scaled(10)) as ws:
        ws.send(json.dumps({"v": 1, "type": "hello", "role": "participant", **hello}))
        welcome: dict[str, Any] = {}
        while True:
            message = json.loads(ws.recv(timeout=scaled(10)))
            if message["type"] == "welcome":
                welcome = message
            if message["type"] == "snapshot":
                break
        for command in commands:
            op = f"t-{uuid.uuid4().hex[:12]}"
            ws.send(json.dumps({"v": 1, "op": op, **command}))
            while (reply := json.loads(ws.recv(timeout=scaled(10)))).get("op") != op:
                pass
            assert reply["type"] == "ack", reply
        return welcome


def export(base: str, created: dict[str, Any], fmt: str) -> bytes:
    url = f"{base}/api/meetings/{created['code']}/export?format={fmt}"
    request = urllib.request.Request(url, headers={"X-Host-Key": created["host_key"]})
    with urllib.request.urlopen(request, timeout=scaled(60)) as response:
        body: bytes = response.read()
        return body


def phone_join(browser: Any, base: str, code: str, nickname: str, role_index: int) -> Any:
    phone = new_page(browser, PHONE)
    phone.goto(f"{base}/m/{code}")
    expect(phone.locator("#join")).to_be_visible()
    phone.fill("#nickname", nickname)
    phone.locator("#roles label").nth(role_index).click()
    phone.click("#join-form button[type=submit]")
    expect(phone.locator("#conn")).to_have_attribute("data-state", "online")
    return phone


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server with live analysis on: the acceptable lane the host drafts from is the room's real map."""
    tmp = tmp_path_factory.mktemp("consent")
    process = ServerProcess(f"sqlite:///{tmp / 'consent.db'}", env={"FACILITATION_ANALYSIS": "1"}).start()
    try:
        yield process
    finally:
        process.stop()


def test_from_the_acceptable_lane_to_a_checked_conclusion(browser: Any, server: ServerProcess) -> None:
    """Draft from the lane, one objection with a reason, the reason accepted, a revised draft checked again;
    the projector and the exports show both checks with counts by group and role that match the answers."""
    base = server.url
    created = create_meeting(base, title="夜市的結論", roles=ROLES, ask_nickname=True, seeds=[*SHARED, *SPLIT])
    code, key = created["code"], created["host_key"]
    assert host_command(base, code, key, {"type": "phase", "phase": "collecting"})["type"] == "ack"

    host = new_page(browser, HOST)
    host.goto(f"{base}/host/{code}#key={key}")
    expect(host.locator("#console")).to_be_visible()
    projectors = {"1280x720": new_page(browser, PROJECTOR), "1920x1080": new_page(browser, BIG)}
    for page in projectors.values():
        page.goto(f"{base}/projector/{code}")
        expect(page.locator("#conn")).to_have_attribute("data-state", "online")
    projector = projectors["1280x720"]
    vendor_phone = phone_join(browser, base, code, "阿明", 0)
    resident_phone = phone_join(browser, base, code, "小華", 1)

    ids = {text: i for i, text in enumerate([*SHARED, *SPLIT])}
    tokens: dict[str, str] = {}
    role_of: dict[int, str] = {}
    for n in range(SCRIPTED):
        role = ROLES[n % 2]
        token = f"consent-token-{n:02d}-{uuid.uuid4().hex[:8]}"
        votes = [{"type": "vote", "statement": ids[s], "value": "agree"} for s in SHARED]
        votes += [{"type": "vote", "statement": ids[s], "value": "agree" if role == "攤商" else "disagree"}
                  for s in SPLIT]
        welcome = as_participant(base, code, {"token": token, "stakeholder": role}, votes)
        tokens[token] = role
        role_of[int(welcome["participant"])] = role

    # the live map finds the two camps, and all three shared statements are acceptable to every group
    host.wait_for_function("() => document.querySelectorAll('#lane-acceptable li').length === 3",
                           timeout=scaled(60) * 1000)
    assert host_command(base, code, key, {"type": "phase", "phase": "voting"})["type"] == "ack"
    assert host_command(base, code, key, {"type": "phase", "phase": "reviewing"})["type"] == "ack"

    # 1. the host builds the draft from the acceptable lane, edits its wording, and opens the check
    host.click("#check-fill")
    numbers = host.input_value("#check-statements")
    assert sorted(int(n) for n in numbers.split(", ")) == sorted(ids[s] + 1 for s in SHARED)
    draft = host.input_value("#check-text")
    assert all(s in draft for s in SHARED)
    host.fill("#check-text", draft + "\n夜市營業時間不變。")
    host.click("#check-open")
    expect(host.locator("#check-heading")).to_contain_text("第 1 次確認")

    # 2. phones answer: the vendor consents, the resident objects with a reason (a reason is required)
    expect(vendor_phone.locator("#check-card")).to_be_visible()
    expect(vendor_phone.locator("#check-card-draft")).to_contain_text("夜市營業時間不變。")
    vendor_phone.click("#check-card .check-answer[data-answer=consent]")
    expect(vendor_phone.locator("#check-card-answered")).to_contain_text("同意")
    resident_phone.click("#check-card .check-answer[data-answer=object]")
    resident_phone.click("#check-send")
    expect(resident_phone.locator("#check-card-error")).to_have_text("提出異議需要寫理由。")
    resident_phone.fill("#check-reason", REASON)
    resident_phone.click("#check-send")
    expect(resident_phone.locator("#check-card-answered")).to_contain_text("提出異議")
    screenshot(resident_phone, "consent-phone-objected")
    for token, role in tokens.items():
        answer = "consent" if role == "攤商" else "live_with"
        as_participant(base, code, {"token": token}, [{"type": "check_answer", "check": 1, "answer": answer}])

    expect(host.locator("#check-outcome")).to_have_text("作答的 14 人中有 1 人提出異議")
    expect(host.locator("#check-reasons")).to_contain_text(REASON)
    expect(projector.locator("body")).to_have_attribute("data-screen", "check")
    expect(projector.locator(".check-outcome")).to_contain_text("作答的 14 人中有 1 人提出異議")
    expect(projector.locator(".check-reasons")).to_contain_text(REASON)
    expect(projector.locator(".check-table tr[data-row='role-住戶'] td[data-answer=object]")).to_have_text("1")
    for theme in THEMES:  # the back-row rules of tests/e2e/test_projector_legibility.py, on the check screen
        reply = host_command(base, code, key, {"type": "settings", "changes": {"projector_theme": theme}})
        assert reply["type"] == "ack", reply
        for size, page in projectors.items():
            expect(page.locator("body")).to_have_attribute("data-theme", theme)
            expect(page.locator(".check-reasons")).to_contain_text(REASON)
            check(page, f"consent check {theme} {size}", {})
            screenshot(page, f"consent-projector-{theme}-{size}")

    # 3. the reason is the resident's pending statement: the host accepts it into the meeting
    pending = host.locator("#queue li", has_text=REASON)
    expect(pending).to_be_visible()
    reason_number = int(pending.locator(".stmt-id").inner_text().lstrip("#").strip())
    pending.locator("button.accept").click()
    expect(host.locator("#queue li", has_text=REASON)).to_have_count(0)

    # 4. the host revises the draft (bundling the reason's statement) and checks again
    host.fill("#check-text", draft + "\n夜市營業到十一點，十一點後降低音量。")
    host.fill("#check-statements", f"{numbers}, {reason_number}")
    host.click("#check-open")
    expect(host.locator("#check-heading")).to_contain_text("第 2 次確認")
    expect(resident_phone.locator("#check-card-heading")).to_contain_text("第 2 次確認")
    resident_phone.click("#check-card .check-answer[data-answer=live_with]")
    expect(resident_phone.locator("#check-card-answered")).to_contain_text("可以接受")
    vendor_phone.click("#check-card .check-answer[data-answer=consent]")
    expect(vendor_phone.locator("#check-card-answered")).to_contain_text("同意")
    for token in tokens:
        as_participant(base, code, {"token": token}, [{"type": "check_answer", "check": 2, "answer": "consent"}])
    expect(host.locator("#check-outcome")).to_have_text("作答的 14 人中無人提出異議")
    expect(host.locator("#check-current")).not_to_contain_text("null")
    expect(projector.locator(".check-outcome")).to_contain_text("作答的 14 人中無人提出異議")
    screenshot(host, "consent-host-second-check")

    # 5. the exported summary gives both checks, with counts by role and by the map's groups
    summary = json.loads(export(base, created, "json"))
    first, second = summary["checks"]
    assert first["counts"] == {"name": "", "consent": 7, "live_with": 6, "object": 1}
    assert second["counts"] == {"name": "", "consent": 13, "live_with": 1, "object": 0}
    roles1 = {r["name"]: (r["consent"], r["live_with"], r["object"]) for r in first["by_role"]}
    roles2 = {r["name"]: (r["consent"], r["live_with"], r["object"]) for r in second["by_role"]}
    assert roles1 == {"攤商": (7, 0, 0), "住戶": (0, 6, 1)}
    assert roles2 == {"攤商": (7, 0, 0), "住戶": (6, 1, 0)}
    group_of = {p["participant"]: p["group"] for p in summary["map"] if p["group"]}
    assert len(set(group_of.values())) >= 2, summary["map"]
    # the Chromium phones joined first (ids 0 and 1); the resident's accepted reason carries their implicit
    # agree, so the map may place them in a group too
    assert {p["id"]: p["role"] for p in summary["participants"]}.items() >= {0: "攤商", 1: "住戶"}.items()
    answers1 = {0: "consent", 1: "object",
                **{pid: "consent" if r == "攤商" else "live_with" for pid, r in role_of.items()}}
    answers2 = {0: "consent", 1: "live_with", **dict.fromkeys(role_of, "consent")}
    for result, answers in ((first, answers1), (second, answers2)):
        expected: dict[str, dict[str, int]] = {}
        for pid, group in group_of.items():
            counts = expected.setdefault(group, {"consent": 0, "live_with": 0, "object": 0})
            counts[answers[pid]] += 1
        got = {g["name"]: {a: g[a] for a in ("consent", "live_with", "object")} for g in result["by_group"]}
        assert got == expected
    (objection,) = first["objections"]
    assert objection["reason"] == REASON and objection["role"] == "住戶"
    assert objection["state"] == "accepted" and objection["taken_into"] == 2 and objection["next_answer"] == "live_with"
    md = export(base, created, "md").decode()
    assert "第 1 次確認：作答的 14 人中有 1 人提出異議" in md and "第 2 次確認：作答的 14 人中無人提出異議" in md
    assert "| 攤商 | 7 | 0 | 0 | 7 |" in md and "| 住戶 | 0 | 6 | 1 | 7 |" in md and "| 住戶 | 6 | 1 | 0 | 7 |" in md
    for page in (host, *projectors.values(), vendor_phone, resident_phone):
        assert page.errors == []
