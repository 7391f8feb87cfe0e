"""What the issue-23 browser tests share (spotlight, rounds, floor, the whole agenda): a server without live
analysis, phones scripted over a plain WebSocket, the opinion groups given to the projector, the projector's
tally tables read back, the back-row check, the summary downloaded, and the shift a round should show,
counted from the votes a test cast.

The pages are driven in Chromium; the phones that only vote or ask for the floor are scripts following
docs/protocol.md, as any client would, so a test of forty votes does not drive forty browsers.
"""

from __future__ import annotations

import contextlib
import json
import re
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from tests.e2e.test_projector_legibility import CONTRAST, LABEL_PX, MEASURE, STATEMENT_PX, figures, record
from tests.support.servers import ServerProcess, scaled

__all__ = ["SEEDS", "VOTE_WORDS", "Phone", "clock_pattern", "expected_shift", "export", "host_participants", "legible",
           "serve_without_analysis", "shift_lines", "table", "two_groups"]

SEEDS = ["夜市周邊應該增設機車停車區。", "應該設置行人專用時相的紅綠燈。", "週末應該實施交通管制，平日維持現狀。",
         "攤商應該自行負責攤位前的人行空間淨空。"]

VOTE_WORDS = {"agree": "贊成", "acceptable": "可接受", "pass": "略過", "disagree": "反對"}
"""The pages' zh-TW words for the votes (static/i18n/zh-TW.json), to write the lines a test expects."""


SETTLED = """() => Promise.all(document.getAnimations()
  .filter((a) => a.effect && a.effect.getComputedTiming().iterations !== Infinity)
  .map((a) => a.finished.catch(() => null)))"""
"""Resolves when every running animation or transition that ends has ended (a pulsing clock never does)."""


def serve_without_analysis(tmp: Path, name: str) -> Iterator[ServerProcess]:
    """A server on a fresh SQLite file with live analysis off, for a module fixture to yield from: the tests
    give the projector its opinion groups themselves (:func:`two_groups`), so the groups are known."""
    process = ServerProcess(f"sqlite:///{tmp / f'{name}.db'}", env={"FACILITATION_ANALYSIS": "0"}).start()
    try:
        yield process
    finally:
        process.stop()


class Phone:
    """A phone over a plain WebSocket (as any script following docs/protocol.md): joins with a role, votes,
    asks for the floor."""

    def __init__(self, base: str, code: str, role: str) -> None:
        from websockets.sync.client import connect

        self.role = role
        self._stack = contextlib.ExitStack()  # websockets 17 wants its connection entered as a context
        self.ws = self._stack.enter_context(
            connect(base.replace("http://", "ws://") + f"/ws/{code}", open_timeout=scaled(10)))
        self.ws.send(json.dumps({"v": 1, "type": "hello", "role": "participant", "stakeholder": role}))
        self.participant = -1
        while True:
            message = json.loads(self.ws.recv(timeout=scaled(10)))
            if message["type"] == "welcome":
                self.participant = int(message["participant"])
            if message["type"] == "snapshot":
                break

    def send(self, message: dict[str, Any]) -> dict[str, Any]:
        """Send one command and return its reply (ack or error), skipping the broadcasts in between."""
        op = f"{message['type']}-{uuid.uuid4().hex[:12]}"
        self.ws.send(json.dumps({"v": 1, "op": op, **message}))
        while (reply := json.loads(self.ws.recv(timeout=scaled(10)))).get("op") != op:
            pass
        result: dict[str, Any] = reply
        return result

    def vote(self, statement: int, value: str) -> None:
        reply = self.send({"type": "vote", "statement": statement, "value": value})
        assert reply["type"] == "ack", reply

    def ask_floor(self) -> None:
        reply = self.send({"type": "floor_ask"})
        assert reply["type"] == "ack", reply

    def close(self) -> None:
        self._stack.close()


def host_participants(base: str, code: str, key: str) -> dict[str, int]:
    """Nickname -> participant id, from a host snapshot."""
    from websockets.sync.client import connect

    with connect(base.replace("http://", "ws://") + f"/ws/{code}", open_timeout=scaled(10)) as ws:
        ws.send(json.dumps({"v": 1, "type": "hello", "role": "host", "host_key": key}))
        while (message := json.loads(ws.recv(timeout=scaled(10))))["type"] != "snapshot":
            pass
    return {p["nickname"]: int(p["participant"]) for p in message["participants"]}


def two_groups(a: list[int], b: list[int]) -> dict[str, Any]:
    """A map message with opinion groups A and B (live analysis is off in these tests: the projector is
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
    as statements (36 px), once the screen's finite animations and transitions (a screen fading in) are over."""
    page.evaluate(SETTLED)
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
    record(where, figures(texts))


def export(base: str, code: str, key: str, fmt: str) -> str:
    """A summary download, as the console's export buttons fetch it."""
    url = f"{base}/api/meetings/{code}/export?format={fmt}&key={key}"
    with urllib.request.urlopen(url, timeout=scaled(30)) as response:
        return str(response.read().decode("utf-8"))


def clock_pattern(seconds: int = 30) -> re.Pattern[str]:
    """A countdown of ``seconds`` (under a minute) seen within them: 剩 0:30, 剩 0:29, ..."""
    tens = seconds // 10
    return re.compile(rf"^剩 0:({seconds:02d}|[0-{tens - 1}]\d)$" if tens else rf"^剩 0:0[0-{seconds}]$")


def expected_shift(before: Mapping[int, str], after: Mapping[int, str],
                   key: Callable[[int], str]) -> dict[str, dict[str, Any]]:
    """What a round changed on one statement, counted here from the votes a test cast, in the export's shape:
    key -> ``{voted, kept, new, moved: {"from->to": n}}`` over the round's voters only."""
    out: dict[str, dict[str, Any]] = {}
    for participant, value in after.items():
        row = out.setdefault(key(participant), {"voted": 0, "kept": 0, "new": 0, "moved": {}})
        row["voted"] += 1
        earlier = before.get(participant)
        if earlier is None:
            row["new"] += 1
        elif earlier == value:
            row["kept"] += 1
        else:
            move = f"{earlier}->{value}"
            row["moved"][move] = row["moved"].get(move, 0) + 1
    return out


def shift_lines(shift: Mapping[str, Mapping[str, Any]], label: Callable[[str], str]) -> list[str]:
    """The projector's lines for a shift ("住戶：反對 → 可接受 2 人 · 維持 1 人"), sorted (the screen lists
    rows in the order their first vote arrived)."""
    lines = []
    for name, row in shift.items():
        moves = sorted(row["moved"].items(), key=lambda item: -item[1])
        parts = [f"{VOTE_WORDS[m.split('->')[0]]} → {VOTE_WORDS[m.split('->')[1]]} {n} 人" for m, n in moves]
        if row["kept"]:
            parts.append(f"維持 {row['kept']} 人")
        if row["new"]:
            parts.append(f"新表態 {row['new']} 人")
        lines.append(f"{label(name)}：{' · '.join(parts)}")
    return sorted(lines)
