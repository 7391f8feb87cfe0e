"""Idle meetings leave memory and come back whole.

A server that hosts meetings for weeks must not keep every meeting it ever served in memory
(`Hub.evict_idle`); evicting one must lose nothing: its votes, statements, participants (a phone's token
still works) and its last published analysis are all there when someone comes back.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from facilitation.tools.client import MeetingClient
from tests.server.conftest import create_meeting, meeting_info
from tests.support.servers import ServerProcess, scaled

POSTED = "A statement posted before the meeting went idle."
IDLE = 1.0
"""Seconds of idleness after which the test server evicts a meeting (checked every tenth of that)."""


def health(server: ServerProcess) -> dict[str, Any]:
    """/healthz: it reports how many rooms are in memory, and reading it does not touch any."""
    return dict(httpx.get(f"{server.url}/healthz", timeout=scaled(10)).json())


def evicted_total(server: ServerProcess) -> float:
    text = httpx.get(f"{server.url}/metrics", timeout=scaled(10)).text
    line = next((row for row in text.splitlines() if row.startswith("facilitation_rooms_evicted_total")), None)
    return float(line.split()[-1]) if line else 0.0


async def wait_for(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + scaled(timeout)
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.1)


@pytest.fixture
def idle_server(tmp_path: Path) -> Any:
    """A server with live analysis on that evicts meetings idle for `IDLE` seconds."""
    proc = ServerProcess(f"sqlite:///{tmp_path / 'meetings.db'}",
                         env={"FACILITATION_ROOM_IDLE_SECONDS": str(IDLE)}).start()
    try:
        yield proc
    finally:
        proc.stop()


@pytest.mark.asyncio
async def test_idle_meeting_is_evicted_and_comes_back_whole(idle_server: ServerProcess) -> None:
    info = create_meeting(idle_server.url)
    host = MeetingClient(idle_server.url, info.code, "host", host_key=info.host_key)
    await host.connect()
    await host.command("phase", phase="collecting")
    phones = [MeetingClient(idle_server.url, info.code, "participant") for _ in range(4)]
    for i, phone in enumerate(phones):
        await phone.connect()
        for statement in range(5):
            await phone.vote(statement, ("agree", "disagree", "acceptable")[(i + statement) % 3])
    posted = await phones[0].post(POSTED)
    tokens = [phone.token for phone in phones]
    deadline = time.monotonic() + scaled(30)
    analysis = httpx.get(f"{idle_server.url}/api/meetings/{info.code}/analysis", timeout=scaled(10))
    while analysis.status_code != 200 or analysis.json().get("upto_seq", 0) < posted["seq"]:
        assert time.monotonic() < deadline, f"no analysis covering every vote: {analysis.text[:300]}"
        await asyncio.sleep(0.2)
        analysis = httpx.get(f"{idle_server.url}/api/meetings/{info.code}/analysis", timeout=scaled(10))
    before = meeting_info(idle_server.url, info.code)

    # Connected clients keep the meeting in memory however long nothing happens.
    await asyncio.sleep(scaled(IDLE * 2.5))
    assert health(idle_server)["rooms"] == 1
    assert evicted_total(idle_server) == 0

    for client in (host, *phones):
        await client.close()
    await wait_for(lambda: health(idle_server)["rooms"] == 0, 20, "the idle meeting to be evicted")
    assert evicted_total(idle_server) == 1

    # It comes back on the next use, whole.
    after = meeting_info(idle_server.url, info.code)
    assert health(idle_server)["rooms"] == 1
    assert {k: after[k] for k in ("seq", "phase", "counters")} == {k: before[k] for k in ("seq", "phase", "counters")}
    assert after["counters"]["votes"] >= 20 and after["counters"]["participants"] == 4
    back = MeetingClient(idle_server.url, info.code, "participant", token=tokens[0])
    await back.connect()
    try:
        snapshot = await back.next_message("snapshot", timeout=scaled(10))
        assert back.participant == phones[0].participant
        assert snapshot["seq"] == before["seq"]
        mine = {int(s): v for s, v in snapshot["you"]["votes"].items()}
        posted_id = int(posted["result"]["statement"])
        # the author's own statement counts as agreed (Pol.is's rule), so it is among their votes
        assert mine == {**{s: ("agree", "disagree", "acceptable")[s % 3] for s in range(5)}, posted_id: "agree"}
        assert [s["text"] for s in snapshot["you"]["statements"]] == [POSTED]
        restored = httpx.get(f"{idle_server.url}/api/meetings/{info.code}/analysis", timeout=scaled(10))
        assert restored.status_code == 200
        assert restored.json()["run"] == analysis.json()["run"]
        assert restored.json()["upto_seq"] == analysis.json()["upto_seq"]
        assert restored.json()["groups"] == analysis.json()["groups"]
        # A projector that slept through the eviction resumes from where it was: the reloaded room has no
        # recent events in memory, so it gets a snapshot or an empty resume, then the live events.
        projector = MeetingClient(idle_server.url, info.code, "projector")
        await projector.connect(since=before["seq"])
        first = await projector.next_message(timeout=scaled(10))
        assert first["type"] in ("resumed", "snapshot") and first["seq"] == before["seq"], first
        vote = await back.vote(0, "disagree")  # a changed vote: the reloaded meeting takes commands
        assert vote["seq"] == before["seq"] + 1
        seen = await projector.next_message(timeout=scaled(10), where=lambda m: m.get("seq", 0) >= vote["seq"])
        events = seen.get("events") or [seen.get("event", {})]
        assert any(e.get("type") == "vote" and e.get("value") == "disagree" for e in events), seen
        await projector.close()
    finally:
        await back.close()
