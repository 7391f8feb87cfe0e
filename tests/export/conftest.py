"""Fixtures for the export tests: the shared Pol.is conversations imported into a real SQLite store once
per module, and a small meeting with roles, moderation, follow-ups and Chinese text built through the core."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from facilitation.core.events import Event
from facilitation.core.meeting import (
    Join,
    Meeting,
    MeetingSettings,
    Moderate,
    PostStatement,
    SetFollowUp,
    SetPhase,
    Vote,
    hash_secret,
)
from facilitation.storage import open_store
from facilitation.tools import analyze as analyze_command
from facilitation.tools import export as export_command
from facilitation.tools import import_polis
from tests.support.data import polis_data_dir

CONVERSATIONS = ("15-per-hour-seattle", "brexit-consensus", "canadian-electoral-reform",
                 "london.youth.policing", "scoop-hivemind.biodiversity", "vtaiwan.uberx")
MALICIOUS = "<script>alert(1)</script> [x](javascript:alert(1)) **bold**"
FORMULA = '=HYPERLINK("http://evil","x")'


def data_dir() -> Path:
    """The Pol.is data; missing data fails under CI=true and skips locally."""
    return polis_data_dir()


def analyze_json(folder: Path) -> dict[str, Any]:
    """`facilitation analyze FOLDER --json`, run in-process (same code path, no interpreter start-up)."""
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        assert analyze_command.run(str(folder), True) == 0
    return dict(json.loads(buffer.getvalue()))


def import_folder(folder: Path, store_url: str) -> str:
    """`facilitation import-polis` in-process; returns the new meeting's code from its `code:` line."""
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        assert import_polis.run(str(folder), store_url) == 0
    lines = dict(line.split(": ", 1) for line in buffer.getvalue().splitlines() if ": " in line)
    return lines["code"]


def export_to(code: str, fmt: str, out: Path, store_url: str) -> Path:
    assert export_command.run(code, fmt, str(out), store_url) == 0
    return out


@dataclass
class RoundTrip:
    name: str
    code: str
    exported: Path
    original: dict[str, Any]
    again: dict[str, Any]


@pytest.fixture(scope="module")
def round_trips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, RoundTrip]:
    """Every conversation: import-polis -> export polis -> analyze both folders (once per module)."""
    base = data_dir()
    tmp = tmp_path_factory.mktemp("polis")
    store_url = f"sqlite:///{tmp / 'meetings.db'}"
    out: dict[str, RoundTrip] = {}
    for name in CONVERSATIONS:
        code = import_folder(base / name, store_url)
        exported = export_to(code, "polis", tmp / f"{name}-export", store_url)
        out[name] = RoundTrip(name, code, exported, analyze_json(base / name), analyze_json(exported))
    return out


def store_events(store_url: str, events: list[Event]) -> None:
    async def save() -> None:
        store = open_store(store_url)
        await store.start()
        try:
            await store.create_meeting(events[0].code, events)  # type: ignore[attr-defined]
        finally:
            await store.close()

    asyncio.run(save())


T0 = 1_700_000_000.0
STATEMENTS_ZH = ["公車應該延長營運到午夜", "捷運站需要更多無障礙電梯", "停車費應該調漲", "自行車道要加寬",
                 "夜間公車班次太少", "計程車應納入大眾運輸補貼"]


def small_meeting(language: str = "zh-TW", *, malicious: bool = False) -> tuple[Meeting, list[Event]]:
    """Two camps of six voters on six statements, two roles, one rejected and one follow-up."""
    settings = MeetingSettings(title="交通會議 <b>" if language == "zh-TW" else "Transport meeting",
                               topic="大眾運輸", language=language, scale="consent", roles=("居民", "業者"))
    seeds = list(STATEMENTS_ZH)
    if malicious:
        seeds += [MALICIOUS, FORMULA]
    meeting, events = Meeting.create("ABCDEF", settings, hash_secret("host-key"), T0, seeds)

    def apply(command: Any, at: float) -> Any:
        applied = meeting.apply(command, at)
        events.extend(applied.events)
        return applied.result

    apply(SetPhase("collecting"), T0 + 1)
    people = [apply(Join(hash_secret(f"p{i}"), "", "居民" if i % 2 else "業者"), T0 + 2 + i)["participant"]
              for i in range(12)]
    written = apply(PostStatement(people[0], "白天公車太擠", "w1"), T0 + 20)["statement"]
    apply(SetPhase("voting"), T0 + 30)
    at = T0 + 40
    for i, p in enumerate(people):
        camp = i < 6
        for s in range(len(seeds)):
            if s in (0, 1):
                value = "agree" if camp or s == 0 else "acceptable"   # 0 and 1: everyone can accept
            elif s == 2:
                value = "disagree"                                    # 2: everyone rejects
            elif malicious and s == len(seeds) - 1:
                value = "agree"
            else:
                value = "agree" if camp else "disagree"               # 3, 4, 5: disputed
            at += 1
            apply(Vote(p, s, value, f"v{i}-{s}"), at)
        apply(Vote(p, written, "pass", f"w{i}"), at)
    apply(Moderate(written, "reject", "離題"), at + 10)
    apply(SetPhase("reviewing"), at + 20)
    apply(SetPhase("closed"), at + 30)
    apply(SetFollowUp(0, "adopted", "交通局：明年起試辦"), at + 86_400)
    return meeting, events
