"""What only the Redis store does: fencing a stale owner, the capped stream beside the full log."""

from __future__ import annotations

import uuid

import pytest
import redis.asyncio as aioredis

from facilitation import redis_keys as keys
from facilitation.core.events import MeetingCreated, VoteCast
from facilitation.store.redis import Fenced, RedisStore
from tests.support.servers import RedisServer

pytestmark = pytest.mark.asyncio


async def test_stale_fence_cannot_append(redis_server: RedisServer) -> None:
    """An append with a fencing token that is no longer the owner lock's value is refused."""
    code = uuid.uuid4().hex[:8]
    store = RedisStore(redis_server.url)
    await store.start()
    raw = aioredis.Redis.from_url(redis_server.url, decode_responses=True)
    try:
        await store.create_meeting(code, [MeetingCreated(1, 1.0, code, {}, "h")])
        await raw.set(keys.owner(code), "1:a")
        await store.append(code, [VoteCast(2, 2.0, 1, 1, "agree", "o1")], fence="1:a")
        await raw.set(keys.owner(code), "2:b")  # another worker took over
        with pytest.raises(Fenced):
            await store.append(code, [VoteCast(3, 3.0, 1, 1, "agree", "o2")], fence="1:a")
        assert await store.last_seq(code) == 2
    finally:
        await raw.aclose()
        await store.close()


async def test_stream_is_capped_but_log_is_whole(redis_server: RedisServer) -> None:
    """The live stream is trimmed near its cap while the log keeps every event."""
    code = uuid.uuid4().hex[:8]
    store = RedisStore(redis_server.url, stream_maxlen=100)
    await store.start()
    try:
        await store.create_meeting(code, [MeetingCreated(1, 1.0, code, {}, "h")])
        for start in range(2, 2002, 100):
            await store.append(code, [VoteCast(s, 2.0, s, 1, "agree", f"o{s}") for s in range(start, start + 100)])
        assert await store.last_seq(code) == 2001
        length = await store.redis.xlen(keys.events(code))
        assert 100 <= length < 400
        loaded = await store.load(code)
        assert loaded is not None and len(loaded) == 2001
    finally:
        await store.close()
