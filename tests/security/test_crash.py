"""Crashes: kill -9 the server (or Redis) while 200 phones vote; every acknowledged vote survives and the
phones resume by reconnecting with their token and resending unacknowledged votes with the same op.

The Redis engineer's tests/redis/ covers failover between workers with 10 phones; this is the 200-phone
variant on one worker, for SQLite and for Redis.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import websockets

from facilitation.core.events import VoteCast
from facilitation.storage.redis_store import RedisStore
from facilitation.tools.client import MeetingClient, ServerError
from tests.redis.support import redis_or_skip
from tests.security.wire import http_json, new_meeting, server_env
from tests.support.servers import RedisServer, ServerProcess, scaled

PHONES = 200
STATEMENTS = 15
VALUES = ("agree", "disagree", "pass", "acceptable")
RETRYABLE = ("store_unavailable", "internal", "unavailable", "rate_limited")


class CrashPhone:
    """Votes once on each statement; on any failure reconnects with its token and resends the same op."""

    def __init__(self, server: ServerProcess, code: str, index: int) -> None:
        self.client = MeetingClient(server.url, code)
        self.index = index
        self.acked: dict[int, str] = {}
        self.acks: list[tuple[float, str, int, bool]] = []
        """(monotonic time, op, seq, duplicate) of every ack: the seqs must be durable, never reused."""
        self.retries = 0
        self.connected = False

    async def connect(self, deadline: float) -> None:
        loop = asyncio.get_running_loop()
        while not self.connected:
            try:
                await self.client.connect(timeout=scaled(10))
                self.client.on_message = lambda message: None
                self.connected = True
            except (OSError, TimeoutError, websockets.WebSocketException, ServerError):
                if loop.time() > deadline:
                    raise
                await asyncio.sleep(0.2)

    async def vote(self, statement: int, deadline: float) -> None:
        value = VALUES[(self.index + statement) % len(VALUES)]
        op = f"crash-{self.index}-{statement}"
        loop = asyncio.get_running_loop()
        while loop.time() < deadline:
            await self.connect(deadline)
            try:
                ack = await self.client.vote(statement, value, op=op)
                self.acked[statement] = value
                self.acks.append((time.monotonic(), op, int(ack["seq"]), bool(ack.get("duplicate"))))
                return
            except ServerError as exc:
                if exc.code not in RETRYABLE:
                    raise
            except (ConnectionError, TimeoutError, websockets.ConnectionClosed):
                self.connected = False
                with contextlib.suppress(Exception):
                    await self.client.close()
            self.retries += 1
            await asyncio.sleep(0.2)
        raise TimeoutError(f"phone {self.index} could not vote on {statement}")

    async def votes_after_restart(self) -> dict[str, str]:
        """A fresh connection with the same token: the snapshot's ``you.votes``."""
        with contextlib.suppress(Exception):
            await self.client.close()
        fresh = MeetingClient(self.client.url.split("/ws/")[0].replace("ws://", "http://"), self.client.code,
                              token=self.client.token)
        welcome = await fresh.connect(timeout=scaled(20))
        assert welcome["participant"] == self.client.participant, "the token must bring back the same participant"
        snapshot = await fresh.next_message("snapshot", timeout=scaled(20))
        await fresh.close()
        return dict(snapshot["you"]["votes"])


async def vote_through_a_crash(server: ServerProcess, crash: Any,
                               phones_out: list[CrashPhone] | None = None) -> dict[str, Any]:
    """200 phones vote on every statement while ``crash()`` runs; returns figures, asserts nothing is lost.
    ``phones_out`` receives the phones (for checks on their acks)."""
    meeting = new_meeting(server, seeds=[f"崩潰測試陳述 {i}" for i in range(STATEMENTS)])
    code = meeting["code"]
    host = MeetingClient(server.url, code, "host", host_key=meeting["host_key"])
    await host.connect()
    await host.command("phase", phase="collecting")
    await host.close()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + scaled(120)
    phones = [CrashPhone(server, code, i) for i in range(PHONES)]
    if phones_out is not None:
        phones_out.extend(phones)
    for start in range(0, PHONES, 25):
        await asyncio.gather(*(p.connect(deadline) for p in phones[start:start + 25]))

    async def vote_all(phone: CrashPhone) -> None:
        for statement in range(STATEMENTS):
            await phone.vote(statement, deadline)
            await asyncio.sleep(0.05)

    voting = asyncio.gather(*(vote_all(p) for p in phones))
    # Crash once a third of the votes are in, whatever the machine's speed (a fixed one-second wait let a
    # quiet machine finish every vote before the crash, and then nothing was tested)
    while (acked_before := sum(len(p.acked) for p in phones)) < PHONES * STATEMENTS // 3:
        assert loop.time() < deadline and not voting.done(), f"only {acked_before} votes acknowledged"
        await asyncio.sleep(0.005)
    await crash()
    await voting
    lost = 0
    for start in range(0, PHONES, 25):
        batch = phones[start:start + 25]
        for phone, votes in zip(batch, await asyncio.gather(*(p.votes_after_restart() for p in batch)), strict=True):
            lost += sum(1 for s, v in phone.acked.items() if votes.get(str(s)) != v)
    host = MeetingClient(server.url, code, "host", host_key=meeting["host_key"])
    await host.connect()
    snapshot = await host.next_message("snapshot", timeout=scaled(20))
    await host.close()
    tallied = sum(sum(s["tally"].values()) for s in snapshot["all_statements"])
    figures = {"code": code, "phones": PHONES, "acked_before_crash": acked_before,
               "acked": sum(len(p.acked) for p in phones), "retries": sum(p.retries for p in phones),
               "lost": lost, "tallied": tallied}
    print("\n", figures)
    assert lost == 0, figures
    assert figures["acked"] == PHONES * STATEMENTS and tallied == PHONES * STATEMENTS, figures
    assert snapshot["meeting"]["counters"]["votes"] == PHONES * STATEMENTS
    assert 0 < acked_before < PHONES * STATEMENTS and figures["retries"] > 0, "the crash must interrupt the voting"
    return figures


@pytest.fixture
def sqlite_server(tmp_path: Path) -> Iterator[ServerProcess]:
    proc = ServerProcess(f"sqlite:///{tmp_path / 'crash.db'}", env=server_env()).start()
    try:
        yield proc
    finally:
        proc.stop()


@pytest.mark.slow
@pytest.mark.asyncio
async def test_kill_9_while_200_phones_vote_loses_no_acknowledged_vote(sqlite_server: ServerProcess) -> None:
    """SIGKILL of the SQLite server mid-vote: after restart all acked votes are there and every phone resumes."""
    async def crash() -> None:
        sqlite_server.kill()
        await asyncio.sleep(0.5)
        sqlite_server.start()

    await vote_through_a_crash(sqlite_server, crash)
    assert http_json("GET", sqlite_server.url + "/healthz")[0] == 200


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    redis = redis_or_skip()
    try:
        yield redis
    finally:
        redis.stop()


@pytest.mark.slow
@pytest.mark.redis
@pytest.mark.asyncio
async def test_redis_and_server_kill_9_while_200_phones_vote_loses_nothing(redis_server: RedisServer) -> None:
    """Redis backend: Redis, then the server, is killed and restarted while 200 phones vote; nothing acked
    lost, and every ack's seq was durable when sent and never reused by another event."""
    server = ServerProcess(redis_server.url, redis=redis_server.url, env=server_env()).start()
    try:
        recovered: dict[str, float] = {}

        async def crash() -> None:
            redis_server.kill()
            await asyncio.sleep(1.0)
            redis_server.start()
            recovered["at"] = time.monotonic()
            recovered["seq"] = await _durable_seq(redis_server, phones[0].client.code)
            await asyncio.sleep(1.0)
            server.kill()
            await asyncio.sleep(0.5)
            server.start()

        phones: list[CrashPhone] = []
        figures = await vote_through_a_crash(server, crash, phones)
        await _assert_acks_durable(redis_server, figures["code"], phones, recovered)
    finally:
        server.stop()


async def _durable_seq(redis_server: RedisServer, code: str) -> int:
    store = RedisStore(redis_server.url)
    await store.start()
    try:
        return await store.last_seq(code)
    finally:
        await store.close()


async def _assert_acks_durable(redis_server: RedisServer, code: str, phones: list[CrashPhone],
                               recovered: dict[str, float]) -> None:
    """Every ack names a durable seq: acks sent before Redis came back name a seq <= the log's end as
    recovered from its AOF; every first ack's seq holds exactly that phone's vote (same op) in the final
    log, so no acknowledged seq was reused by another event; a repeat's seq is at or after its vote."""
    store = RedisStore(redis_server.url)
    await store.start()
    try:
        log = await store.load(code) or []
    finally:
        await store.close()
    by_op = {e.op: e.seq for e in log if isinstance(e, VoteCast)}
    before = [(op, seq) for phone in phones for at, op, seq, _ in phone.acks if at < recovered["at"]]
    beyond = [(op, seq) for op, seq in before if seq > recovered["seq"]]
    assert not beyond, f"{len(beyond)} acks named seqs beyond the recovered log (at {recovered['seq']}): {beyond[:5]}"
    reused, late = [], []
    for phone in phones:
        for _, op, seq, duplicate in phone.acks:
            if not duplicate and by_op.get(op) != seq:
                reused.append((op, seq, by_op.get(op)))
            if duplicate and not by_op.get(op, seq + 1) <= seq:
                late.append((op, seq, by_op.get(op)))
    print(f" acks before recovery: {len(before)}, recovered log end: {recovered['seq']}, final log: {len(log)}")
    assert not reused, f"{len(reused)} acked seqs hold another event in the log: {reused[:5]}"
    assert not late, f"{len(late)} repeat acks name a seq before their vote: {late[:5]}"
