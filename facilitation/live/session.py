"""The live protocol of one connection as a state machine without I/O (sans-I/O).

The socket adapter (facilitation/web/ws.py) feeds a :class:`Session` what happened — connected, a frame, a
room found, a command applied or refused, time passing — and performs the *actions* it gets back:
:class:`Send` a message, :class:`Close` the socket, :class:`FindRoom` (look a meeting up), :class:`Submit`
a command to the room, run an analysis :class:`Control`, :class:`Attach` the connection to the room. The
session never awaits anything, so every path of the protocol (hello, admission, resume, floods, closes)
is tested by calling methods, without sockets (tests/session), and the adapter stays a short pump.

States: ``connecting`` (before the room is known) -> ``hello`` (waiting for the hello) -> ``joining`` (a
participant's join is being applied) -> ``open`` (commands) -> ``closed``. A refusal is an error message
in the one error shape followed by a close code (:class:`facilitation.core.closes.CloseCode`, listed in
docs/protocol.md).

The session imports only the core: what it needs from its room, from a committed command and from the
process's counters are the small protocols below (:class:`RoomView`, :class:`Outcome`, :class:`Observer`),
which the adapter (facilitation/web/ws.py) fills in; who may reach a meeting is the core's admission policy
(:mod:`facilitation.core.admission`), the same as over HTTP.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from facilitation.core import registry
from facilitation.core.admission import (
    AddressCounter,
    AttemptLimiter,
    CodeGate,
    CommandLimiter,
    JoinLimiter,
    TokenBucket,
    host_key_refusal,
)
from facilitation.core.closes import CloseCode
from facilitation.core.errors import ClientError
from facilitation.core.meeting import Command, Join, MeetingSettings, hash_secret
from facilitation.core.protocol import (
    PROTOCOL_VERSION,
    ClientMessage,
    ProtocolError,
    error_message,
    parse_client_message,
)

__all__ = [
    "CLOSE_BAD_HELLO",
    "CLOSE_FORBIDDEN",
    "CLOSE_TOO_MANY",
    "CLOSE_UNKNOWN_MEETING",
    "Action",
    "Attach",
    "Close",
    "Control",
    "FindRoom",
    "Observer",
    "Outcome",
    "RoomView",
    "Send",
    "Session",
    "Submit",
]

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
MIN_TOKEN_CHARS = 16

CLOSE_IDLE = CloseCode.IDLE
CLOSE_FORBIDDEN = CloseCode.FORBIDDEN
CLOSE_UNKNOWN_MEETING = CloseCode.UNKNOWN_MEETING
CLOSE_FLOOD = CloseCode.FLOOD
CLOSE_BAD_HELLO = CloseCode.BAD_HELLO
CLOSE_TOO_MANY = CloseCode.TOO_MANY
_CLOSE_FOR = {"unknown_meeting": CLOSE_UNKNOWN_MEETING, "too_many_attempts": CLOSE_FORBIDDEN}
"""The close that follows an admission refusal, by its error code."""


# ---------------------------------------------------------------- actions (what the adapter performs)


@dataclass(slots=True)
class Send:
    """Send this message to the client (a dict, or text already encoded).

    (Send and Submit are made per vote and never changed after, so not frozen: a frozen dataclass's
    constructor costs about three times more.)"""

    message: dict[str, Any] | str


@dataclass(frozen=True, slots=True)
class Close:
    """Close the socket with this code; everything sent before it goes out first."""

    code: int
    reason: str


@dataclass(frozen=True, slots=True)
class FindRoom:
    """Look the meeting up; answer with :meth:`Session.room_found` or :meth:`Session.room_unknown`."""

    code: str


@dataclass(slots=True)
class Submit:
    """Apply a command through the room; answer with :meth:`Session.applied` or :meth:`Session.refused`."""

    command: Command
    op: str
    kind: str


@dataclass(frozen=True, slots=True)
class Control:
    """Run a host's live-analysis control; answer with :meth:`Session.controlled` or :meth:`Session.refused`."""

    action: str
    op: str


@dataclass(frozen=True, slots=True)
class Attach:
    """The client is welcome (the welcome is already queued): register it with the room and bring it up to
    date from ``since`` (missed events or a snapshot)."""

    since: int | None


Action = Send | Close | FindRoom | Submit | Control | Attach


class RoomView(Protocol):
    """What a session reads from its room, synchronously (the room's writes go through :class:`Submit`)."""

    @property
    def code(self) -> str: ...

    def next_for(self, participant: int) -> dict[str, Any]: ...

    @property
    def seq(self) -> int: ...

    @property
    def settings(self) -> MeetingSettings: ...

    def is_host_key(self, key: str) -> bool: ...

    def participant_for_token(self, token_hash: str) -> int | None: ...

    @property
    def has_control(self) -> bool: ...

    def typing(self, participant: int, active: bool) -> None:
        """A phone's ``typing`` signal (raises ClientError outside collecting)."""


class Outcome(Protocol):
    """What a session needs of a command the room applied and made durable."""

    @property
    def result(self) -> dict[str, Any]: ...

    @property
    def seq(self) -> int:
        """The durable sequence number the ack names."""

    @property
    def duplicate(self) -> bool: ...


class Observer(Protocol):
    """Where a session reports what it saw (the process's metrics, in the adapter)."""

    def command(self, kind: str) -> None: ...

    def error(self, code: str) -> None: ...

    def vote(self) -> None: ...


class _Unobserved:
    def command(self, kind: str) -> None:
        pass

    def error(self, code: str) -> None:
        pass

    def vote(self) -> None:
        pass


# ---------------------------------------------------------------- the session


class Session:
    """One client's protocol state. Every method returns the actions to perform, in order."""

    def __init__(
        self,
        raw_code: str,
        address: str,
        *,
        attempts: AttemptLimiter,
        connections: AddressCounter,
        joins: JoinLimiter,
        commands: CommandLimiter,
        observer: Observer | None = None,
        clock: Callable[[], float] = time.monotonic,
        idle_timeout: float = IDLE_TIMEOUT,
    ) -> None:
        self.raw_code = raw_code
        self.idle_timeout = idle_timeout
        self.address = address
        self.state = "connecting"
        self.room: RoomView | None = None
        self.role = ""
        self.participant: int | None = None
        self._attempts = attempts
        self._connections = connections
        self._joins = joins
        self._commands = commands
        self._command_bucket: TokenBucket | None = None
        """This participant's command bucket (the limiter's, shared by their connections), once looked up."""
        self._observer: Observer = observer if observer is not None else _Unobserved()
        self._clock = clock
        self._gate = CodeGate(attempts, address, raw_code)
        self._counted = False
        self._hello: ClientMessage | None = None
        self._token = ""
        self._frames = TokenBucket(FRAME_RATE, FRAME_BURST, clock)
        self._refusals = 0
        self._window_start = clock()
        self.last_heard = clock()

    # ------------------------------------------------------------ before the hello

    def connected(self) -> list[Action]:
        """The socket is accepted: cap the address, then find the meeting unless the address is blocked."""
        if not self._connections.acquire(self.address):
            return self._refuse(
                ClientError("too_many_connections",
                            f"at most {self._connections.limit} live connections from one address: retry later",
                            status=429),
                CLOSE_TOO_MANY,
            )
        self._counted = True
        self.state = "hello"
        if self._gate.blocked:
            return []  # decide after the hello, which may prove a secret of the meeting
        return self._find(has_secret=False)

    def _find(self, *, has_secret: bool) -> list[Action]:
        try:
            code = self._gate.look_up(has_secret)
        except ClientError as refusal:
            return self._refuse(refusal, _CLOSE_FOR[refusal.code])
        self.state = "connecting"
        return [FindRoom(code)]

    def room_found(self, room: RoomView) -> list[Action]:
        self.room = room
        if self._hello is not None:  # a blocked address's hello, waiting for its meeting
            return self._admit(self._hello)
        self.state = "hello"
        return []

    def room_unknown(self) -> list[Action]:
        refusal = self._gate.unknown()
        return self._refuse(refusal, _CLOSE_FOR[refusal.code])

    def hello(self, raw: str | bytes) -> list[Action]:
        """The first frame, which must be a ``hello``."""
        self.last_heard = self._clock()
        try:
            message = parse_client_message(raw)
            if message.type != "hello":
                raise ProtocolError("hello_required", "the first message must be a 'hello'")
        except ClientError as exc:
            return self._refuse(exc, CLOSE_BAD_HELLO)
        if self.room is not None:
            return self._admit(message)
        # A blocked address gets in only when its hello proves a secret of this meeting; every client without
        # one is refused alike, known code or not, so a blocked address learns nothing about codes.
        role = message.fields["role"]
        secret = str(message.fields.get("host_key" if role == "host" else "token") or "")
        self._hello = message
        return self._find(has_secret=role != "projector" and bool(secret))

    def hello_timed_out(self) -> list[Action]:
        return self._close(CLOSE_IDLE, "no hello")

    def _admit(self, hello: ClientMessage) -> list[Action]:
        room = self.room
        assert room is not None
        role = hello.fields["role"]
        self.role = role
        self._hello = hello
        if self._gate.blocked:
            secret = str(hello.fields.get("host_key" if role == "host" else "token") or "")
            proven = role != "projector" and (
                room.is_host_key(secret) if role == "host" else room.participant_for_token(hash_secret(secret))
                is not None)
            refusal = self._gate.found(proven)
            if refusal is not None:
                return self._refuse(refusal, CLOSE_FORBIDDEN)
        if role == "host":
            refusal = host_key_refusal(self._attempts, self.address, room.is_host_key(hello.fields.get("host_key", "")))
            if refusal is not None:
                return self._refuse(refusal, CLOSE_FORBIDDEN)
            return self._welcome({})
        if role == "projector":
            return self._welcome({})
        token = hello.fields.get("token") or ""
        if token and len(token) < MIN_TOKEN_CHARS:
            return self._refuse(
                ProtocolError("invalid_field", f"a participant token has at least {MIN_TOKEN_CHARS} characters"),
                CLOSE_BAD_HELLO,
            )
        if not token:
            token = secrets.token_urlsafe(18)
        token_hash = hash_secret(token)
        if room.participant_for_token(token_hash) is None and not self._joins.allow(room.code, self.address):
            return self._refuse(
                ClientError("too_many_joins", "too many new participants from this address: retry in a moment",
                            status=429),
                CLOSE_TOO_MANY,
            )
        self._token = token
        self.state = "joining"
        join = Join(token_hash, hello.fields.get("nickname", ""), hello.fields.get("stakeholder", ""),
                    consent=bool(hello.fields.get("consent", False)))
        return [Submit(join, "", "join")]

    def _welcome(self, extra: dict[str, Any]) -> list[Action]:
        room = self.room
        assert room is not None and self._hello is not None
        greeting: dict[str, Any] = {
            "v": PROTOCOL_VERSION,
            "type": "welcome",
            "role": self.role,
            "code": room.code,
            "votes": list(room.settings.vote_values),
            **extra,
        }
        self.state = "open"
        self.last_heard = self._clock()
        return [Send(greeting), Attach(self._hello.fields.get("since"))]

    # ------------------------------------------------------------ commands

    def receive(self, raw: str | bytes) -> list[Action]:
        """A frame after the hello. (Every frame of every phone comes here: the command's way is written out in
        this one method, the session's own messages answered apart.)"""
        if self.state != "open":
            return []
        self.last_heard = self._clock()
        throttled = not self._frames.take()
        op = ""
        try:
            message = parse_client_message(raw)
            op, kind = message.op, message.type
            if throttled:
                raise ClientError("rate_limited", "too many messages: slow down and resend", status=429)
            self._observer.command(kind)
            if kind == "ping":
                return [Send({"v": PROTOCOL_VERSION, "type": "pong", "seq": self._room().seq})]
            participant = self.participant
            command = registry.command_of(message, self.role, participant)  # role checks; builds the command
            if participant is not None:
                bucket = self._command_bucket
                if bucket is None:
                    bucket = self._command_bucket = self._commands.bucket(self._room().code, participant)
                if not bucket.take():
                    raise ClientError("rate_limited", "too many commands: slow down and resend", status=429,
                                      op=op)
            if command is not None:
                return [Submit(command, op, kind)]
            return self._answer(message)
        except ClientError as exc:
            return self._error(exc, exc.op if isinstance(exc, ProtocolError) and exc.op else op,
                               throttled=throttled)

    def _room(self) -> RoomView:
        room = self.room
        assert room is not None
        return room

    def _answer(self, message: ClientMessage) -> list[Action]:
        """A session message that passed the role check and the command limit: typing, next, analysis."""
        room = self._room()
        participant = self.participant
        if message.type == "typing":
            assert participant is not None
            room.typing(participant, bool(message.fields["active"]))
            return []
        if message.type == "next":
            assert participant is not None
            return [Send({"v": PROTOCOL_VERSION, "type": "next", **room.next_for(participant)})]
        if not room.has_control:  # the host's "analysis" control
            raise ClientError("unavailable", "live analysis is not running on this server", status=503,
                              op=message.op)
        return [Control(message.fields["action"], message.op)]

    def applied(self, submit: Submit, applied: Outcome) -> list[Action]:
        """The room applied ``submit`` and its events are durable: acknowledge it."""
        room = self.room
        assert room is not None
        if self.state == "joining":
            participant = int(applied.result["participant"])
            self.participant = participant
            return self._welcome({"participant": participant, "token": self._token,
                                  "new": bool(applied.result.get("new"))})
        duplicate = applied.duplicate
        ack: dict[str, Any] = {
            "v": PROTOCOL_VERSION, "type": "ack", "op": submit.op, "result": applied.result,
            "seq": applied.seq,  # the command's own durable event, never one still in flight
        }
        if duplicate:
            ack["duplicate"] = True
        if submit.kind == "vote":
            if not duplicate:
                self._observer.vote()
            assert self.participant is not None
            ack.update(room.next_for(self.participant))
        return [Send(ack)]

    def controlled(self, control: Control, result: dict[str, Any]) -> list[Action]:
        room = self.room
        assert room is not None
        return [Send({"v": PROTOCOL_VERSION, "type": "ack", "op": control.op, "result": result, "seq": room.seq})]

    def refused(self, action: Submit | Control, error: ClientError) -> list[Action]:
        """The room refused the command (or the join): answer with the error, and close on a refused join."""
        if self.state == "joining":
            return self._refuse(error, CLOSE_BAD_HELLO)
        return self._error(error, action.op, throttled=False)

    def failed(self, action: Submit | Control) -> list[Action]:
        """The server failed on the command (a bug or a lost store): the client may resend it."""
        error = ClientError("internal", "the server failed on this command; it was not applied", status=500)
        if self.state == "joining":
            return self._refuse(error, CLOSE_BAD_HELLO)
        self._observer.error("internal")
        return [Send(error_message(error, action.op))]

    def _error(self, exc: ClientError, op: str, *, throttled: bool) -> list[Action]:
        self._observer.error(exc.code)
        reply: list[Action] = [Send(error_message(exc, op))]
        if exc.code == "rate_limited" or throttled:
            now = self._clock()
            if now - self._window_start > FLOOD_WINDOW:
                self._window_start, self._refusals = now, 0
            self._refusals += 1
        if self._refusals > FLOOD_TOLERANCE:
            return reply + self._close(CLOSE_FLOOD, "flooding")
        return reply

    # ------------------------------------------------------------ time and the end

    def idle_left(self) -> float:
        """Seconds until the connection counts as idle (0 or less: it is, close it with :meth:`idle`)."""
        return self.last_heard + self.idle_timeout - self._clock()

    def idle(self) -> list[Action]:
        return self._close(CLOSE_IDLE, "idle")

    def ended(self) -> None:
        """The socket is gone, whoever closed it: give back the address's connection slot."""
        if self._counted:
            self._counted = False
            self._connections.release(self.address)
        self.state = "closed"

    def _refuse(self, error: ClientError, code: int) -> list[Action]:
        self._observer.error(error.code)
        return [Send(error_message(error)), *self._close(code, error.code)]

    def _close(self, code: int, reason: str) -> list[Action]:
        self.state = "closed"
        return [Close(code, reason)]
