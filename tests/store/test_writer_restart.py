"""A store writer that ends anyway (a bug, a killed thread) is noticed, logged, counted and restarted: the
next write succeeds instead of hanging, and its pending writes fail instead of waiting forever."""

from __future__ import annotations

import asyncio
import logging
import uuid
from pathlib import Path

import pytest

from facilitation import metrics
from facilitation.core.events import MeetingCreated, VoteCast
from facilitation.storage.redis_store import RedisStore
from facilitation.storage.sqlite import SQLiteStore
from tests.support.servers import RedisServer

pytestmark = pytest.mark.asyncio


def _restarts() -> float:
    return metrics.REGISTRY.get_sample_value("facilitation_store_writer_restarts_total") or 0.0


async def test_sqlite_writer_thread_ended_is_restarted(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """The writer thread is made to end (its stop sentinel, sent by nobody who closed the store): the
    next write logs an error, counts a restart and is durable."""
    store = SQLiteStore(f"sqlite:///{tmp_path / 'w.db'}")
    await store.start()
    try:
        await store.create_meeting("AAAA", [MeetingCreated(1, 1.0, "AAAA", {}, "h")])
        thread = store._thread
        assert thread is not None
        store._queue.put(None)
        await asyncio.to_thread(thread.join, 5)
        assert not thread.is_alive()
        before = _restarts()
        with caplog.at_level(logging.ERROR):
            await asyncio.wait_for(store.append("AAAA", [VoteCast(2, 2.0, 1, 1, "agree", "o")]), 5)
        assert _restarts() == before + 1
        assert "writer thread ended unexpectedly" in caplog.text
        assert await store.last_seq("AAAA") == 2 and await store.healthy()
    finally:
        await store.close()


async def test_redis_write_task_ended_is_restarted(redis_server: RedisServer,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    """The Redis store's write task is cancelled under it: the next write restarts it and is durable."""
    code = uuid.uuid4().hex[:8]
    store = RedisStore(redis_server.url)
    await store.start()
    try:
        await store.create_meeting(code, [MeetingCreated(1, 1.0, code, {}, "h")])
        task = store._writer
        assert task is not None
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        before = _restarts()
        with caplog.at_level(logging.ERROR):
            await asyncio.wait_for(store.append(code, [VoteCast(2, 2.0, 1, 1, "agree", "o")]), 5)
        assert _restarts() == before + 1
        assert "write task ended unexpectedly" in caplog.text
        assert await store.last_seq(code) == 2 and await store.healthy()
    finally:
        await store.close()
