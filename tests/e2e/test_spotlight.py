"""The spotlight in Chromium (issue 23): the host picks a statement and a 30 s countdown in the console, the
projector turns to it with the countdown, a phone that had another card gets the spotlighted one and votes on
it, and the projector counts its votes by opinion group and by stakeholder role, figures a reader can check
against the votes cast here; the spotlight screen meets the back-row rules (36/28 px, 7:1) in both themes at
1920x1080 and 1280x720; ending it brings the live screen back."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import PHONE, PROJECTOR, create_meeting, host_command, new_page, screenshot
from tests.e2e.test_lanes_and_hints import SHOW_ANALYSIS
from tests.e2e.test_projector_legibility import CONTRAST, LABEL_PX, MEASURE, STATEMENT_PX
from tests.support.servers import ServerProcess, scaled

pytestmark = pytest.mark.browser

SEEDS = ["夜市周邊應該增設機車停車區。", "應該設置行人專用時相的紅綠燈。", "週末應該實施交通管制，平日維持現狀。",
         "攤商應該自行負責攤位前的人行空間淨空。"]
SPOT = 2
"""The statement the host spotlights: #3."""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    tmp = tmp_path_factory.mktemp("spotlight")
    process = ServerProcess(f"sqlite:///{tmp / 'spotlight.db'}", env={"FACILITATION_ANALYSIS": "0"}).start()
    try:
        yield process
    finally:
        process.stop()


class Phone:
    """A phone over a plain WebSocket (as any script following docs/protocol.md): joins with a role, votes."""

    def __init__(self, base: str, code: str, role: str) -> None:
        from websockets.sync.client import connect

        self.ws = connect(base.replace("http://", "ws://") + f"/ws/{code}", open_timeout=scaled(10))
        self.ws.send(json.dumps({"v": 1, "type": "hello", "role": "participant", "stakeholder": role}))
        self.participant = -1
        while True:
            message = json.loads(self.ws.recv(timeout=scaled(10)))
            if message["type"] == "welcome":
                self.participant = int(message["participant"])
            if message["type"] == "snapshot":
                break

    def vote(self, statement: int, value: str) -> None:
        op = f"v-{uuid.uuid4().hex[:12]}"
        self.ws.send(json.dumps({"v": 1, "type": "vote", "op": op, "statement": statement, "value": value}))
        while (reply := json.loads(self.ws.recv(timeout=scaled(10)))).get("op") != op:
            pass
        assert reply["type"] == "ack", reply

    def close(self) -> None:
        self.ws.close()


def host_participants(base: str, code: str, key: str) -> dict[str, int]:
    """Nickname -> participant id, from a host snapshot."""
    from websockets.sync.client import connect

    with connect(base.replace("http://", "ws://") + f"/ws/{code}", open_timeout=scaled(10)) as ws:
        ws.send(json.dumps({"v": 1, "type": "hello", "role": "host", "host_key": key}))
        while (message := json.loads(ws.recv(timeout=scaled(10))))["type"] != "snapshot":
            pass
    return {p["nickname"]: int(p["participant"]) for p in message["participants"]}


def two_groups(a: list[int], b: list[int]) -> dict[str, Any]:
    """A map message with opinion groups A and B (the live analysis is off in this test: the projector is
    given the groups as the server would send them)."""
    members = a + b
    return {"type": "analysis", "run": 1,
            "groups": [{"id": "A", "size": len(a), "representative": []},
                       {"id": "B", "size": len(b), "representative": []}],
            "points": {"participants": members, "x": [-1.0 + 0.1 * i for i in range(len(a))]
                       + [1.0 + 0.1 * i for i in range(len(b))],
                       "y": [0.0] * len(members), "group": [0] * len(a) + [1] * len(b)},
            "lanes": {}, "acceptable_to_all": [], "counts": {"participants": len(members), "clustered": len(members)}}


def table(page: Any, selector: str) -> dict[str, list[str]]:
    """A tally table as row label -> its cells."""
    rows: dict[str, list[str]] = page.evaluate(
        """(sel) => Object.fromEntries(Array.from(document.querySelectorAll(sel + ' tbody tr')).map((tr) =>
             [tr.cells[0].textContent, Array.from(tr.cells).slice(1).map((c) => c.textContent)]))""", selector)
    return rows


def legible(page: Any, where: str, statements: str = ".spot-text") -> None:
    """The back-row rules on what the projector shows now (tests/e2e/legibility.js), ``statements`` measured
    as statements (36 px)."""
    found = page.evaluate(MEASURE, f".lane-text, .deck-text, {statements}")
    texts = [t for t in found["texts"] if t["where"]]
    spot = [t for t in texts if t["statement"]]
    assert spot, f"{where}: the spotlighted statement was not measured as a statement"
    small = [t for t in texts if t["size"] < (STATEMENT_PX if t["statement"] else LABEL_PX) - 0.01]
    faint = [t for t in texts if t["contrast"] < CONTRAST]
    cut = [t for t in texts if t["cut"]]
    assert not small, f"{where}: too small: {[(t['where'], t['text'], t['size']) for t in small[:6]]}"
    assert not faint, f"{where}: low contrast: {[(t['where'], t['text'], t['contrast']) for t in faint[:6]]}"
    assert not cut, f"{where}: cut off: {[(t['where'], t['text']) for t in cut[:6]]}"
    assert found["overlaps"] == [], f"{where}: overlapping: {found['overlaps'][:6]}"


def test_a_spotlight_with_a_countdown_reaches_phones_and_the_projector_counts_it(
        browser: Any, server: ServerProcess) -> None:
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

    others = [Phone(base, code, "住戶"), Phone(base, code, "攤商"), Phone(base, code, "攤商")]
    projector = new_page(browser, PROJECTOR)
    projector.goto(f"{base}/projector/{code}")
    expect(projector.locator("body")).to_have_attribute("data-screen", "live")

    host = new_page(browser, {"width": 1280, "height": 900})
    host.goto(f"{base}/host/{code}#key={key}")
    expect(host.locator("#spot-statement option")).to_have_count(len(SEEDS))
    host.select_option("#spot-statement", str(SPOT))
    host.select_option("#spot-seconds", "30")
    host.click("#spot-start")

    expect(projector.locator("body")).to_have_attribute("data-screen", "spotlight")
    expect(projector.locator("#spot-text")).to_have_text(SEEDS[SPOT])
    expect(projector.locator("#spot-no")).to_have_text(f"#{SPOT + 1}")
    expect(projector.locator("#spot-clock")).to_have_text(_clock_pattern())
    expect(host.locator("#spot-now-text")).to_contain_text(SEEDS[SPOT])
    expect(host.locator("#spot-host-clock")).to_have_text(_clock_pattern())

    # The phone had #1 on screen and had not voted on #3: #3 is its card now, under the banner and its clock.
    expect(phone.locator("#statement-number")).to_have_text(f"#{SPOT + 1}")
    expect(phone.locator("#statement")).to_have_text(SEEDS[SPOT])
    expect(phone.locator("#spot-banner")).to_be_visible()
    expect(phone.locator("#spot-banner-clock")).to_have_text(_clock_pattern())
    expect(phone.locator("#card")).not_to_have_class(_re("spot-new"))  # the moment's guard is over
    phone.click("#vote-buttons button[data-value=disagree]")
    expect(phone.locator("#spot-banner-voted")).to_have_text("你的表態：反對")

    votes = {others[0]: "agree", others[1]: "agree", others[2]: "disagree"}
    for other, value in votes.items():
        other.vote(SPOT, value)
    ids = host_participants(base, code, key)
    me = ids["小明"]
    projector.evaluate(SHOW_ANALYSIS, two_groups([me, others[0].participant], [others[1].participant,
                                                                               others[2].participant]))
    # 小明 (住戶, A) disagree; 住戶 (A) agree; 攤商 (B) agree; 攤商 (B) disagree: 4 votes, 2 agree, 2 disagree.
    expect(projector.locator("#spot-total")).to_have_text("已表態 4 人：贊成 2 · 可接受 0 · 略過 0 · 反對 2")
    columns = ["贊成", "可接受", "略過", "反對", "合計"]
    assert projector.eval_on_selector_all("#spot-roles thead th", "ths => ths.map((th) => th.textContent)") == [
        "身分", *columns]
    assert table(projector, "#spot-roles") == {"住戶": ["1", "0", "0", "1", "2"], "攤商": ["1", "0", "0", "1", "2"]}
    assert table(projector, "#spot-groups") == {"A 組": ["1", "0", "0", "1", "2"], "B 組": ["1", "0", "0", "1", "2"]}
    expect(host.locator("#spot-host-total")).to_have_text("已表態 4 人：贊成 2 · 可接受 0 · 略過 0 · 反對 2")

    # A changed vote moves between columns; it is never counted twice.
    others[2].vote(SPOT, "agree")
    expect(projector.locator("#spot-total")).to_have_text("已表態 4 人：贊成 3 · 可接受 0 · 略過 0 · 反對 1")
    assert table(projector, "#spot-groups")["B 組"] == ["2", "0", "0", "0", "2"]

    for size in ({"width": 1920, "height": 1080}, {"width": 1280, "height": 720}):
        projector.set_viewport_size(size)
        for theme in ("dark", "light"):
            host_command(base, code, key, {"type": "settings", "changes": {"projector_theme": theme}})
            expect(projector.locator("body")).to_have_attribute("data-theme", theme)
            projector.wait_for_timeout(300)
            legible(projector, f"spotlight-{theme}-{size['width']}x{size['height']}")
            screenshot(projector, f"projector-spotlight-{theme}-{size['width']}x{size['height']}")
    screenshot(phone, "phone-spotlight")

    host.click("#spot-end")
    expect(projector.locator("body")).to_have_attribute("data-screen", "live")
    expect(phone.locator("#spot-banner")).to_be_hidden()
    expect(host.locator("#spot-now")).to_be_hidden()
    for page in (phone, projector, host):
        assert page.errors == [], page.errors
    for other in others:
        other.close()


def _clock_pattern() -> re.Pattern[str]:
    """A 30 s countdown seen within its 30 seconds (the test takes a few)."""
    return _re(r"^剩 0:(30|[0-2]\d)$")


def _re(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)
