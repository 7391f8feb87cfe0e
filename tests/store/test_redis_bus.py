"""What only the Redis bus does: several processes' buses share a stream, resume and backfill."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from facilitation.bus.redis import RedisBus
from facilitation.core.events import MeetingCreated, VoteCast
from facilitation.store.redis import RedisStore
from tests.store.test_bus_contract import Collector, _votes
from tests.support.servers import RedisServer, scaled

pytestmark = pytest.mark.asyncio


async def test_publish_on_one_bus_reaches_another(redis_server: RedisServer) -> None:
    """Two bus instances (two workers) see each other's events, in order, exactly once."""
    code = uuid.uuid4().hex[:8]
    a, b = RedisBus(redis_server.url), RedisBus(redis_server.url)
    await a.start()
    await b.start()
    try:
        got = Collector()
        b.subscribe(code, got, since=0)
        await a.publish(code, _votes(1, 3))
        await a.publish(code, _votes(1, 4))  # a republish of 1..3 is skipped
        assert [e.seq for e in await got.until(4)] == [1, 2, 3, 4]
        await asyncio.sleep(0.3)
        assert len(got.events) == 4
    finally:
        await a.close()
        await b.close()


async def test_subscriber_after_trim_is_backfilled_from_the_log(redis_server: RedisServer) -> None:
    """A reader whose position fell off the capped stream gets the missing events from the log first."""
    code = uuid.uuid4().hex[:8]
    store = RedisStore(redis_server.url, stream_maxlen=10)
    bus = RedisBus(redis_server.url, stream_maxlen=10)
    await store.start()
    await bus.start()
    try:
        bus.backfill = store.events_since
        await store.create_meeting(code, [MeetingCreated(1, 1.0, code, {}, "h")])
        for s in range(2, 502, 50):
            await store.append(code, [VoteCast(q, 1.0, q, 1, "agree", f"o{q}") for q in range(s, s + 50)])
        got = Collector()
        bus.subscribe(code, got, since=5)
        events = await got.until(496)
        assert [e.seq for e in events] == list(range(6, 502))
    finally:
        await bus.close()
        await store.close()


async def test_bus_reports_unhealthy_without_redis_and_recovers(redis_server: RedisServer) -> None:
    """While Redis is down the bus is unhealthy; after a restart it resumes from its last id."""
    code = uuid.uuid4().hex[:8]
    bus, publisher = RedisBus(redis_server.url), RedisBus(redis_server.url)
    await bus.start()
    await publisher.start()
    try:
        got = Collector()
        bus.subscribe(code, got, since=0)
        await publisher.publish(code, _votes(1, 2))
        await got.until(2)
        redis_server.kill()
        async with asyncio.timeout(scaled(10)):
            while await bus.healthy():
                await asyncio.sleep(0.1)
        redis_server.start()
        await publisher.publish(code, _votes(3, 2))
        assert [e.seq for e in await got.until(4)] == [1, 2, 3, 4]
        async with asyncio.timeout(scaled(10)):
            while not await bus.healthy():
                await asyncio.sleep(0.1)
    finally:
        await bus.close()
        await publisher.close()
