"""A timer whose owning worker is killed still ends, once, on the worker that takes the meeting over
(issue 23): the deadline is in the log, and only the owner sends the end."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from facilitation.storage.redis_store import RedisStore
from facilitation.tools.client import MeetingClient
from tests.redis.support import create_meeting, open_voting, worker
from tests.support.servers import RedisServer, scaled

pytestmark = pytest.mark.redis


async def _log(redis: RedisServer, code: str) -> list[Any]:
    store = RedisStore(redis.url)
    await store.start()
    try:
        return await store.load(code) or []
    finally:
        await store.close()


@pytest.mark.asyncio
async def test_a_timer_whose_owner_is_killed_ends_once_on_the_new_owner(redis: RedisServer) -> None:
    """Worker a owns the meeting and starts a 10 s auto-advance timer, then dies (SIGKILL); worker b takes over
    and ends it: the projector on b sees `timer_ended` and the phase move, and the log holds one end."""
    a, b = worker(redis).start(), worker(redis).start()
    try:
        meeting = create_meeting(a.url, 3)  # a creates the meeting, so a owns it
        await open_voting(a.url, meeting)
        screen = MeetingClient(b.url, meeting["code"], "projector")
        await screen.connect()
        await screen.next_message("snapshot", timeout=scaled(10))
        host = MeetingClient(a.url, meeting["code"], "host", host_key=meeting["host_key"])
        await host.connect()
        ack = await host.command("timer_start", seconds=10, auto_advance=True)
        timer = ack["result"]["timer"]
        await host.close()
        a.kill()
        seen: list[dict[str, Any]] = []
        async with asyncio.timeout(scaled(40)):
            while not any(e["type"] == "phase_changed" and e["to_phase"] == "voting" for e in seen):
                message = await screen.next_message(timeout=scaled(40))
                if message["type"] == "batch":
                    seen.extend(message["events"])
        ended = [e for e in seen if e["type"] == "timer_ended"]
        assert [e["timer"] for e in ended] == [timer] and ended[0]["at"] >= ack["result"]["ends_at"] - 0.5
        await screen.close()
        await asyncio.sleep(1.0)  # a second end, were one coming, would be in the log by now
        log = await _log(redis, meeting["code"])
        assert sum(e.type == "timer_ended" for e in log) == 1
        assert [e.to_phase for e in log if e.type == "phase_changed"] == ["collecting", "voting"]
        assert time.time() >= ack["result"]["ends_at"]
    finally:
        a.stop()
        b.stop()
