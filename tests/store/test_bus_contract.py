"""The Bus contract: the in-process and Redis buses deliver the same way (one suite, both backends)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Sequence

import pytest
import pytest_asyncio

from facilitation.core.events import Event, VoteCast
from facilitation.storage import Bus, open_bus
from tests.support.cluster import RedisClusterServer
from tests.support.servers import RedisServer, scaled

pytestmark = pytest.mark.asyncio


@pytest.fixture(params=["memory", "redis", "cluster"])
def bus_url(request: pytest.FixtureRequest) -> str:
    if request.param == "memory":
        return "memory://"
    name = "redis_server" if request.param == "redis" else "redis_cluster"
    server: RedisServer | RedisClusterServer = request.getfixturevalue(name)
    return server.url


@pytest_asyncio.fixture
async def bus(bus_url: str) -> AsyncIterator[Bus]:
    b = open_bus(bus_url)
    await b.start()
    try:
        yield b
    finally:
        await b.close()


class Collector:
    def __init__(self) -> None:
        self.events: list[Event] = []
        self.changed = asyncio.Event()

    def __call__(self, events: Sequence[Event]) -> None:
        self.events.extend(events)
        self.changed.set()

    async def until(self, n: int) -> list[Event]:
        async with asyncio.timeout(scaled(5)):
            while len(self.events) < n:
                self.changed.clear()
                await self.changed.wait()
        return self.events


def _votes(first: int, n: int) -> list[Event]:
    return [VoteCast(s, 1.0, s, 1, "agree", f"o{s}") for s in range(first, first + n)]


async def test_subscriber_receives_published_events_in_order(bus: Bus) -> None:
    """Events published in batches reach a subscriber once each, in sequence order."""
    code = uuid.uuid4().hex[:8]
    got = Collector()
    bus.subscribe(code, got, since=0)
    await bus.publish(code, _votes(1, 3))
    await bus.publish(code, _votes(4, 2))
    assert [e.seq for e in await got.until(5)] == [1, 2, 3, 4, 5]
    assert got.events == _votes(1, 5)


async def test_other_meetings_are_not_delivered(bus: Bus) -> None:
    """A subscriber hears its meeting only."""
    mine, other = uuid.uuid4().hex[:8], uuid.uuid4().hex[:8]
    got = Collector()
    bus.subscribe(mine, got, since=0)
    await bus.publish(other, _votes(1, 2))
    await bus.publish(mine, _votes(1, 1))
    await got.until(1)
    await asyncio.sleep(0.3)
    assert [e.seq for e in got.events] == [1]


async def test_unsubscribed_listener_hears_nothing_more(bus: Bus) -> None:
    """After unsubscribe a listener is not called again, while other listeners still are."""
    code = uuid.uuid4().hex[:8]
    gone, stays = Collector(), Collector()
    unsubscribe = bus.subscribe(code, gone, since=0)
    bus.subscribe(code, stays, since=0)
    await bus.publish(code, _votes(1, 1))
    await gone.until(1)
    await stays.until(1)
    unsubscribe()
    await bus.publish(code, _votes(2, 1))
    await stays.until(2)
    assert [e.seq for e in gone.events] == [1]


async def test_healthy_while_running(bus: Bus) -> None:
    """A started bus reports healthy once it has connected."""
    async with asyncio.timeout(scaled(5)):
        while not await bus.healthy():
            await asyncio.sleep(0.05)
