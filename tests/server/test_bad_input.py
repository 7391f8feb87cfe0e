"""Bad input over the WebSocket gets the one error shape and leaves the meeting intact."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import time
from typing import Any

import pytest
import websockets

from facilitation.tools.client import MeetingClient, ServerError
from tests.server.conftest import Clients, MeetingInfo, create_meeting, meeting_info
from tests.support.servers import ServerProcess, scaled


def ws_url(server: ServerProcess, code: str) -> str:
    return server.url.replace("http://", "ws://") + f"/ws/{code}"


def assert_error_shape(message: dict[str, Any], code: str) -> None:
    assert message["v"] == 1 and message["type"] == "error"
    assert message["error"]["code"] == code and isinstance(message["error"]["message"], str)
    assert set(message["error"]) == {"code", "message"}


async def answer(ws: Any) -> dict[str, Any]:
    """The next message that is not an update (skipping snapshots, events, counters)."""
    while True:
        message = json.loads(await asyncio.wait_for(ws.recv(), scaled(5)))
        if message["type"] in ("error", "ack", "pong"):
            return dict(message)


async def raw_phone(server: ServerProcess, code: str) -> Any:
    ws = await websockets.connect(ws_url(server, code), compression=None, max_size=2**24)
    await ws.send(json.dumps({"v": 1, "type": "hello", "role": "participant"}))
    assert json.loads(await ws.recv())["type"] == "welcome"
    return ws


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("{not json", "malformed"),
        ("[1, 2]", "malformed"),
        ('{"v": 1, "type": "teleport", "op": "x"}', "unknown_type"),
        ('{"v": 1, "op": "no-type"}', "missing_field"),
        ('{"v": 1, "type": 7, "op": "y"}', "unknown_type"),
        ('{"v": 2, "type": "ping"}', "unsupported_version"),
        ('{"v": 1, "type": "vote", "statement": 0, "value": "agree"}', "missing_field"),
        ('{"v": 1, "type": "vote", "op": "a", "statement": "zero", "value": "agree"}', "invalid_field"),
        ('{"v": 1, "type": "vote", "op": "b", "statement": 999, "value": "agree"}', "unknown_statement"),
        ('{"v": 1, "type": "vote", "op": "c", "statement": 0, "value": "love"}', "invalid_vote"),
        ('{"v": 1, "type": "hello", "role": "participant"}', "already_greeted"),
        ('{"v": 1, "type": "post", "op": "d", "text": "' + "長" * 141 + '"}', "too_long"),
        ("x" * 9000, "too_large"),
        ('{"v": 1, "type": "vote", "op": "\\ud800", "statement": 0, "value": "agree"}', "invalid_field"),
        ('{"v": 1, "type": "post", "op": "e", "text": "\\u200b\\u200b"}', "empty"),
        ('{"v": 1, "type": "post", "op": "f", "text": "\\u001b[2J"}', "invalid_field"),
        ('{"v": 1, "type": "post", "op": "g", "text": "Seed statement 0\\u00ad."}', "duplicate"),
        ('{"v": 1, "type": "vote", "op": "h", "statement": true, "value": "agree"}', "invalid_field"),
        (b"\x00\x01binary", "binary_frame"),
    ],
)
async def test_bad_frames_get_error_shape_and_connection_stays(
    server: ServerProcess, meeting: MeetingInfo, host: MeetingClient, frame: str | bytes, code: str
) -> None:
    """Each malformed or invalid frame is answered with the error shape; the same socket then still votes."""
    ws = await raw_phone(server, meeting.code)
    try:
        await ws.send(frame)
        error = await answer(ws)
        assert_error_shape(error, code)
        await ws.send(json.dumps({"v": 1, "type": "vote", "op": "after", "statement": 1, "value": "agree"}))
        ack = await answer(ws)
        assert ack["type"] == "ack" and ack["op"] == "after"
    finally:
        await ws.close()
    info = await asyncio.to_thread(meeting_info, server.url, meeting.code)
    assert info["counters"]["votes"] == 1 and info["counters"]["statements"] == 5


@pytest.mark.asyncio
async def test_error_answers_carry_the_op(host: MeetingClient, clients: Clients) -> None:
    """An error answering a command carries that command's op."""
    phone = await clients.open()
    with pytest.raises(ServerError) as info:
        await phone.command("vote", op="my-op-7", statement=77, value="agree")
    assert info.value.code == "unknown_statement"


@pytest.mark.asyncio
async def test_frame_over_one_mebibyte_closes_with_1009(server: ServerProcess, meeting: MeetingInfo) -> None:
    """A frame over 1 MiB is refused by closing the socket with code 1009; the server keeps serving."""
    ws = await raw_phone(server, meeting.code)
    await ws.send("y" * (1024 * 1024 + 10))
    with pytest.raises(websockets.ConnectionClosed):
        for _ in range(10):
            await asyncio.wait_for(ws.recv(), scaled(5))
    assert ws.close_code == 1009
    assert (await asyncio.to_thread(meeting_info, server.url, meeting.code))["code"] == meeting.code


@pytest.mark.asyncio
async def test_wrong_host_key_refused_and_closed(server: ServerProcess, meeting: MeetingInfo) -> None:
    """A host hello with a wrong key gets forbidden in the error shape and a 4003 close."""
    ws = await websockets.connect(ws_url(server, meeting.code), compression=None)
    await ws.send(json.dumps({"v": 1, "type": "hello", "role": "host", "host_key": "not-the-key"}))
    assert_error_shape(json.loads(await ws.recv()), "forbidden")
    with pytest.raises(websockets.ConnectionClosed):
        await asyncio.wait_for(ws.recv(), scaled(5))
    assert ws.close_code == 4003


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("hello", "code", "close"),
    [
        ('{"v": 1, "type": "vote", "op": "x", "statement": 0, "value": "agree"}', "hello_required", 4400),
        ('{"v": 1, "type": "hello", "role": "king"}', "invalid_field", 4400),
        ('{"v": 1, "type": "hello", "role": "participant", "token": "short"}', "invalid_field", 4400),
        ('{"v": 1, "type": "hello", "role": "participant", "stakeholder": "alien"}', "unknown_role", 4400),
    ],
)
async def test_bad_hello_refused(server: ServerProcess, meeting: MeetingInfo, hello: str, code: str,
                                 close: int) -> None:
    """A bad first message is answered with the error shape and the documented close code."""
    ws = await websockets.connect(ws_url(server, meeting.code), compression=None)
    await ws.send(hello)
    assert_error_shape(json.loads(await ws.recv()), code)
    with pytest.raises(websockets.ConnectionClosed):
        await asyncio.wait_for(ws.recv(), scaled(5))
    assert ws.close_code == close


@pytest.mark.asyncio
async def test_unknown_meeting_refused_with_4004(server: ServerProcess) -> None:
    """A socket to an unknown meeting code gets unknown_meeting and a 4004 close."""
    ws = await websockets.connect(server.url.replace("http://", "ws://") + "/ws/ZZZZZZ", compression=None)
    assert_error_shape(json.loads(await ws.recv()), "unknown_meeting")
    with pytest.raises(websockets.ConnectionClosed):
        await asyncio.wait_for(ws.recv(), scaled(5))
    assert ws.close_code == 4004


@pytest.mark.asyncio
async def test_flood_is_rate_limited_while_other_phones_are_served(
    server: ServerProcess, meeting: MeetingInfo, host: MeetingClient, clients: Clients
) -> None:
    """A phone bursting 150 commands gets rate_limited beyond ~60 while another phone's votes ack promptly."""
    flooder = await raw_phone(server, meeting.code)
    calm = await clients.open()
    try:
        burst = [json.dumps({"v": 1, "type": "vote", "op": f"f{i}", "statement": i % 5,
                             "value": ("agree", "disagree")[i % 2]}) for i in range(150)]
        await asyncio.gather(*(flooder.send(frame) for frame in burst))
        latencies = []
        for i in range(5):
            started = time.perf_counter()
            await calm.vote(i, "agree")
            latencies.append(time.perf_counter() - started)
        answers: dict[str, str] = {}
        while len(answers) < 150:
            message = await answer(flooder)
            answers[message["op"]] = message["type"] if message["type"] == "ack" else message["error"]["code"]
        refused = sum(v == "rate_limited" for v in answers.values())
        accepted = sum(v == "ack" for v in answers.values())
        assert refused >= 50 and 60 <= accepted <= 100, answers
        assert max(latencies) < scaled(0.5), latencies
        info = await asyncio.to_thread(meeting_info, server.url, meeting.code)
        assert info["counters"]["votes"] == 5 + 5  # the flooder changed its 5 votes; the calm phone cast 5
    finally:
        await flooder.close()


def _raw_text_frame(payload: bytes) -> bytes:
    """A masked, final TEXT frame carrying `payload` as is (a client library would refuse to send bad UTF-8)."""
    mask = os.urandom(4)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    assert len(payload) < 126
    return bytes([0x81, 0x80 | len(payload)]) + mask + masked


def test_invalid_utf8_closes_1007_without_a_traceback(server: ServerProcess) -> None:
    """A text frame that is not UTF-8 closes the connection with 1007 (docs/protocol.md) and the server log
    has a line about it, not an ERROR with a traceback (security.md: no client input causes a traceback)."""
    meeting = create_meeting(server.url)
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=scaled(10)) as sock:
        key = base64.b64encode(os.urandom(16)).decode()
        sock.sendall((f"GET /ws/{meeting.code} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
                      f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            head += sock.recv(4096)
        assert head.startswith(b"HTTP/1.1 101"), head[:80]
        sock.sendall(_raw_text_frame(b'{"v":1,"type":"ping","op":"\xff\xfe"}'))
        reply = b""
        while len(reply) < 4:
            chunk = sock.recv(4096)
            assert chunk, "closed without a close frame"
            reply += chunk
    assert reply[0] == 0x88, reply[:8]  # a close frame
    assert int.from_bytes(reply[2:4], "big") == 1007
    deadline = time.monotonic() + scaled(5)
    while "invalid UTF-8" not in server.log() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "invalid UTF-8" in server.log()
    assert "Traceback" not in server.log() and "UnicodeDecodeError" not in server.log()
