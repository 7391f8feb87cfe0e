"""A small protocol client over real WebSockets, for the loadtest, scripts and tests.

It follows docs/protocol.md only: ``hello`` first, ``op`` on every command, answers matched to commands
by ``op``, everything else collected as it arrives (events, batches, counters, snapshots).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from collections.abc import Callable
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection

__all__ = ["MeetingClient", "ServerError"]


class ServerError(Exception):
    """The server answered a command with the error shape."""

    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(f"{error.get('code')}: {error.get('message')}")
        self.code = str(error.get("code"))
        self.message = str(error.get("message"))


class MeetingClient:
    """One connection to ``/ws/{code}`` as a participant, host or projector."""

    _ops = itertools.count(1)

    def __init__(self, base_url: str, code: str, role: str = "participant", **hello: Any) -> None:
        self.url = base_url.replace("http://", "ws://").replace("https://", "wss://").rstrip("/") + f"/ws/{code}"
        self.code = code
        self.role = role
        self.hello = {k: v for k, v in hello.items() if v is not None}
        self.ws: ClientConnection | None = None
        self.welcome: dict[str, Any] = {}
        self.messages: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.last_seq = 0
        self.on_message: Callable[[dict[str, Any]], None] | None = None
        self._pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._reader: asyncio.Task[None] | None = None
        self.closed = asyncio.Event()
        self.close_code: int | None = None

    @property
    def participant(self) -> int | None:
        value = self.welcome.get("participant")
        return None if value is None else int(value)

    @property
    def token(self) -> str | None:
        return self.welcome.get("token")

    async def connect(self, since: int | None = None, timeout: float = 10.0,
                      source_address: str | None = None) -> dict[str, Any]:
        """Open the socket, say hello and return the welcome (``source_address``: connect from this local
        address, e.g. ``127.0.0.2`` to test per-address limits on loopback)."""
        local = None if source_address is None else (source_address, 0)
        self.ws = await websockets.connect(self.url, max_size=2**24, compression=None, open_timeout=timeout,
                                           local_addr=local)
        hello: dict[str, Any] = {"v": 1, "type": "hello", "role": self.role, **self.hello}
        if since is not None:
            hello["since"] = since
        with contextlib.suppress(websockets.ConnectionClosed):  # refused before the hello: read why below
            await self.ws.send(json.dumps(hello))
        first: dict[str, Any] = json.loads(await asyncio.wait_for(self.ws.recv(), timeout))
        if first.get("type") == "error":
            raise ServerError(first["error"])
        self.welcome = first
        if "token" in first:
            self.hello["token"] = first["token"]
        self.closed.clear()
        self._reader = asyncio.get_running_loop().create_task(self._read())
        return first

    async def _read(self) -> None:
        assert self.ws is not None
        try:
            async for raw in self.ws:
                message = json.loads(raw)
                seq = message.get("seq")
                if isinstance(seq, int) and message.get("type") in ("event", "batch", "snapshot", "resumed"):
                    self.last_seq = max(self.last_seq, seq)
                op = message.get("op")
                if op and op in self._pending and message.get("type") in ("ack", "error"):
                    future = self._pending.pop(op)
                    if not future.done():
                        future.set_result(message)
                    continue
                if self.on_message is not None:
                    self.on_message(message)
                else:
                    self.messages.put_nowait(message)
        except websockets.ConnectionClosed:
            pass
        finally:
            if self.ws is not None and self.ws.close_code is not None:
                self.close_code = self.ws.close_code
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(ConnectionError("connection closed"))
            self._pending.clear()
            self.closed.set()

    async def command(self, type_: str, timeout: float = 10.0, op: str | None = None, **fields: Any) -> dict[str, Any]:
        """Send a command and wait for its ack; raise :class:`ServerError` on the error shape."""
        assert self.ws is not None, "connect() first"
        op = op or f"{self.role[0]}{next(self._ops)}"
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[op] = future
        await self.ws.send(json.dumps({"v": 1, "type": type_, "op": op, **fields}))
        answer = await asyncio.wait_for(future, timeout)
        if answer["type"] == "error":
            raise ServerError(answer["error"])
        return answer

    async def send_raw(self, data: str | bytes) -> None:
        assert self.ws is not None
        await self.ws.send(data)

    async def vote(self, statement: int, value: str, op: str | None = None) -> dict[str, Any]:
        return await self.command("vote", statement=statement, value=value, op=op)

    async def post(self, text: str) -> dict[str, Any]:
        return await self.command("post", text=text)

    async def next_message(self, type_: str | None = None, timeout: float = 10.0,
                           where: Callable[[dict[str, Any]], bool] | None = None) -> dict[str, Any]:
        """The next message of that type (skipping others) that satisfies ``where``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"no {type_ or 'message'} within {timeout} s")
            message = await asyncio.wait_for(self.messages.get(), remaining)
            if (type_ is None or message.get("type") == type_) and (where is None or where(message)):
                return message

    async def close(self) -> None:
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await self.ws.close()
        if self._reader is not None:
            with contextlib.suppress(Exception):
                await self._reader
