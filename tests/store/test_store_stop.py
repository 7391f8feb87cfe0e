"""Closing the Redis store is bounded even when a background task absorbs its cancellation (a full CI run once
hung for good in ``RedisStore.close()``: the replica watcher was left "cancelling" inside the cluster client's
topology refresh and ``await task`` never returned)."""

from __future__ import annotations

import asyncio
import contextlib
import time

import pytest

from facilitation.storage.redis_store import STOP_WAIT, _stop

pytestmark = pytest.mark.asyncio


async def test_stop_returns_when_a_task_swallows_its_cancellation() -> None:
    stop = asyncio.Event()

    async def stubborn() -> None:
        while not stop.is_set():
            with contextlib.suppress(asyncio.CancelledError):  # what a library's broad except does
                await asyncio.sleep(0.05)

    task = asyncio.get_running_loop().create_task(stubborn(), name="stubborn")
    await asyncio.sleep(0.01)
    started = time.monotonic()
    await _stop(task)
    took = time.monotonic() - started
    assert STOP_WAIT - 0.1 <= took < STOP_WAIT + 1.0, took
    assert not task.done(), "the task really did absorb the cancellation"
    stop.set()
    await asyncio.wait_for(task, 1.0)


async def test_stop_waits_for_a_task_that_ends_on_cancellation() -> None:
    task = asyncio.get_running_loop().create_task(asyncio.sleep(60), name="sleeper")
    await asyncio.sleep(0)
    started = time.monotonic()
    await _stop(task)
    assert task.cancelled() and time.monotonic() - started < 0.5
