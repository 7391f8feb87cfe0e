"""Workers are ready again within 5 s of their Redis answering again (issue 26; it once took 21 s).

A single Redis node is killed -9 under two workers that serve a meeting with phones and a projector
connected (so each has a room, a live feed subscription and, on the owner, an owner lock to renew), kept
down for 8 s (any reconnect backoff has grown by then), and restarted on its port from its AOF. The time
that counts starts when the node answers PING again and ends when every worker's ``/readyz`` answers 200.
A restart as soon as the workers noticed, without a meeting, is
tests/security/test_health.py::test_redis_stopped_makes_every_worker_503_then_recovers; a promoted
replica's case is tests/deploy/test_failover.py::test_the_meetings_redis_master_killed_loses_no_acknowledged_vote.
"""

from __future__ import annotations

import asyncio
import functools
import time
import urllib.request
from collections.abc import Callable

import pytest

from facilitation.tools.client import MeetingClient
from tests.redis.support import Phone, create_meeting, open_voting
from tests.support.servers import RedisServer, ServerProcess, scaled

pytestmark = [pytest.mark.redis, pytest.mark.slow]

READY_WITHIN = 5.0
"""Seconds from Redis answering again to every worker ready: issue 26's bound."""
DOWN = 8.0
"""Seconds Redis stays down after both workers noticed."""


def _ready(server: ServerProcess) -> bool:
    try:
        with urllib.request.urlopen(server.url + "/readyz", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:  # 503 (HTTPError), refused or timed out
        return False


async def _until(condition: Callable[[], bool], timeout: float) -> None:
    """Poll ``condition`` (run in a thread: it does blocking HTTP) every 50 ms until it holds."""
    async with asyncio.timeout(timeout):
        while not await asyncio.to_thread(condition):
            await asyncio.sleep(0.05)


@pytest.mark.asyncio
async def test_workers_are_ready_within_5_s_of_redis_answering_again(
        redis: RedisServer, pair: tuple[ServerProcess, ServerProcess]) -> None:
    """Redis killed -9 mid-meeting and back 8 s later: both workers are ready within 5 s of its PONG."""
    a, b = pair
    meeting = create_meeting(a.url, 4)
    await open_voting(a.url, meeting)
    screen = MeetingClient(b.url, meeting["code"], "projector")
    await screen.connect()
    phones = [Phone([(a.url, b.url)[i % 2]], meeting["code"], i) for i in range(4)]
    await asyncio.gather(*(p.connect() for p in phones))
    deadline = asyncio.get_running_loop().time() + scaled(30)
    await asyncio.gather(*(p.vote(0, deadline) for p in phones))  # each worker has served the meeting

    redis.kill()
    await _until(lambda: not _ready(a) and not _ready(b), scaled(20))  # both noticed
    await asyncio.sleep(DOWN)  # the outage itself, not a wait for a condition
    redis.start()  # returns once the node answers PING, its AOF loaded
    answered = time.monotonic()
    for server in (a, b):
        await _until(functools.partial(_ready, server), scaled(30))
    ready_after = time.monotonic() - answered
    print(f"\nRedis down {DOWN:.0f} s: every worker ready {ready_after:.2f} s after it answered PING again")
    assert ready_after <= scaled(READY_WITHIN)
    await asyncio.gather(screen.close(), *(p.close() for p in phones))
