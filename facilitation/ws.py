"""The WebSocket endpoint ``/ws/{code}``: the live protocol's adapter around the rooms.

A connection's life: accept, read one ``hello`` (role, credentials, last seen ``since``), attach to the
room (missed events or a snapshot), then read commands one at a time, each answered by an ``ack`` or an
``error`` carrying its ``op``. Commands from one connection are applied in order; a phone's commands are
rate-limited per participant, so a flood is refused without slowing anyone else, and a client that keeps
flooding after :data:`FLOOD_TOLERANCE` refusals is disconnected.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect

from facilitation import metrics, registry
from facilitation.codes import normalize_code
from facilitation.connection import CLOSE_FLOOD, CLOSE_IDLE, Connection, TokenBucket
from facilitation.errors import ClientError
from facilitation.hub import Hub, Room, UnknownMeeting
from facilitation.meeting import Join, hash_secret
from facilitation.protocol import (
    PROTOCOL_VERSION,
    ClientMessage,
    ProtocolError,
    dumps,
    error_message,
    parse_client_message,
)
from facilitation.security import AttemptLimiter, client_address

__all__ = ["meeting_socket"]

log = logging.getLogger("facilitation.ws")

HELLO_TIMEOUT = 15.0
IDLE_TIMEOUT = 75.0
"""Phones ping every 20 s; a connection silent for this long is dead (a phone in a tunnel)."""
FLOOD_TOLERANCE = 200
"""Refused (rate-limited) messages within :data:`FLOOD_WINDOW` before a flooding client is disconnected.

Counted in a window, not in a row: a client flooding at 1,000/s still gets a command through now and then
as the bucket refills, and must not reset its count with it."""
FLOOD_WINDOW = 10.0
FRAME_RATE = 100.0
FRAME_BURST = 200.0
"""Every frame a connection sends, valid or not and whatever its role, draws on a bucket of this rate and
burst: the per-participant command limit does not see pings, garbage or a projector's refused commands."""
CLOSE_FORBIDDEN = 4003
CLOSE_UNKNOWN_MEETING = 4004
CLOSE_BAD_HELLO = 4400
MIN_TOKEN_CHARS = 16


class _Disconnected(Exception):
    pass


async def _receive(websocket: WebSocket, timeout: float, conn: Connection | None = None) -> str | bytes:
    """The next frame; a connection dropped by the fan-out side (too slow) interrupts the wait at once,
    so a client that never reads is detached now, not after :data:`IDLE_TIMEOUT`."""
    receiving = asyncio.ensure_future(websocket.receive())
    if conn is not None:
        conn.interrupt = receiving.cancel
    try:
        message = await asyncio.wait_for(receiving, timeout)
    except asyncio.CancelledError:
        task = asyncio.current_task()
        if conn is not None and conn.closed and not (task is not None and task.cancelling()):
            raise _Disconnected from None
        raise
    if message["type"] == "websocket.disconnect":
        raise _Disconnected
    if message.get("text") is not None:
        return str(message["text"])
    return bytes(message.get("bytes") or b"")


async def _refuse(websocket: WebSocket, error: ClientError, close_code: int) -> None:
    metrics.ERRORS.labels(error.code).inc()
    with contextlib.suppress(Exception):
        await websocket.send_text(dumps(error_message(error)))
        await websocket.close(close_code, error.code)


async def meeting_socket(websocket: WebSocket) -> None:
    """Serve one client of one meeting until it leaves."""
    hub: Hub = websocket.app.state.hub
    limiter: AttemptLimiter = websocket.app.state.attempts
    await websocket.accept()
    address = client_address(websocket)
    raw_code = websocket.path_params["code"]
    room: Room | None = None
    if limiter.allowed(address):
        code = normalize_code(raw_code)
        try:
            if code is None:
                raise UnknownMeeting(raw_code[:12])
            room = await hub.room(code)
        except UnknownMeeting as exc:
            limiter.failed(address)
            await _refuse(websocket, exc, CLOSE_UNKNOWN_MEETING)
            return
    try:
        raw = await _receive(websocket, HELLO_TIMEOUT)
        hello = parse_client_message(raw)
        if hello.type != "hello":
            raise ProtocolError("hello_required", "the first message must be a 'hello'")
        if room is None:
            room = await _admit_blocked(hub, raw_code, hello)
        conn, greeting = await _greet(websocket, room, hello, limiter, address)
    except (TimeoutError, _Disconnected, WebSocketDisconnect):
        with contextlib.suppress(Exception):
            await websocket.close(CLOSE_IDLE, "no hello")
        return
    except ClientError as exc:
        close = CLOSE_FORBIDDEN if exc.code in ("forbidden", "too_many_attempts") else CLOSE_BAD_HELLO
        await _refuse(websocket, exc, close)
        return

    conn.start()
    metrics.CONNECTIONS.labels(conn.role).inc()
    conn.send(greeting)
    try:
        await room.attach(conn, hello.fields.get("since"))
        await _serve(websocket, room, conn)
    finally:
        room.detach(conn)
        metrics.CONNECTIONS.labels(conn.role).dec()
        await conn.stop()


async def _admit_blocked(hub: Hub, raw_code: str, hello: ClientMessage) -> Room:
    """Admit a client from a blocked address only when its hello proves a secret of this meeting.

    The address tripped the failed-attempt limit, so it must not learn which codes exist: every client
    without the host key or a returning phone's token is refused alike, known code or not. With a secret,
    the host and the phones already in the meeting keep working behind a venue's shared address.
    """
    refusal = ClientError("too_many_attempts", "too many failed attempts from this address: wait a minute",
                          status=429)
    role = hello.fields["role"]
    secret = str(hello.fields.get("host_key" if role == "host" else "token") or "")
    code = normalize_code(raw_code)
    if role == "projector" or not secret or code is None:
        raise refusal
    try:
        room = await hub.room(code)
    except UnknownMeeting:
        raise refusal from None
    if role == "host" and room.meeting.is_host_key(secret):
        return room
    if role == "participant" and room.meeting.participant_for_token(hash_secret(secret)) is not None:
        return room
    raise refusal


async def _greet(
    websocket: WebSocket, room: Room, hello: ClientMessage, limiter: AttemptLimiter, address: str
) -> tuple[Connection, dict[str, Any]]:
    role = hello.fields["role"]

    async def send_text(text: str) -> None:
        await websocket.send_text(text)

    async def close(code: int, reason: str) -> None:
        with contextlib.suppress(Exception):
            await websocket.close(code, reason)

    greeting: dict[str, Any] = {"v": PROTOCOL_VERSION, "type": "welcome", "role": role, "code": room.code}
    if role == "host":
        # The right key always gets in: a neighbour behind the venue's shared address must not lock the host
        # out, and a 192-bit key cannot be guessed whether or not wrong guesses are throttled.
        if room.meeting.is_host_key(hello.fields.get("host_key", "")):
            return Connection(send_text, close, role), greeting
        if not limiter.allowed(address):
            raise ClientError("too_many_attempts", "too many wrong host keys: wait a minute", status=429)
        limiter.failed(address)
        raise ClientError("forbidden", "wrong host key for this meeting", status=403)
    if role == "projector":
        return Connection(send_text, close, role), greeting
    token = hello.fields.get("token") or ""
    if token and len(token) < MIN_TOKEN_CHARS:
        raise ProtocolError("invalid_field", f"a participant token has at least {MIN_TOKEN_CHARS} characters")
    issued = not token
    if issued:
        token = secrets.token_urlsafe(18)
    applied = await room.submit(
        Join(hash_secret(token), hello.fields.get("nickname", ""), hello.fields.get("stakeholder", ""))
    )
    participant = int(applied.result["participant"])
    greeting["participant"] = participant
    greeting["token"] = token
    greeting["new"] = bool(applied.result.get("new"))
    return Connection(send_text, close, role, participant), greeting


async def _serve(websocket: WebSocket, room: Room, conn: Connection) -> None:
    refusals = 0
    window_start = time.monotonic()
    frames = TokenBucket(FRAME_RATE, FRAME_BURST)
    while not conn.closed:
        try:
            raw = await _receive(websocket, IDLE_TIMEOUT, conn)
        except (_Disconnected, WebSocketDisconnect, RuntimeError):
            return
        except TimeoutError:
            conn.drop(CLOSE_IDLE, "idle")
            return
        op = ""
        throttled = not frames.take()
        try:
            message = parse_client_message(raw)
            op = message.op
            if throttled:
                raise ClientError("rate_limited", "too many messages: slow down and resend", status=429)
            metrics.COMMANDS.labels(message.type).inc()
            reply = await _handle(room, conn, message)
        except ClientError as exc:
            metrics.ERRORS.labels(exc.code).inc()
            reply = error_message(exc, exc.op if isinstance(exc, ProtocolError) and exc.op else op)
            if exc.code == "rate_limited" or throttled:
                now = time.monotonic()
                if now - window_start > FLOOD_WINDOW:
                    window_start, refusals = now, 0
                refusals += 1
            if refusals > FLOOD_TOLERANCE:
                conn.send(reply)
                conn.drop(CLOSE_FLOOD, "flooding")
                return
        except Exception:
            log.exception("command failed in meeting %s", room.code)
            metrics.ERRORS.labels("internal").inc()
            reply = error_message(ClientError("internal", "the server failed on this command; it was not applied"), op)
        if reply is not None:
            conn.send(reply)


async def _handle(room: Room, conn: Connection, message: ClientMessage) -> dict[str, Any] | None:
    routed = registry.route(message, conn.role, conn.participant)  # role checks; builds the meeting command
    op = routed.op
    if routed.type == "ping":
        return {"v": PROTOCOL_VERSION, "type": "pong", "seq": room.seq}
    participant = conn.participant
    if participant is not None and not room.allow(participant):
        raise ClientError("rate_limited", "too many commands: slow down and resend", status=429, op=op)
    if routed.type == "next":
        assert participant is not None
        return {"v": PROTOCOL_VERSION, "type": "next", **room.next_for(participant)}
    if routed.command is None:  # the host's "analysis" control
        control = room.control
        if control is None:
            raise ClientError("unavailable", "live analysis is not running on this server", status=503, op=op)
        result = await control(routed.fields["action"])
        return {"v": PROTOCOL_VERSION, "type": "ack", "op": op, "result": result, "seq": room.seq}
    try:
        applied = await room.submit(routed.command, origin=conn)
    except ClientError as exc:
        exc.op = exc.op or op
        raise
    ack: dict[str, Any] = {
        "v": PROTOCOL_VERSION,
        "type": "ack",
        "op": op,
        "result": applied.result,
        "seq": applied.seq,  # durable in the log (meeting.seq may name events still in flight)
    }
    if applied.duplicate:
        ack["duplicate"] = True
    if routed.type == "vote":
        if not applied.duplicate:
            metrics.VOTES.inc()
        assert participant is not None
        ack.update(room.next_for(participant))
    return ack
