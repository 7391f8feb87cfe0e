"""Where everything lives in Redis, and how this project connects to it.

Every key of a meeting carries the hash tag ``{m:CODE}``, so a Redis Cluster keeps one meeting's keys on
one node (Lua scripts that touch several of them stay legal) while different meetings spread over the
nodes. The only global key is the meeting index, read by ``meeting_codes()`` (listing, not the hot path).

| key | type | what |
|---|---|---|
| ``{m:CODE}:log`` | list | the whole event log, JSON, index i holds seq i+1; never trimmed (load, resume) |
| ``{m:CODE}:events`` | stream | the live feed every worker XREADs; entry id ``<seq>-0``; capped (MAXLEN ~) |
| ``{m:CODE}:owner`` | string | the owner lock: ``<epoch>:<worker>``, with a PX expiry, renewed |
| ``{m:CODE}:epoch`` | counter | INCR'd at each new owner: the fencing token's monotonic part |
| ``{m:CODE}:cmds`` | channel | commands forwarded by non-owners (pub/sub: not persisted, no fsync) |
| ``{m:CODE}:runs`` / ``{m:CODE}:analysis`` | hashes | published analyses: run -> metadata / payload |
| ``{w:WORKER}:replies`` | channel | answers to a worker's forwarded commands |
| ``facilitation:meetings`` | sorted set | every meeting code, scored by creation time |
| ``facilitation:health`` | string | written by ``/healthz`` (10 s expiry): proof that Redis takes writes |
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

__all__ = [
    "HEALTH",
    "MEETINGS",
    "STREAM_MAXLEN",
    "analysis",
    "commands",
    "connect",
    "epoch",
    "events",
    "log",
    "owner",
    "replies",
    "retrying",
    "runs",
]

T = TypeVar("T")

RETRY_DELAYS = (0.05, 0.2, 0.5)
"""Pauses before the retries of an operation that failed to connect: a pooled connection that Redis closed
(a restart) fails once, and the retry opens a fresh one."""

MEETINGS = "facilitation:meetings"
HEALTH = "facilitation:health"
STREAM_MAXLEN = 10_000
"""Entries kept (approximately) in a meeting's live stream: a worker that falls further behind than this
backfills from the log list instead. ~10,000 x ~250 bytes = ~2.5 MB per meeting."""


def log(code: str) -> str:
    return f"{{m:{code}}}:log"


def events(code: str) -> str:
    return f"{{m:{code}}}:events"


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


def replies(worker: str) -> str:
    return f"{{w:{worker}}}:replies"


def connect(url: str, *, blocking: bool = False) -> aioredis.Redis:
    """A client that never retries on its own: callers decide, because a blindly retried append could be
    applied twice. ``blocking`` clients serve BLPOP/XREAD and have no socket timeout."""
    return aioredis.Redis.from_url(
        url,
        decode_responses=True,
        socket_connect_timeout=2.0,
        socket_timeout=None if blocking else 5.0,
        health_check_interval=0 if blocking else 10,
        retry_on_timeout=False,
        retry=Retry(NoBackoff(), 0),
    )


async def retrying(operation: Callable[[], Awaitable[T]]) -> T:
    """Run ``operation``, retrying on connection errors. Only for operations safe to repeat: reads, the
    publish script (it skips entries the stream has) and the append script (its seq check refuses a second
    copy, so a retried append lands once or fails loudly)."""
    for delay in RETRY_DELAYS:
        try:
            return await operation()
        except (RedisConnectionError, OSError):
            await asyncio.sleep(delay)
    return await operation()
