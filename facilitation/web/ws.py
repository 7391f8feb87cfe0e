"""The WebSocket endpoint ``/ws/{code}``: a short pump between a socket and a
:class:`~facilitation.live.session.Session`.

The session (facilitation/live/session.py) decides everything — hello, admission, resume, floods, acks, closes;
this module only performs its actions: read frames, look rooms up, submit commands to the room, send and
close. Commands from one connection are applied in order (the next frame is read after the previous
command's ack is queued). No task is created per frame: the pump awaits the socket itself, and a
connection dropped by the fan-out side (too slow) or idle interrupts that wait by cancelling the pump's
own task, only while it waits for a frame (never in the middle of a command).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any, TypeVar

from starlette.types import Receive, Scope
from starlette.types import Send as ASGISend
from starlette.websockets import WebSocket, WebSocketDisconnect

from facilitation import metrics
from facilitation.core.errors import ClientError
from facilitation.core.meeting import MeetingSettings
from facilitation.core.protocol import dumps_answer
from facilitation.live.connection import Connection, encode
from facilitation.live.hub import Hub
from facilitation.live.room import Room, UnknownMeeting
from facilitation.live.session import (
    HELLO_TIMEOUT,
    Action,
    Attach,
    Close,
    Control,
    FindRoom,
    Send,
    Session,
    Submit,
)
from facilitation.web.security import client_address
from facilitation.web.state import parts

__all__ = ["LiveRoom", "MeetingSocket", "MetricsObserver", "meeting_socket"]

T = TypeVar("T")

log = logging.getLogger("facilitation.web.ws")

SENDER_BACKLOG = 16
"""Replies waiting to be sent above which the pump lets the sender run before reading on: frames read
ahead are answered without a suspension in between, and the send queue holds 256 messages at most."""


class LiveRoom:
    """A :class:`~facilitation.live.room.Room` seen as the session's
    :class:`~facilitation.live.session.RoomView` (reads its current meeting each time: the writer may replace
    the meeting object after a resync)."""

    __slots__ = ("_room", "code", "next_for")

    def __init__(self, room: Room) -> None:
        self._room = room
        self.code = room.code
        self.next_for: Callable[[int], dict[str, Any]] = room.next_for
        """The room's own method (every vote's ack asks it: no call through this adapter)."""

    @property
    def seq(self) -> int:
        return self._room.seq  # the last durable seq this worker delivered

    @property
    def settings(self) -> MeetingSettings:
        return self._room.meeting.settings

    def is_host_key(self, key: str) -> bool:
        return self._room.meeting.is_host_key(key)

    def participant_for_token(self, token_hash: str) -> int | None:
        return self._room.meeting.participant_for_token(token_hash)

    @property
    def has_control(self) -> bool:
        return self._room.analysis is not None

    def typing(self, participant: int, active: bool) -> None:
        self._room.typing(participant, active)


class MetricsObserver:
    """The session's :class:`~facilitation.live.session.Observer`: the process's Prometheus counters."""

    def __init__(self) -> None:
        self._errors: dict[str, Any] = {}
        self.command: Callable[[str], None] = metrics.COMMANDS.inc
        """Every frame's count, straight to the counter (the counters' own methods: no call in between)."""
        self.vote: Callable[[], None] = metrics.VOTES.inc

    def error(self, code: str) -> None:
        child = self._errors.get(code)
        if child is None:
            child = self._errors[code] = metrics.ERRORS.labels(code)
        child.inc()


OBSERVER = MetricsObserver()


class MeetingSocket:
    """The ASGI app of ``/ws/{code}``: serve one client of one meeting until it leaves.

    A plain ASGI app rather than a Starlette endpoint function, so the pump reads and writes frames with the
    server's own ``receive`` and ``send``: Starlette's WebSocket wrappers (state checks, an exception
    wrapper around ``send``) cost four coroutine frames per vote. The Starlette WebSocket still does the
    rest (accept, close, the client's address, the app's parts)."""

    async def __call__(self, scope: Scope, receive: Receive, send: ASGISend) -> None:
        websocket = WebSocket(scope, receive, send)
        app = parts(websocket)
        await websocket.accept()
        session = Session(
            websocket.path_params["code"], client_address(websocket),
            attempts=app.attempts, connections=app.connections, joins=app.joins, commands=app.commands,
            observer=OBSERVER, idle_timeout=app.settings.idle_timeout,
        )
        try:
            await _Pump(websocket, app.hub, session, receive, send).run()
        finally:
            session.ended()


meeting_socket = MeetingSocket()


class _Pump:
    def __init__(self, websocket: WebSocket, hub: Hub, session: Session, receive: Receive,
                 send: ASGISend) -> None:
        self.websocket = websocket
        self._asgi_receive = receive  # after the accept, frames come straight from the server
        self._asgi_send = send
        self.hub = hub
        self.session = session
        self.room: Room | None = None
        self.conn: Connection | None = None
        self._task = asyncio.current_task()
        self._receiving = False
        self._interrupted = False
        self._watchdog: asyncio.TimerHandle | None = None

    async def run(self) -> None:
        session = self.session
        if not await self._perform(session.connected()):
            return
        try:
            async with asyncio.timeout(HELLO_TIMEOUT):
                raw = await self._receive()
        except TimeoutError:
            await self._perform(session.hello_timed_out())
            return
        if raw is None:
            return
        try:
            if await self._perform(session.hello(raw)):
                await self._serve()
        finally:
            if self._watchdog is not None:
                self._watchdog.cancel()
            conn = self.conn
            if conn is not None:
                assert self.room is not None
                self.room.detach(conn)
                metrics.CONNECTIONS.labels(conn.role).dec()
                await conn.stop()

    async def _serve(self) -> None:
        """Frames until the connection ends. The vote's way is written out here, one coroutine deep: the
        frame is read, its command submitted and its ack queued without a coroutine per step (the
        general :meth:`_receive`, :meth:`_perform` and :meth:`_outcome` cost three frames a vote, ~5 % of
        the main thread's time per vote); any other action goes through :meth:`_perform`."""
        conn, room, session = self.conn, self.room, self.session
        if conn is None or room is None:
            return
        receive, task = self._asgi_receive, self._task
        self._watchdog = asyncio.get_running_loop().call_later(session.idle_left(), self._check_idle)
        while not conn.closed:
            if conn.backlog > SENDER_BACKLOG:
                await asyncio.sleep(0)  # frames read ahead must not starve the sender (its queue is bounded)
            self._receiving = True  # what _receive does, inline (see there)
            try:
                message = await receive()
            except asyncio.CancelledError:
                if self._interrupted and task is not None:
                    self._interrupted = False
                    if task.uncancel() == 0:
                        return
                raise
            except (WebSocketDisconnect, RuntimeError):
                return
            finally:
                self._receiving = False
            text = message.get("text")
            if text is None:
                if message["type"] == "websocket.disconnect":
                    return
                actions = session.receive(bytes(message.get("bytes") or b""))
            else:
                actions = session.receive(str(text))
            submit = actions[0] if len(actions) == 1 else None
            if type(submit) is Submit:  # a command: its ack, or its refusal
                try:
                    committed = await room.submit(submit.command, origin=conn)
                except ClientError as exc:
                    actions = session.refused(submit, exc)
                except Exception:
                    log.exception("Submit failed in meeting %s", room.code)
                    actions = session.failed(submit)
                else:
                    actions = session.applied(submit, committed)
                ack = actions[0] if len(actions) == 1 else None
                if type(ack) is Send:  # queued: no coroutine per ack
                    answer = ack.message
                    conn.reply(answer if isinstance(answer, str) else dumps_answer(answer))
                    continue
            if not await self._perform(actions):
                return

    async def _receive(self) -> str | bytes | None:
        """The next frame, or None when the client left or was dropped."""
        self._receiving = True
        try:
            message = await self._asgi_receive()
        except asyncio.CancelledError:
            task = self._task
            if self._interrupted and task is not None:
                self._interrupted = False
                if task.uncancel() == 0:
                    return None
            raise
        except (WebSocketDisconnect, RuntimeError):
            return None
        finally:
            self._receiving = False
        if message["type"] == "websocket.disconnect":
            return None
        text = message.get("text")
        if text is not None:
            return str(text)
        return bytes(message.get("bytes") or b"")

    def _interrupt(self) -> None:
        """The connection was dropped (too slow, idle): stop waiting for its next frame."""
        if self._receiving and not self._interrupted and self._task is not None:
            self._interrupted = True
            self._task.cancel()

    def _check_idle(self) -> None:
        left = self.session.idle_left()
        if left > 0:
            self._watchdog = asyncio.get_running_loop().call_later(left, self._check_idle)
            return
        self._watchdog = None
        for action in self.session.idle():
            if isinstance(action, Close) and self.conn is not None:
                # queued like any close, so the pump's ending waits for the close frame to go out (a drop
                # raced the socket's teardown and the client saw 1006 instead of 4000)
                self.conn.close_after_sent(action.code, action.reason)

    async def _perform(self, actions: list[Action]) -> bool:
        """Carry the session's actions out, feeding it the results; False once the connection is closed."""
        pending = deque(actions)
        session = self.session
        while pending:
            action = pending.popleft()
            if isinstance(action, Send):
                if self.conn is not None:
                    self.conn.reply(action.message)  # queued: no coroutine per ack
                else:
                    await self._send(action.message)
            elif isinstance(action, Submit):
                assert self.room is not None
                pending.extend(await self._outcome(action, self.room.submit(action.command, origin=self.conn),
                                                   partial(session.applied, action)))
            elif isinstance(action, Close):
                await self._close(action)
                return False
            elif isinstance(action, FindRoom):
                try:
                    self.room = await self.hub.room(action.code)
                except UnknownMeeting:
                    pending.extend(session.room_unknown())
                else:
                    pending.extend(session.room_found(LiveRoom(self.room)))
            elif isinstance(action, Control):
                assert self.room is not None and self.room.analysis is not None
                pending.extend(await self._outcome(action, self.room.analysis.control(action.action),
                                                   partial(session.controlled, action)))
            elif isinstance(action, Attach):
                await self._attach(action)
        return True

    async def _outcome(self, action: Submit | Control, work: Awaitable[T],
                       done: Callable[[T], list[Action]]) -> list[Action]:
        """The session's next actions once the room's ``work`` for ``action`` ends: ``done`` with its
        result, the refusal for a ClientError, or (anything else, logged) the failure the client may
        resend. The one place both commands and analysis controls meet the room."""
        try:
            result = await work
        except ClientError as exc:
            return self.session.refused(action, exc)
        except Exception:
            log.exception("%s failed in meeting %s", type(action).__name__, self.room.code if self.room else "?")
            return self.session.failed(action)
        return done(result)

    async def _send(self, message: dict[str, Any] | str) -> None:
        """Send before the connection is attached (a refusal before the welcome)."""
        with contextlib.suppress(Exception):
            await self.websocket.send_text(message if isinstance(message, str) else encode(message))

    async def _close(self, action: Close) -> None:
        if self.conn is not None:
            self.conn.close_after_sent(action.code, action.reason)  # the refusal that explains it goes first
            return
        with contextlib.suppress(Exception):
            await self.websocket.close(action.code, action.reason)

    async def _attach(self, action: Attach) -> None:
        websocket, room, send = self.websocket, self.room, self._asgi_send
        assert room is not None

        async def send_text(text: str) -> None:
            await send({"type": "websocket.send", "text": text})

        async def close(code: int, reason: str) -> None:
            with contextlib.suppress(Exception):
                await websocket.close(code, reason)

        conn = Connection(send_text, close, self.session.role, self.session.participant, self.hub.outbox,
                          interrupt=self._interrupt)
        self.conn = conn
        metrics.CONNECTIONS.labels(conn.role).inc()
        await room.attach(conn, action.since)
