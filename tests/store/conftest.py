"""Backends for the contract tests: every store and bus implementation runs the same tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.redis.support import redis_or_skip
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
