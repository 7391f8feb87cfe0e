"""Helpers for the multi-worker tests: a Redis per test, servers sharing it, phones that survive failover."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import urllib.request
from collections import Counter
from typing import Any

import pytest
import websockets

from facilitation.tools.client import MeetingClient, ServerError
from tests.support.servers import RedisServer, ServerProcess, scaled

VALUES = ("agree", "disagree", "pass", "acceptable")
RETRYABLE = ("store_unavailable", "internal", "unavailable")


def redis_or_skip() -> RedisServer:
    """A private redis-server; a missing binary fails under CI=true and skips elsewhere."""
    if shutil.which("redis-server") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("redis-server is not installed and CI=true")
        pytest.skip("redis-server is not installed")
    return RedisServer().start()


def worker(redis: RedisServer, **env: str) -> ServerProcess:
    """A server process whose store and bus are ``redis`` (analysis off: these tests are about the log)."""
    return ServerProcess(redis.url, redis=redis.url, env={"FACILITATION_ANALYSIS": "0", **env})


def create_meeting(base: str, statements: int) -> dict[str, Any]:
    body = {"title": "scale-out", "seeds": [f"statement {i}" for i in range(statements)]}
    request = urllib.request.Request(base + "/api/meetings", data=json.dumps(body).encode(),
                                     headers={"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=scaled(10)) as response:
        created: dict[str, Any] = json.loads(response.read())
    return created


async def open_voting(base: str, meeting: dict[str, Any]) -> None:
    host = MeetingClient(base, meeting["code"], "host", host_key=meeting["host_key"])
    await host.connect()
    await host.command("phase", phase="collecting")
    await host.close()


class Phone:
    """A participant that votes once on each statement and, when its server fails, reconnects (to the next
    URL in turn) and resends the unacknowledged vote with the same op id, as the real phone page does."""

    def __init__(self, urls: list[str], code: str, index: int) -> None:
        self.urls = urls
        self.code = code
        self.index = index
        self.turn = index
        self.client: MeetingClient | None = None
        self.token: str | None = None
        self.participant: int | None = None
        self.acked: dict[int, str] = {}
        self.acked_seq = 0
        """The highest seq an ack named: durable, and not echoed back to this phone as an event."""
        self.retries = 0
        self.refusals: Counter[str] = Counter()
        """The error codes the server answered this phone's votes with (each was resent)."""

    async def connect(self) -> None:
        url = self.urls[self.turn % len(self.urls)]
        self.client = MeetingClient(url, self.code, token=self.token)
        welcome = await self.client.connect(timeout=scaled(5))
        self.token = welcome["token"]
        self.participant = int(welcome["participant"])

    async def _reconnect(self, deadline: float) -> None:
        loop = asyncio.get_running_loop()
        while True:
            if self.client is not None:
                await self.client.close()
            self.turn += 1
            try:
                await self.connect()
                return
            except (OSError, ServerError, TimeoutError, websockets.WebSocketException):
                if loop.time() > deadline:
                    raise
                await asyncio.sleep(0.2)

    async def vote(self, statement: int, deadline: float) -> None:
        value = VALUES[(self.index + statement) % len(VALUES)]
        op = f"p{self.index}-s{statement}"
        loop = asyncio.get_running_loop()
        while True:
            try:
                assert self.client is not None
                ack = await self.client.vote(statement, value, op=op)
                self.acked[statement] = value
                self.acked_seq = max(self.acked_seq, int(ack["seq"]))
                return
            except ServerError as exc:
                if exc.code not in RETRYABLE or loop.time() > deadline:
                    raise
                self.refusals[exc.code] += 1
            except (ConnectionError, TimeoutError, OSError, websockets.WebSocketException):
                if loop.time() > deadline:
                    raise
            self.retries += 1
            await asyncio.sleep(0.1)
            if self.client is None or self.client.closed.is_set():
                await self._reconnect(deadline)

    @property
    def seen(self) -> int:
        """The highest seq this phone knows is durable: from its acks and from the events it received."""
        return max(self.acked_seq, self.client.last_seq if self.client is not None else 0)

    async def close(self) -> None:
        if self.client is not None:
            await self.client.close()


def votes_in(events: list[Any]) -> dict[tuple[int, int], str]:
    """The latest vote per (participant, statement) in a log."""
    latest: dict[tuple[int, int], str] = {}
    for event in events:
        if getattr(event, "type", "") == "vote":
            latest[(event.participant, event.statement)] = event.value
    return latest
