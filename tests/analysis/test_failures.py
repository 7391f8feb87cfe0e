"""A failing analysis run must not break the meeting: votes go on, the host sees why, the next run recovers."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from facilitation.tools.client import MeetingClient
from tests.analysis.support import close_all, create_meeting, phones, vote_camps
from tests.support.servers import ServerProcess, scaled


@pytest.mark.asyncio
async def test_failed_run_keeps_meeting_going_and_recovers(tmp_path: Path) -> None:
    """Run attempt 2 raises in the worker (FACILITATION_ANALYSIS_FAIL_RUNS test hook); the meeting survives."""
    server = ServerProcess(f"sqlite:///{tmp_path / 'm.db'}", env={"FACILITATION_ANALYSIS_FAIL_RUNS": "2"}).start()
    try:
        code, key = await create_meeting(server, 8)
        host = MeetingClient(server.url, code, "host", host_key=key)
        await host.connect()
        projector = MeetingClient(server.url, code, "projector")
        await projector.connect()
        clients = await phones(server, code, 20)
        await clients[0].vote(0, "agree")
        first = await projector.next_message("analysis", timeout=scaled(30))
        assert first["run"] == 1
        await asyncio.sleep(0.6)
        await vote_camps(clients, range(8))
        failure = await host.next_message("analysis_error", timeout=scaled(15), where=lambda m: m["error"])
        assert failure["error"]["code"] == "analysis_failed"
        assert "injected analysis failure" in failure["error"]["message"]
        started = time.monotonic()
        ack = await clients[1].vote(2, "pass")
        assert time.monotonic() - started < scaled(1.0), "votes are acknowledged while analysis is failing"
        snapshot_host = MeetingClient(server.url, code, "host", host_key=key)
        await snapshot_host.connect()
        snap = await snapshot_host.next_message("snapshot", timeout=scaled(5))
        assert snap["analysis_error"] and "injected" in snap["analysis_error"]
        assert snap["analysis"]["run"] == 1, "the last good map stays on screen"
        await snapshot_host.close()
        recovered = await projector.next_message(
            "analysis", timeout=scaled(20), where=lambda m: m["upto_seq"] >= ack["seq"])
        assert recovered["run"] == 2, "a failed attempt does not consume a run number"
        cleared = await host.next_message("analysis_error", timeout=scaled(5), where=lambda m: m["error"] is None)
        assert cleared["run"] == 2
        await close_all([*clients, projector, host])
    finally:
        server.stop()
