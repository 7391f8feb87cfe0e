"""What only the Redis bus does: a write by one worker's store reaches another worker's bus, on one node and
on a cluster; what a subscriber missed comes from the log; a Redis restart is survived."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from facilitation.core.events import MeetingCreated, VoteCast
from facilitation.storage.redis_bus import RedisBus
from facilitation.storage.redis_store import RedisStore
from tests.store.test_bus_contract import Collector
from tests.support.cluster import RedisClusterServer
from tests.support.servers import RedisServer, scaled

pytestmark = pytest.mark.asyncio


@pytest.fixture(params=["redis", "cluster"])
def redis_url(request: pytest.FixtureRequest) -> str:
    name = "redis_server" if request.param == "redis" else "redis_cluster"
    server: RedisServer | RedisClusterServer = request.getfixturevalue(name)
    return server.url


def _votes(first: int, n: int) -> list[VoteCast]:
    return [VoteCast(s, 1.0, s, 1, "agree", f"o{s}") for s in range(first, first + n)]


async def _worker(url: str) -> tuple[RedisStore, RedisBus]:
    store = RedisStore(url)
    await store.start()
    bus = RedisBus(url, backfill=store.events_since)
    await bus.start()
    return store, bus


async def test_a_write_on_one_worker_reaches_the_bus_of_another(redis_url: str) -> None:
    """Appends by worker A's store reach worker B's bus in order, exactly once, batch after batch."""
    code = uuid.uuid4().hex[:8]
    a_store, a_bus = await _worker(redis_url)
    b_store, b_bus = await _worker(redis_url)
    try:
        await a_store.create_meeting(code, [MeetingCreated(1, 1.0, code, {}, "h")])
        got = Collector()
        b_bus.subscribe(code, got, since=1)
        await asyncio.sleep(0.2)
        for first in range(2, 42, 5):
            await a_store.append(code, _votes(first, 5))
        assert [e.seq for e in await got.until(40)] == list(range(2, 42))
        await asyncio.sleep(0.3)
        assert len(got.events) == 40
    finally:
        for part in (a_bus, b_bus, a_store, b_store):
            await part.close()


async def test_a_late_subscriber_gets_what_it_missed_from_the_log(redis_url: str) -> None:
    """A subscriber whose position is far behind (500 events written before it subscribed) gets every
    event after it from the log, then the live ones, in order."""
    code = uuid.uuid4().hex[:8]
    store, bus = await _worker(redis_url)
    try:
        await store.create_meeting(code, [MeetingCreated(1, 1.0, code, {}, "h")])
        for first in range(2, 502, 50):
            await store.append(code, _votes(first, 50))
        got = Collector()
        bus.subscribe(code, got, since=5)
        await store.append(code, _votes(502, 3))
        events = await got.until(499)
        assert [e.seq for e in events] == list(range(6, 505))
    finally:
        await bus.close()
        await store.close()


async def test_bus_reports_unhealthy_without_redis_and_recovers(redis_server: RedisServer) -> None:
    """While Redis is down the bus is unhealthy; after a restart it is healthy again within 5 s and
    delivers what was written meanwhile, from where it stopped."""
    code = uuid.uuid4().hex[:8]
    store, bus = await _worker(redis_server.url)
    writer = RedisStore(redis_server.url)
    await writer.start()
    try:
        await writer.create_meeting(code, [MeetingCreated(1, 1.0, code, {}, "h")])
        got = Collector()
        bus.subscribe(code, got, since=1)
        await writer.append(code, _votes(2, 2))
        await got.until(2)
        redis_server.kill()
        async with asyncio.timeout(scaled(10)):
            while await bus.healthy():
                await asyncio.sleep(0.1)
        redis_server.start()
        started = asyncio.get_running_loop().time()
        async with asyncio.timeout(scaled(5)):
            while not await bus.healthy():
                await asyncio.sleep(0.05)
        print(f"\nbus healthy {asyncio.get_running_loop().time() - started:.2f} s after Redis answered")
        async with asyncio.timeout(scaled(10)):
            while True:
                try:
                    await writer.append(code, _votes(4, 2))
                    break
                except Exception:
                    await asyncio.sleep(0.1)
        assert [e.seq for e in await got.until(4)] == [2, 3, 4, 5]
    finally:
        for part in (bus, store, writer):
            await part.close()


async def test_workers_pointed_at_any_node_share_one_cluster(redis_cluster: RedisClusterServer) -> None:
    """Worker A given a replica's address, worker B another master's: A's appends reach B's bus and log."""
    masters = redis_cluster.masters()
    replica = next(p for p in redis_cluster.ports if p not in masters)
    other = next(p for p in masters if p != redis_cluster.ports[0])
    code = uuid.uuid4().hex[:8]
    a_store, a_bus = await _worker(f"redis://127.0.0.1:{replica}/0")
    b_store, b_bus = await _worker(f"redis://127.0.0.1:{other}/0")
    try:
        await a_store.create_meeting(code, [MeetingCreated(1, 1.0, code, {}, "h")])
        got = Collector()
        b_bus.subscribe(code, got, since=1)  # what it misses while subscribing comes from the log
        await a_store.append(code, _votes(2, 5))
        assert [e.seq for e in await got.until(5)] == [2, 3, 4, 5, 6]
        assert [e.seq for e in await b_store.load(code) or []] == [1, 2, 3, 4, 5, 6]
    finally:
        for part in (a_bus, b_bus, a_store, b_store):
            await part.close()
