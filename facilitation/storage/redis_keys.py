"""Where everything lives in Redis, and how this project connects to it (one node or a Redis Cluster).

Every key of a meeting carries the hash tag ``{m:CODE}``, so a Redis Cluster keeps one meeting's keys on
one shard (Lua scripts that touch several of them stay legal) while different meetings spread over the
shards. The only global key is the meeting index, read by ``meeting_codes()`` (listing, not the hot path).

| key | type | what |
|---|---|---|
| ``{m:CODE}:log`` | list | the whole event log, JSON, index i holds seq i+1; never trimmed (load, resume) |
| ``{m:CODE}:feed`` | channel | the live feed: each durable batch, published once it reached a replica |
| ``{m:CODE}:owner`` | string | the owner lock: ``<epoch>:<worker>``, with a PX expiry (:data:`LOCK_TTL`), renewed |
| ``{m:CODE}:epoch`` | counter | INCR'd when a worker takes a lock it did not hold: the token's monotonic part |
| ``{m:CODE}:cmds`` | channel | commands forwarded by non-owners (pub/sub: not persisted, no fsync) |
| ``{m:CODE}:runs`` / ``{m:CODE}:analysis`` | hashes | published analyses: run -> metadata / payload |
| ``{m:CODE}:docs`` | hash | texts kept beside the log (the stenographer's transcript): name -> text |
| ``{w:WORKER}:replies`` | channel | answers to a worker's forwarded commands |
| ``facilitation:meetings`` | sorted set | every meeting code, scored by creation time |
| ``facilitation:health:{h<n>}`` | string | written by ``/readyz`` on every shard (10 s expiry): it takes writes |

Channels are sharded pub/sub (``SPUBLISH``/``SSUBSCRIBE``) on a cluster, so a meeting's channels live on
its shard and a publish's receiver count is exact; on one node, classic pub/sub does the same.

**One node or a cluster** is found out from the URL's node (``INFO cluster``), never configured: any node
of a cluster works as the URL.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any, TypeAlias, TypeVar
from urllib.parse import urlsplit, urlunsplit

import redis.asyncio as aioredis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ClusterDownError, TryAgainError
from redis.exceptions import ConnectionError as RedisConnectionError

__all__ = [
    "LOCK_TTL",
    "MEETINGS",
    "Client",
    "analysis",
    "commands",
    "connect",
    "documents",
    "epoch",
    "feed",
    "health",
    "is_cluster",
    "log",
    "node_of",
    "node_url",
    "owner",
    "refresh_slots",
    "replies",
    "retrying",
    "runs",
]

LOCK_TTL = 3.0
"""Seconds an owner lock lives without renewal: how long a meeting is without a writer after its owner
dies (plus one campaign period). Shorter means faster takeover but more renewals and more risk that a
briefly stalled owner is replaced. Here because the owner (:mod:`facilitation.live.ownership`) sets it and
the store's append takes an expired lock back for its last holder (:mod:`facilitation.storage.redis_store`)."""

Client: TypeAlias = "aioredis.Redis | RedisCluster"
"""What :func:`connect` returns: the commands this project uses are the same on both."""

T = TypeVar("T")

RETRY_DELAYS = (0.05, 0.2, 0.5)
"""Pauses before the retries of an operation that failed to connect: a pooled connection that Redis closed
(a restart) fails once, and the retry opens a fresh one."""

MEETINGS = "facilitation:meetings"


def log(code: str) -> str:
    return f"{{m:{code}}}:log"


def feed(code: str) -> str:
    return f"{{m:{code}}}:feed"


def owner(code: str) -> str:
    return f"{{m:{code}}}:owner"


def epoch(code: str) -> str:
    return f"{{m:{code}}}:epoch"


def commands(code: str) -> str:
    return f"{{m:{code}}}:cmds"


def runs(code: str) -> str:
    return f"{{m:{code}}}:runs"


def analysis(code: str) -> str:
    return f"{{m:{code}}}:analysis"


def documents(code: str) -> str:
    return f"{{m:{code}}}:docs"


def replies(worker: str) -> str:
    return f"{{w:{worker}}}:replies"


def health(tag: int) -> str:
    """The health probe's key with hash tag ``{h<tag>}``: the store picks one tag per shard."""
    return f"facilitation:health:{{h{tag}}}"


CONNECT_TIMEOUT = 2.0
"""Seconds to open a connection: Redis on the same LAN answers in milliseconds; a dead node is known fast."""
SOCKET_TIMEOUT = 15.0
"""Seconds a command may wait for its answer. Long on purpose: under CPU starvation Redis and this process
answer late, and a timeout there turned into refusals (868 of 9,344 votes refused, issue 26) where slower
acks were the right outcome; a node that is really gone closes the connection and fails at once."""

async def is_cluster(url: str) -> bool:
    """Whether the node at ``url`` is part of a Redis Cluster (``INFO cluster``). Asked at every connect
    (a few per process), never remembered: the same address may be another Redis later."""
    probe = aioredis.Redis.from_url(url, socket_connect_timeout=CONNECT_TIMEOUT, socket_timeout=CONNECT_TIMEOUT,
                                    retry=Retry(NoBackoff(), 0))
    try:
        info: dict[str, Any] = await probe.info("cluster")
    finally:
        await probe.aclose()
    return bool(info.get("cluster_enabled"))


async def connect(url: str, *, blocking: bool = False) -> Client:
    """A client for ``url``: a cluster client when its node is in a cluster, else a single-node client.
    Neither retries a command on its own beyond following the cluster's redirections: callers decide,
    because a blindly retried append could be applied twice. ``blocking`` clients have no socket timeout."""
    timeout = None if blocking else SOCKET_TIMEOUT
    if await is_cluster(url):
        client = RedisCluster.from_url(
            url, decode_responses=True, socket_connect_timeout=CONNECT_TIMEOUT, socket_timeout=timeout,
            retry=Retry(NoBackoff(), 1), require_full_coverage=False)
        await client.initialize()
        return client
    return aioredis.Redis.from_url(
        url,
        decode_responses=True,
        socket_connect_timeout=CONNECT_TIMEOUT,
        socket_timeout=timeout,
        health_check_interval=0 if blocking else 10,
        retry_on_timeout=False,
        retry=Retry(NoBackoff(), 0),
    )


SLOTS_REFRESH_EVERY = 0.2
"""Seconds between two reads of a cluster's slot map by one client after failures."""
_REFRESHED: dict[int, float] = {}


async def refresh_slots(client: Client) -> None:
    """After a failed command on a cluster: read the slot map again (rate-limited), so the next command goes
    to the replica a failover promoted instead of waiting for the client to notice on its own."""
    if not isinstance(client, RedisCluster):
        return
    now = asyncio.get_running_loop().time()
    if now - _REFRESHED.get(id(client), -1.0) < SLOTS_REFRESH_EVERY:
        return
    _REFRESHED[id(client)] = now
    with contextlib.suppress(Exception):
        await client.nodes_manager.initialize()


def node_of(client: RedisCluster, key: str) -> ClusterNode:
    """The master serving ``key``'s slot now; RedisError while no node does (a failover under way)."""
    node = client.get_node_from_key(key)
    if node is None:
        raise ClusterDownError(f"no node serves the slot of {key} now")
    return node


def node_url(url: str, host: str, port: int | str) -> str:
    """``url`` (its scheme, credentials and options) pointed at one node of a cluster."""
    parts = urlsplit(url)
    auth = parts.netloc.rpartition("@")[0]
    return urlunsplit((parts.scheme, f"{auth}@{host}:{port}" if auth else f"{host}:{port}", "/0", parts.query, ""))


RETRYABLE: tuple[type[BaseException], ...] = (RedisConnectionError, OSError, ClusterDownError, TryAgainError)
"""Errors after which the same command may succeed: a closed pooled connection, a node restarting, a
cluster electing a new master for a shard."""


async def retrying(operation: Callable[[], Awaitable[T]]) -> T:
    """Run ``operation``, retrying on connection errors. Only for operations safe to repeat: reads, and the
    create and append scripts (an existing log or the seq check refuses a second copy, so a retried write
    lands once or fails loudly)."""
    for delay in RETRY_DELAYS:
        try:
            return await operation()
        except RETRYABLE:
            await asyncio.sleep(delay)
    return await operation()

