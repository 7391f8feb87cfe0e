"""The event loop stays responsive while a 20,000 x 2,000 meeting is analysed."""

from __future__ import annotations

import asyncio
import statistics
import time
from pathlib import Path
from typing import Any

import pytest

from facilitation.tools.client import MeetingClient
from tests.analysis.support import build_big_meeting
from tests.support.servers import ServerProcess, scaled

PARTICIPANTS = 20_000
STATEMENTS = 2_000
VOTES_EACH = 30
"""600,000 votes: a Pol.is-like sparse matrix (each phone sees a few dozen of the 2,000 statements)."""


async def _ping_until(client: MeetingClient, done: asyncio.Future[dict[str, Any]],
                      interval: float = 0.02) -> list[float]:
    """Ping round trips (seconds), one every ``interval``, until ``done`` resolves."""
    rtts = []
    while not done.done():
        started = time.perf_counter()
        assert client.ws is not None
        await client.ws.send('{"v": 1, "type": "ping"}')
        await client.next_message("pong", timeout=scaled(10))
        rtts.append(time.perf_counter() - started)
        await asyncio.sleep(interval)
    return rtts


@pytest.mark.slow
@pytest.mark.asyncio
async def test_pings_answered_quickly_during_big_analysis(tmp_path: Path) -> None:
    """Pings stay fast (p90 < 100 ms, none near the run's length) while a 20,000 x 2,000 run is in flight."""
    store = f"sqlite:///{tmp_path / 'big.db'}"
    code = await build_big_meeting(store, PARTICIPANTS, STATEMENTS, VOTES_EACH)
    server = ServerProcess(store).start()
    try:
        host = MeetingClient(server.url, code, "host", host_key="big-meeting-host-key")
        await host.connect(timeout=scaled(120))  # the first connection replays 620,000 events
        first = await host.next_message("analysis", timeout=scaled(120))
        assert first["counts"]["participants"] == PARTICIPANTS
        assert len(first["points"]["participants"]) == first["counts"]["clustered"] > 10_000
        pinger = MeetingClient(server.url, code, "projector")
        await pinger.connect()
        await asyncio.sleep(0.5)
        while not pinger.messages.empty():
            pinger.messages.get_nowait()
        loop = asyncio.get_running_loop()
        done: asyncio.Future[dict[str, Any]] = loop.create_future()

        async def wait_map() -> None:
            message = await host.next_message("analysis", timeout=scaled(120), where=lambda m: m["run"] > first["run"])
            done.set_result(message)

        waiter = loop.create_task(wait_map())
        forced = await host.command("analysis", action="recompute")
        assert forced["result"]["queued"] or forced["result"]["running"]
        rtts = await _ping_until(pinger, done)
        await waiter
        second = done.result()
        assert len(rtts) >= 5, f"the run was too short to measure ({len(rtts)} pings)"
        rtts.sort()
        p90 = rtts[int(0.9 * (len(rtts) - 1))]
        print(f"\n{len(rtts)} pings during a {second['elapsed_ms']:.0f} ms run: median "
              f"{statistics.median(rtts) * 1000:.1f} ms, p90 {p90 * 1000:.1f} ms, max {rtts[-1] * 1000:.1f} ms")
        assert p90 < scaled(0.1)
        assert rtts[-1] < max(scaled(0.25), second["elapsed_ms"] / 1000 / 2), "a ping waited for the analysis"
        await pinger.close()
        await host.close()
    finally:
        server.stop()


def test_phones_get_the_analysis_less_often_only_in_rooms_past_five_thousand() -> None:
    """Every 5 s up to 5,000 connections; beyond, at most PHONE_BUDGET phone messages a second on average."""
    from facilitation.analysis.scheduler import PHONE_BUDGET, PHONE_INTERVAL, phone_interval

    assert phone_interval(30) == phone_interval(5_000) == PHONE_INTERVAL == 5.0
    assert phone_interval(10_000) == 10.0
    for phones in (6_000, 10_000, 20_000):
        assert phones / phone_interval(phones) <= PHONE_BUDGET
