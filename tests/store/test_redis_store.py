"""What only the Redis store does: fencing a stale owner, a write probe on every shard, acks that wait for
a replica (and degrade into slower acks, not refusals, when it stalls)."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
import redis.asyncio as aioredis

from facilitation import metrics
from facilitation.core.events import MeetingCreated, VoteCast
from facilitation.storage import StoreUnavailable
from facilitation.storage import redis_keys as keys
from facilitation.storage.redis_store import LOCK_TTL_MS, REPLICA_WAIT_MS, Fenced, RedisStore
from tests.support.cluster import RedisClusterServer
from tests.support.servers import RedisServer

pytestmark = pytest.mark.asyncio


@pytest.fixture(params=["redis", "cluster"])
def redis_url(request: pytest.FixtureRequest) -> str:
    name = "redis_server" if request.param == "redis" else "redis_cluster"
    server: RedisServer | RedisClusterServer = request.getfixturevalue(name)
    return server.url


async def test_stale_fence_cannot_append(redis_url: str) -> None:
    """An append with a fencing token that is no longer the owner lock's value is refused."""
    code = uuid.uuid4().hex[:8]
    store = RedisStore(redis_url)
    await store.start()
    try:
        await store.create_meeting(code, [MeetingCreated(1, 1.0, code, {}, "h")])
        await store.redis.set(keys.owner(code), "1:a")
        await store.append(code, [VoteCast(2, 2.0, 1, 1, "agree", "o1")], fence="1:a")
        await store.redis.set(keys.owner(code), "2:b")  # another worker took over
        with pytest.raises(Fenced):
            await store.append(code, [VoteCast(3, 3.0, 1, 1, "agree", "o2")], fence="1:a")
        assert await store.last_seq(code) == 2
    finally:
        await store.close()


async def test_an_expired_lock_is_taken_back_by_its_last_holder(redis_url: str) -> None:
    """An append whose token's lock expired with nobody else taking it is stored, and the lock is its token
    again, with an expiry (a lone owner stalled past the ttl: slower, not refused)."""
    code = uuid.uuid4().hex[:8]
    store = RedisStore(redis_url)
    await store.start()
    try:
        await store.create_meeting(code, [MeetingCreated(1, 1.0, code, {}, "h")])
        await store.redis.set(keys.owner(code), "1:a")
        await store.append(code, [VoteCast(2, 2.0, 1, 1, "agree", "o1")], fence="1:a")
        await store.redis.delete(keys.owner(code))  # expired; nobody campaigned
        await store.append(code, [VoteCast(3, 3.0, 1, 1, "agree", "o2")], fence="1:a")
        assert await store.last_seq(code) == 3
        assert await store.redis.get(keys.owner(code)) == "1:a"
        assert 0 < await store.redis.pttl(keys.owner(code)) <= LOCK_TTL_MS
    finally:
        await store.close()


async def test_an_expired_lock_is_not_taken_back_over_someone_elses_appends(redis_url: str) -> None:
    """If the log grew since the stalled holder's last append (someone owned it meanwhile), its append is
    refused and the free lock stays free for the next campaign."""
    code = uuid.uuid4().hex[:8]
    store = RedisStore(redis_url)
    await store.start()
    try:
        await store.create_meeting(code, [MeetingCreated(1, 1.0, code, {}, "h")])
        await store.redis.set(keys.owner(code), "2:b")
        await store.append(code, [VoteCast(2, 2.0, 1, 1, "agree", "o1")], fence="2:b")
        await store.redis.delete(keys.owner(code))
        with pytest.raises(StoreUnavailable):
            await store.append(code, [VoteCast(2, 2.0, 2, 1, "agree", "o9")], fence="1:a")  # a stale seq 2
        assert await store.last_seq(code) == 2
        assert await store.redis.get(keys.owner(code)) is None
    finally:
        await store.close()


async def test_health_probe_writes_on_every_shard(redis_cluster: RedisClusterServer) -> None:
    """A healthy cluster store has written its probe key on each of the three masters."""
    store = RedisStore(redis_cluster.url)
    await store.start()
    try:
        assert await store.healthy()
        for port in redis_cluster.masters():
            node = aioredis.Redis(port=port, decode_responses=True)
            try:
                probes = [k async for k in node.scan_iter("facilitation:health:*")]
            finally:
                await node.aclose()
            assert len(probes) == 1, (port, probes)
    finally:
        await store.close()


def _unreplicated() -> float:
    return metrics.REGISTRY.get_sample_value("facilitation_store_unreplicated_acks_total") or 0.0


async def test_an_ack_waits_until_the_replica_has_the_write(redis_cluster: RedisClusterServer) -> None:
    """With the meeting's replica stalled for 0.3 s, the append is acknowledged only after the replica
    answers, and the replica holds the events as soon as the ack is out."""
    code = uuid.uuid4().hex[:8]
    store = RedisStore(redis_cluster.url)
    await store.start()
    replica = redis_cluster.replica_of(redis_cluster.master_of(keys.log(code)))
    try:
        await store.create_meeting(code, [MeetingCreated(1, 1.0, code, {}, "h")])
        await store.append(code, [VoteCast(2, 2.0, 1, 1, "agree", "warm")])
        before = _unreplicated()
        redis_cluster.pause(replica, True)
        asyncio.get_running_loop().call_later(0.3, redis_cluster.pause, replica, False)
        started = time.monotonic()
        await store.append(code, [VoteCast(3, 3.0, 1, 1, "agree", "o")])
        took = time.monotonic() - started
        assert 0.25 <= took < REPLICA_WAIT_MS / 1000 + 0.2, took
        follower = aioredis.Redis(port=replica, decode_responses=True)
        try:
            await follower.execute_command("READONLY")  # type: ignore[no-untyped-call]
            assert await follower.llen(keys.log(code)) == 3
        finally:
            await follower.aclose()
        assert _unreplicated() == before
    finally:
        redis_cluster.pause(replica, False)
        await store.close()


async def test_a_stalled_replica_slows_acks_but_refuses_none(redis_cluster: RedisClusterServer) -> None:
    """With the replica stalled for longer than the wait, appends are acknowledged after the wait on the
    master's AOF alone (counted), never refused."""
    code = uuid.uuid4().hex[:8]
    store = RedisStore(redis_cluster.url)
    await store.start()
    replica = redis_cluster.replica_of(redis_cluster.master_of(keys.log(code)))
    try:
        await store.create_meeting(code, [MeetingCreated(1, 1.0, code, {}, "h")])
        before = _unreplicated()
        redis_cluster.pause(replica, True)
        started = time.monotonic()
        await asyncio.gather(*(store.append(code, [VoteCast(s, 2.0, s, 1, "agree", f"o{s}")]) for s in range(2, 6)))
        took = time.monotonic() - started
        assert REPLICA_WAIT_MS / 1000 - 0.05 <= took < 3 * REPLICA_WAIT_MS / 1000, took
        assert await store.last_seq(code) == 5
        assert _unreplicated() >= before + 1
    finally:
        redis_cluster.pause(replica, False)
        await store.close()
