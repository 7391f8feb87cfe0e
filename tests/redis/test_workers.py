"""Several server processes serve one meeting through a real Redis: order, resume, crashes, restarts."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from typing import Any

import pytest

from facilitation.storage.redis_store import RedisStore
from facilitation.tools.client import MeetingClient
from tests.redis.support import Phone, create_meeting, open_voting, votes_in, worker
from tests.support.servers import RedisServer, ServerProcess, scaled

pytestmark = pytest.mark.redis


class Screen:
    """A projector that records every event seq it is sent, to check order and gaps."""

    def __init__(self, base: str, code: str) -> None:
        self.client = MeetingClient(base, code, "projector")
        self.seqs: list[int] = []
        self.votes: list[tuple[int, int, str]] = []
        self.start = 0
        self.changed = asyncio.Event()

    def _on(self, message: dict[str, Any]) -> None:
        if message.get("type") == "snapshot" and not self.seqs:
            self.start = int(message["seq"])
        if message.get("type") == "resumed" and not self.seqs:
            self.start = int(message["since"])
        for event in message.get("events", []) if message.get("type") == "batch" else []:
            self.seqs.append(int(event["seq"]))
            if event["type"] == "vote":
                self.votes.append((event["participant"], event["statement"], event["value"]))
        self.changed.set()

    async def connect(self, since: int | None = None) -> None:
        self.client.on_message = self._on
        await self.client.connect(since=since)

    async def until_seq(self, seq: int) -> None:
        async with asyncio.timeout(scaled(15)):
            while not self.seqs or self.seqs[-1] < seq:
                self.changed.clear()
                await self.changed.wait()


async def _until_acked(phones: list[Phone], count: int) -> None:
    """Wait until the phones together have ``count`` acknowledged votes: the failure then hits mid-meeting."""
    async with asyncio.timeout(scaled(20)):
        while sum(len(p.acked) for p in phones) < count:
            await asyncio.sleep(0.01)


async def _log(redis: RedisServer, code: str) -> list[Any]:
    store = RedisStore(redis.url)
    await store.start()
    try:
        return await store.load(code) or []
    finally:
        await store.close()


@pytest.mark.asyncio
async def test_votes_on_one_worker_reach_the_projector_on_the_other_in_order(
        pair: tuple[ServerProcess, ServerProcess]) -> None:
    """Phones split over two workers vote; a projector on one sees every vote, in seq order, no gaps."""
    a, b = pair
    meeting = create_meeting(a.url, 5)
    await open_voting(a.url, meeting)
    screen = Screen(b.url, meeting["code"])
    await screen.connect()
    phones = [Phone([a.url, b.url], meeting["code"], i) for i in range(8)]
    await asyncio.gather(*(p.connect() for p in phones))
    deadline = asyncio.get_running_loop().time() + scaled(20)
    for statement in range(5):
        await asyncio.gather(*(p.vote(statement, deadline) for p in phones))
    acked = {(p.participant, s, v) for p in phones for s, v in p.acked.items()}
    assert len(acked) == 40
    last = max(p.seen for p in phones)
    await screen.until_seq(last)
    assert screen.seqs == list(range(screen.start + 1, screen.seqs[-1] + 1))
    assert set(screen.votes) == acked
    await asyncio.gather(*(p.close() for p in phones), screen.client.close())


@pytest.mark.asyncio
async def test_screen_moved_to_the_other_worker_resumes_with_no_gap(
        pair: tuple[ServerProcess, ServerProcess]) -> None:
    """A projector that reconnects to the other worker with ``since`` gets exactly the events it missed."""
    a, b = pair
    meeting = create_meeting(a.url, 6)
    await open_voting(b.url, meeting)
    first = Screen(a.url, meeting["code"])
    await first.connect()
    phones = [Phone([b.url], meeting["code"], i) for i in range(4)]
    await asyncio.gather(*(p.connect() for p in phones))
    deadline = asyncio.get_running_loop().time() + scaled(20)
    await asyncio.gather(*(p.vote(0, deadline) for p in phones))
    seen = max(p.seen for p in phones)
    await first.until_seq(seen)
    await first.client.close()
    for statement in (1, 2):  # missed while away
        await asyncio.gather(*(p.vote(statement, deadline) for p in phones))
    moved = Screen(b.url, meeting["code"])
    await moved.connect(since=first.seqs[-1])
    for statement in (3, 4):
        await asyncio.gather(*(p.vote(statement, deadline) for p in phones))
    final = max(p.seen for p in phones)
    await moved.until_seq(final)
    assert moved.start == first.seqs[-1] and moved.seqs == list(range(first.seqs[-1] + 1, final + 1))
    assert len(first.votes) + len(moved.votes) == 20
    await asyncio.gather(*(p.close() for p in phones), moved.client.close())


@pytest.mark.asyncio
@pytest.mark.slow
async def test_kill_9_of_the_owner_loses_no_acknowledged_vote(
        redis: RedisServer, pair: tuple[ServerProcess, ServerProcess]) -> None:
    """The meeting's owner dies mid-meeting: the other worker takes over and every acked vote is in the log."""
    a, b = pair  # a creates the meeting, so a owns it
    meeting = create_meeting(a.url, 12)
    await open_voting(a.url, meeting)
    phones = [Phone([a.url, b.url], meeting["code"], i) for i in range(10)]
    await asyncio.gather(*(p.connect() for p in phones))
    deadline = asyncio.get_running_loop().time() + scaled(45)

    async def vote_all(phone: Phone) -> None:
        for statement in range(12):
            await phone.vote(statement, deadline)
            await asyncio.sleep(0.05)

    voting = asyncio.gather(*(vote_all(p) for p in phones))
    await _until_acked(phones, 20)
    a.kill()
    await voting
    log = votes_in(await _log(redis, meeting["code"]))
    for phone in phones:
        assert phone.participant is not None
        for statement, value in phone.acked.items():
            assert log.get((phone.participant, statement)) == value
    assert sum(len(p.acked) for p in phones) == 120
    assert sum(p.retries for p in phones) > 0  # the crash really interrupted someone
    await asyncio.gather(*(p.close() for p in phones))


@pytest.mark.asyncio
@pytest.mark.slow
async def test_redis_restart_mid_meeting_loses_nothing_acknowledged(
        redis: RedisServer, pair: tuple[ServerProcess, ServerProcess]) -> None:
    """Redis is killed and restarted (AOF, same dir and port) mid-meeting: voting continues, no acked loss."""
    a, b = pair
    meeting = create_meeting(a.url, 12)
    await open_voting(a.url, meeting)
    phones = [Phone([a.url, b.url], meeting["code"], i) for i in range(10)]
    await asyncio.gather(*(p.connect() for p in phones))
    deadline = asyncio.get_running_loop().time() + scaled(45)

    async def vote_all(phone: Phone) -> None:
        for statement in range(12):
            await phone.vote(statement, deadline)
            await asyncio.sleep(0.05)

    voting = asyncio.gather(*(vote_all(p) for p in phones))
    await _until_acked(phones, 20)
    redis.kill()
    await asyncio.sleep(1.0)
    redis.start()
    await voting
    log = votes_in(await _log(redis, meeting["code"]))
    for phone in phones:
        assert phone.participant is not None
        for statement, value in phone.acked.items():
            assert log.get((phone.participant, statement)) == value
    assert sum(len(p.acked) for p in phones) == 120
    events = await _log(redis, meeting["code"])
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    async with asyncio.timeout(scaled(10)):  # both workers report healthy again
        import urllib.request

        for server in (a, b):
            while True:
                try:
                    with urllib.request.urlopen(server.url + "/healthz", timeout=2) as response:
                        if response.status == 200:
                            break
                except OSError:
                    pass
                await asyncio.sleep(0.2)
    await asyncio.gather(*(p.close() for p in phones))


def test_more_than_one_worker_without_redis_is_refused() -> None:
    """`serve --workers 2` without --redis exits with status 2 and says that Redis is needed."""
    result = subprocess.run([sys.executable, "-m", "facilitation.tools.cli", "serve", "--workers", "2",
                             "--store", "sqlite:///:memory:"], capture_output=True, text=True, timeout=scaled(30),
                            env={"PATH": "/usr/bin:/bin"})
    assert result.returncode == 2
    assert "--redis" in result.stderr


@pytest.mark.asyncio
@pytest.mark.slow
async def test_serve_with_two_uvicorn_workers_through_redis(redis: RedisServer) -> None:
    """`serve --workers 2 --redis URL` runs two processes behind one port that serve one meeting together."""
    server = ServerProcess(redis.url, redis=redis.url, env={"FACILITATION_ANALYSIS": "0"},
                           extra=["--workers", "2"]).start(timeout=40)
    try:
        meeting = create_meeting(server.url, 3)
        await open_voting(server.url, meeting)
        screen = Screen(server.url, meeting["code"])
        await screen.connect()
        phones = [Phone([server.url], meeting["code"], i) for i in range(12)]
        await asyncio.gather(*(p.connect() for p in phones))
        deadline = asyncio.get_running_loop().time() + scaled(20)
        for statement in range(3):
            await asyncio.gather(*(p.vote(statement, deadline) for p in phones))
        last = max(p.seen for p in phones)
        await screen.until_seq(last)
        assert len(screen.votes) == 36
        await asyncio.gather(*(p.close() for p in phones), screen.client.close())
    finally:
        server.stop()


@pytest.mark.asyncio
async def test_one_analysis_leader_and_every_worker_shows_its_map(redis: RedisServer) -> None:
    """With analysis on, only the meeting's owner analyses; projectors on both workers get the same runs."""
    a = worker(redis, FACILITATION_ANALYSIS="1").start()
    b = worker(redis, FACILITATION_ANALYSIS="1").start()
    try:
        meeting = create_meeting(a.url, 8)
        await open_voting(a.url, meeting)
        screens = [MeetingClient(url, meeting["code"], "projector") for url in (a.url, b.url)]
        for screen in screens:
            await screen.connect()
        phones = [Phone([a.url, b.url], meeting["code"], i) for i in range(16)]
        await asyncio.gather(*(p.connect() for p in phones))
        deadline = asyncio.get_running_loop().time() + scaled(30)
        for statement in range(8):
            await asyncio.gather(*(p.vote(statement, deadline) for p in phones))
        maps = [await s.next_message("analysis", timeout=scaled(30), where=lambda m: m["counts"]["votes"] >= 128)
                for s in screens]
        assert maps[0]["run"] == maps[1]["run"]
        assert maps[0]["groups"] == maps[1]["groups"]
        runs = [int(e["run"]) for e in await _runs(a.url, meeting["code"])]
        assert runs == list(range(1, len(runs) + 1)), "one leader: run numbers have no duplicates or gaps"
        await asyncio.gather(*(p.close() for p in phones), *(s.close() for s in screens))
    finally:
        a.stop()
        b.stop()


async def _runs(base: str, code: str) -> list[Any]:
    import json
    import urllib.request

    def fetch() -> list[Any]:
        with urllib.request.urlopen(f"{base}/api/meetings/{code}/analysis/runs", timeout=scaled(10)) as response:
            body = json.loads(response.read())
        return list(body["runs"] if isinstance(body, dict) else body)

    return await asyncio.to_thread(fetch)
