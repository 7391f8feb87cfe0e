"""Fixtures every Redis test module shares: a real redis-server of its own, and two workers on it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.redis.support import redis_or_skip, worker
from tests.support.servers import RedisServer, ServerProcess


@pytest.fixture
def redis() -> Iterator[RedisServer]:
    """A fresh redis-server for the test (killed and its files removed after it)."""
    server = redis_or_skip()
    try:
        yield server
    finally:
        server.kill()
        server.stop()


@pytest.fixture
def pair(redis: RedisServer) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    """Two workers on that Redis: one owns a meeting, the other forwards to it."""
    a, b = worker(redis).start(), worker(redis).start()
    try:
        yield a, b
    finally:
        a.stop()
        b.stop()
