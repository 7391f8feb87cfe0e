"""A connection that goes silent is closed with 4000, as docs/protocol.md says, on a real socket.

A client built from the document alone saw 1006 (no close frame) after 75 s of silence while its library
answered the server's pings: the close was sent by a task that raced the socket's teardown. The server
here closes after `IDLE` seconds (``FACILITATION_IDLE_TIMEOUT``) so the test takes seconds, not minutes.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import websockets

from tests.server.conftest import NO_ANALYSIS, create_meeting
from tests.support.servers import ServerProcess, scaled

IDLE = 2.0


@pytest.fixture
def quick_idle(tmp_path: Path) -> Iterator[ServerProcess]:
    proc = ServerProcess(f"sqlite:///{tmp_path / 'meetings.db'}",
                         env={**NO_ANALYSIS, "FACILITATION_IDLE_TIMEOUT": str(IDLE)}).start()
    try:
        yield proc
    finally:
        proc.stop()


@pytest.mark.asyncio
@pytest.mark.parametrize("role", ["participant", "projector", "host"])
async def test_a_silent_connection_is_closed_with_4000(quick_idle: ServerProcess, role: str) -> None:
    meeting = create_meeting(quick_idle.url)
    url = quick_idle.url.replace("http://", "ws://") + f"/ws/{meeting.code}"
    hello = {"v": 1, "type": "hello", "role": role, **({"host_key": meeting.host_key} if role == "host" else {})}
    async with websockets.connect(url, compression=None, max_size=2**24) as ws:  # answers pings by itself
        await ws.send(json.dumps(hello))
        assert json.loads(await ws.recv())["type"] == "welcome"
        started = time.monotonic()
        with pytest.raises(websockets.ConnectionClosed) as closed:
            while True:
                await asyncio.wait_for(ws.recv(), scaled(IDLE * 5))
        waited = time.monotonic() - started
    assert closed.value.rcvd is not None, "closed without a close frame (1006)"
    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (4000, "idle")
    assert IDLE * 0.9 <= waited <= scaled(IDLE * 5)


@pytest.mark.asyncio
async def test_a_ping_keeps_a_connection_open(quick_idle: ServerProcess) -> None:
    """The protocol's own ping counts as hearing from the client."""
    meeting = create_meeting(quick_idle.url)
    url = quick_idle.url.replace("http://", "ws://") + f"/ws/{meeting.code}"
    async with websockets.connect(url, compression=None) as ws:
        await ws.send(json.dumps({"v": 1, "type": "hello", "role": "projector"}))
        assert json.loads(await ws.recv())["type"] == "welcome"
        deadline = time.monotonic() + IDLE * 2.5
        while time.monotonic() < deadline:
            await asyncio.sleep(IDLE / 3)
            await ws.send(json.dumps({"v": 1, "type": "ping", "op": f"p{time.monotonic()}"}))
        await ws.send(json.dumps({"v": 1, "type": "ping", "op": "last"}))
        while True:
            message = json.loads(await asyncio.wait_for(ws.recv(), scaled(5)))
            if message["type"] == "pong":
                break
