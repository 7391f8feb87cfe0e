"""Backends for the contract tests: every store and bus implementation runs the same tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio

from facilitation.storage import Store, open_store
from tests.redis.support import redis_or_skip
from tests.support.cluster import RedisClusterServer
from tests.support.servers import RedisServer


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    """A private redis-server for this test module (AOF on); missing redis-server fails under CI."""
    server = redis_or_skip()
    try:
        yield server
    finally:
        server.kill()
        server.stop()


@pytest.fixture(params=["sqlite", "redis", "cluster"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each contract test runs on a SQLite file, one Redis node and a Redis Cluster."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    name = "redis_server" if request.param == "redis" else "redis_cluster"
    server: RedisServer | RedisClusterServer = request.getfixturevalue(name)
    return server.url


@pytest_asyncio.fixture
async def store(store_url: str) -> AsyncIterator[Store]:
    """A started store on ``store_url``, closed after the test."""
    s = open_store(store_url)
    await s.start()
    try:
        yield s
    finally:
        await s.close()
