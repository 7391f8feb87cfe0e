"""A starved Redis client degrades into slower acks, not refusals (issue 26).

Starvation is made real and repeatable: redis-server (or the owner worker) is frozen with SIGSTOP for a few
hundred milliseconds at a time, again and again, while phones on two workers vote (one worker owns the
meeting, the other forwards). A frozen process is what a starved one looks like from outside, only more so:
it answers nothing, its connections stay open. Every pause is far shorter than the configured timeouts
(``SOCKET_TIMEOUT`` 15 s, the forwarding deadline 20 s, the owner lock's 3 s), so every vote must be
acknowledged — later, never refused — and each must be in the log exactly once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import urllib.request
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from facilitation.storage import redis_keys
from facilitation.storage.redis_store import RedisStore
from facilitation.tools.client import MeetingClient, ServerError
from tests.redis.support import VALUES, create_meeting, open_voting, worker
from tests.support.servers import RedisServer, ServerProcess, scaled

pytestmark = [pytest.mark.redis, pytest.mark.slow]

PAUSE = 0.6
"""Seconds each freeze lasts: many event-loop turns and many group commits, far under every timeout."""
RUN = 0.3
"""Seconds the frozen process runs between two freezes."""
STATEMENTS = 30
PHONES = 8
GAP = 0.1
"""Seconds a phone waits after an ack before its next vote: the voting spans several freezes."""


class StrictPhone:
    """Votes once on each statement, one after the other, and records every refusal it gets. It resends a
    refused vote with the same op (as the phone page does), so the log can still be checked for doubles."""

    def __init__(self, url: str, code: str, index: int) -> None:
        self.client = MeetingClient(url, code)
        self.index = index
        self.participant = 0
        self.acked: dict[int, str] = {}
        self.refusals: Counter[str] = Counter()
        self.waits: list[float] = []

    async def run(self, statements: int, deadline: float) -> None:
        welcome = await self.client.connect(timeout=scaled(20))
        self.participant = int(welcome["participant"])
        loop = asyncio.get_running_loop()
        for statement in range(statements):
            value = VALUES[(self.index + statement) % len(VALUES)]
            op = f"s{self.index}-{statement}"
            sent = loop.time()
            while True:
                try:
                    await self.client.command("vote", timeout=scaled(30), op=op, statement=statement, value=value)
                    break
                except ServerError as exc:
                    self.refusals[exc.code] += 1
                    if loop.time() > deadline:
                        raise
                    await asyncio.sleep(0.1)
            self.waits.append(loop.time() - sent)
            self.acked[statement] = value
            await asyncio.sleep(GAP)


async def _freeze_repeatedly(pid: int, stop: asyncio.Event, count: list[int]) -> None:
    """SIGSTOP ``pid`` for :data:`PAUSE` s, SIGCONT, let it run :data:`RUN` s; until ``stop``."""
    try:
        while not stop.is_set():
            os.kill(pid, signal.SIGSTOP)
            count[0] += 1
            await asyncio.sleep(PAUSE)
            os.kill(pid, signal.SIGCONT)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), RUN)
    finally:
        os.kill(pid, signal.SIGCONT)


async def _log(redis: RedisServer, code: str) -> list[Any]:
    store = RedisStore(redis.url)
    await store.start()
    try:
        return await store.load(code) or []
    finally:
        await store.close()


def _worker_id(server: ServerProcess) -> str:
    """The id a worker puts in owner locks (its /readyz says it)."""
    with urllib.request.urlopen(server.url + "/readyz", timeout=scaled(10)) as response:
        return str(json.loads(response.read())["worker"])


async def _owner_token(redis: RedisServer, code: str) -> str:
    client = await redis_keys.connect(redis.url)
    try:
        async with asyncio.timeout(scaled(15)):
            while True:
                token = await client.get(redis_keys.owner(code))
                if token:
                    return str(token)
                await asyncio.sleep(0.05)
    finally:
        await client.aclose()


async def _vote_while_frozen(redis: RedisServer, pair: tuple[ServerProcess, ServerProcess], frozen: str
                             ) -> tuple[list[StrictPhone], list[Any], int]:
    a, b = pair
    meeting = create_meeting(a.url, STATEMENTS)
    await open_voting(a.url, meeting)
    code = meeting["code"]
    token = await _owner_token(redis, code)
    if frozen == "redis":
        assert redis.proc is not None
        pid = redis.proc.pid
    else:  # the owner worker: its Redis client (and everything else in it) starves
        owners = [s for s in (a, b) if _worker_id(s) == token.split(":", 1)[1]]
        assert owners, f"no worker of the pair holds the lock {token!r}"
        assert owners[0].proc is not None
        pid = owners[0].proc.pid
    phones = [StrictPhone((a.url, b.url)[i % 2], code, i) for i in range(PHONES)]
    stop = asyncio.Event()
    freezes = [0]
    freezer = asyncio.get_running_loop().create_task(_freeze_repeatedly(pid, stop, freezes))
    deadline = asyncio.get_running_loop().time() + scaled(90)
    try:
        await asyncio.gather(*(p.run(STATEMENTS, deadline) for p in phones))
    finally:
        stop.set()
        await freezer
        await asyncio.gather(*(p.client.close() for p in phones), return_exceptions=True)
    return phones, await _log(redis, code), freezes[0]


def _check(phones: list[StrictPhone], events: list[Any], freezes: int) -> None:
    refusals = sum((p.refusals for p in phones), Counter[str]())
    assert freezes >= 3, f"the voting outran the freezes ({freezes}): nothing was starved"
    assert not refusals, f"starvation turned into refusals: {dict(refusals)}"
    assert all(len(p.acked) == STATEMENTS for p in phones)
    votes = Counter((e.participant, e.statement) for e in events if getattr(e, "type", "") == "vote")
    values = {(e.participant, e.statement): e.value for e in events if getattr(e, "type", "") == "vote"}
    for phone in phones:
        for statement, value in phone.acked.items():
            assert values.get((phone.participant, statement)) == value, "an acknowledged vote is not in the log"
    assert set(votes.values()) == {1}, "a vote was applied twice"
    assert len(votes) == PHONES * STATEMENTS
    # Slower, and visibly so: some ack waited out at least part of a freeze.
    assert max(w for p in phones for w in p.waits) > PAUSE / 3


@pytest.mark.asyncio
async def test_redis_frozen_again_and_again_slows_acks_and_refuses_none(
        redis: RedisServer, pair: tuple[ServerProcess, ServerProcess]) -> None:
    _check(*await _vote_while_frozen(redis, pair, "redis"))


@pytest.mark.asyncio
async def test_the_owner_worker_frozen_again_and_again_slows_acks_and_refuses_none(
        redis: RedisServer, pair: tuple[ServerProcess, ServerProcess]) -> None:
    _check(*await _vote_while_frozen(redis, pair, "owner"))


LONG_PAUSE = 4.5
"""Seconds of one freeze longer than the owner lock's ttl (3 s): the lock expires while nobody else wants it."""


@pytest.fixture
def single(redis: RedisServer) -> Iterator[ServerProcess]:
    server = worker(redis).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.asyncio
async def test_a_lone_owner_frozen_past_its_lock_resumes_without_refusals(
        redis: RedisServer, single: ServerProcess) -> None:
    """The only worker of a meeting, frozen for longer than its owner lock lives, finds the lock expired but
    nobody else's: it takes it back and its votes in flight are acknowledged late, not refused."""
    meeting = create_meeting(single.url, STATEMENTS)
    await open_voting(single.url, meeting)
    code = meeting["code"]
    await _owner_token(redis, code)
    assert single.proc is not None
    pid = single.proc.pid
    phones = [StrictPhone(single.url, code, i) for i in range(PHONES)]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + scaled(90)

    async def freeze_once() -> None:
        await asyncio.sleep(1.0)  # the phones are voting
        os.kill(pid, signal.SIGSTOP)
        try:
            await asyncio.sleep(LONG_PAUSE)
        finally:
            os.kill(pid, signal.SIGCONT)

    try:
        await asyncio.gather(freeze_once(), *(p.run(STATEMENTS, deadline) for p in phones))
    finally:
        await asyncio.gather(*(p.client.close() for p in phones), return_exceptions=True)
    events = await _log(redis, code)
    refusals = sum((p.refusals for p in phones), Counter[str]())
    assert max(w for p in phones for w in p.waits) > LONG_PAUSE / 2, "no vote waited out the freeze"
    assert not refusals, f"a freeze past the lock's ttl turned into refusals: {dict(refusals)}"
    votes = Counter((e.participant, e.statement) for e in events if getattr(e, "type", "") == "vote")
    assert set(votes.values()) == {1}, "a vote was applied twice"
    assert len(votes) == PHONES * STATEMENTS
