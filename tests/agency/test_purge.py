"""Retention for real: the installed ``facilitation purge`` command (as cron runs it) and a starting server
each delete the meetings past their period and nothing else, and leave the SQLite file compacted (no free
page, smaller than before) with no byte of the planted statement or nickname. Every scan first finds the
planted words, so it is shown to see what it looks for."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from facilitation.core.codes import normalize_code
from facilitation.core.commands.participants import Join
from facilitation.core.commands.phases import SetPhase
from facilitation.core.commands.statements import PostStatement, Vote
from facilitation.core.meeting import Meeting, MeetingSettings
from facilitation.storage import open_store
from tests.agency.test_erasure import NICKNAME, TEXT, planted_in_files
from tests.support.servers import ServerProcess, scaled

DAY = 86_400.0
CODES = {"expired": "XPRD22", "kept": "KEPT22", "forever": "FRVR22"}
"""Join codes of the alphabet (a code that cannot be one answers 404 without being looked up)."""
CLI = Path(sys.executable).with_name("facilitation")
"""The console script pyproject.toml installs: what an operator's cron line calls."""


async def _store_meetings(url: str, now: float) -> dict[str, str]:
    """Three closed meetings, each ended 40 days before ``now``: "expired" kept 30 days (it holds the
    planted words and a few hundred votes, so deleting it frees pages), "kept" 365 days, "forever" 0
    (until the host deletes it)."""
    store = open_store(url)
    await store.start()
    codes = {}
    try:
        ended = now - 40 * DAY
        for name, days in (("expired", 30), ("kept", 365), ("forever", 0)):
            code = CODES[name]
            planted = name == "expired"
            meeting, events = Meeting.create(code, MeetingSettings(title=name, retention_days=days), "h",
                                             ended - 3600, [f"{name} 意見 {i}" for i in range(3)])
            events += meeting.apply(SetPhase("collecting"), ended - 3000).events
            for p in range(60 if planted else 2):
                events += meeting.apply(Join(f"{name}-token-{p:04d}" * 2, NICKNAME if planted and p == 0
                                             else f"{name}{p}", ""), ended - 2900).events
            if planted:
                events += meeting.apply(PostStatement(0, TEXT, op="t"), ended - 2800).events
            events += meeting.apply(SetPhase("voting"), ended - 2000).events
            for p in range(60 if planted else 2):
                for s in range(4 if planted else 3):
                    events += meeting.apply(Vote(p, s, "agree", op=f"{p}-{s}"), ended - 1000).events
            for phase in ("reviewing", "closed"):
                events += meeting.apply(SetPhase(phase), ended).events
            await store.create_meeting(code, events)
            codes[name] = code
    finally:
        await store.close()
    return codes


def _pages(db: Path) -> tuple[int, int]:
    """(page_count, freelist_count) of the SQLite file."""
    with sqlite3.connect(db) as conn:
        return conn.execute("PRAGMA page_count").fetchone()[0], conn.execute("PRAGMA freelist_count").fetchone()[0]


def _purge(store: str, *extra: str) -> list[str]:
    done = subprocess.run([str(CLI), "purge", "--store", store, *extra], capture_output=True, text=True,
                          timeout=scaled(120), check=True)
    return done.stdout.splitlines()


async def _codes(url: str) -> list[str]:
    store = open_store(url)
    await store.start()
    try:
        return sorted(await store.meeting_codes())
    finally:
        await store.close()


def test_the_purge_command_deletes_only_what_is_past_retention_and_compacts(tmp_path: Path) -> None:
    """``facilitation purge --dry-run`` lists the expired meeting and deletes nothing; ``facilitation purge``
    deletes it alone, prints it, and leaves a compacted file (no free page, fewer pages) without its words."""
    assert CLI.exists(), f"the console script is not installed at {CLI}"
    folder = tmp_path / "db"
    folder.mkdir()
    db = folder / "m.db"
    url = f"sqlite:///{db}"
    codes = asyncio.run(_store_meetings(url, time.time()))
    assert planted_in_files(folder), "the scan must see the planted words before the purge"
    listed = _purge(url, "--dry-run")
    assert listed[0].startswith(f"would delete {codes['expired']}: ended ") and listed[0].endswith("kept 30 days")
    assert listed[1:] == ["1 meeting(s) past retention would delete"]
    assert asyncio.run(_codes(url)) == sorted(codes.values()) and planted_in_files(folder)
    pages_before, _ = _pages(db)
    done = _purge(url)
    assert [line.split(":")[0] for line in done] == [f"deleted {codes['expired']}",
                                                     "1 meeting(s) past retention deleted"]
    assert asyncio.run(_codes(url)) == sorted([codes["kept"], codes["forever"]])
    assert planted_in_files(folder) == []
    pages_after, free = _pages(db)
    assert free == 0 and pages_after < pages_before, (pages_before, pages_after, free)
    assert _purge(url)[-1] == "0 meeting(s) past retention deleted"


@pytest.mark.asyncio
async def test_a_starting_server_purges_what_is_past_retention(tmp_path: Path) -> None:
    """A server started on a store holding an expired meeting deletes it by itself (its hourly purge runs at
    start): the code answers 404, the other meetings stay, and the file holds none of its words."""
    folder = tmp_path / "db"
    folder.mkdir()
    url = f"sqlite:///{folder / 'm.db'}"
    codes = await _store_meetings(url, time.time())
    assert planted_in_files(folder), "the scan must see the planted words before the purge"
    assert all(normalize_code(code) == code for code in codes.values())
    server = ServerProcess(url, env={"FACILITATION_ANALYSIS": "0"}).start()
    try:
        deadline = time.monotonic() + scaled(60)
        async with httpx.AsyncClient() as client:
            while (await client.get(f"{server.url}/api/meetings/{codes['expired']}")).status_code != 404:
                assert time.monotonic() < deadline, "the server did not purge the expired meeting"
                await asyncio.sleep(0.2)
            for name in ("kept", "forever"):
                assert (await client.get(f"{server.url}/api/meetings/{codes[name]}")).status_code == 200
        while planted_in_files(folder):
            assert time.monotonic() < deadline, f"still on disk: {planted_in_files(folder)}"
            await asyncio.sleep(0.2)
    finally:
        server.stop()
    assert planted_in_files(folder) == []
    assert await _codes(url) == sorted([codes["kept"], codes["forever"]])
