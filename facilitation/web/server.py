"""The HTTP server: uvicorn with the connection hygiene a public meeting needs (see docs/security.md).

uvicorn alone closes an idle keep-alive connection, but never one that connects and sends nothing, or
sends half a request line and stops (slowloris): 200 of those stayed open for good, and 1,100 from one
address used up a 1,024-descriptor process. This module adds, below the ASGI app:

- a **request deadline**: the request line and headers must arrive within :attr:`ConnectionLimits.
  request_timeout` seconds of connecting (or of the previous response on a kept-alive connection), a
  request body within :attr:`ConnectionLimits.body_timeout`; else the connection is closed;
- a **connection cap** in total and per peer address, counted on TCP connections (HTTP and WebSocket
  alike). The total stays below the process's open-file limit, so the server refuses with a clear answer
  (HTTP 503 ``server_full``, 429 ``too_many_connections``, in the error shape) *before* ``accept()`` runs out
  of descriptors. The per-address cap stays below the total (:data:`RESERVE_SHARE` of it is kept for other
  addresses), so one address never holds every socket. A trusted reverse proxy (``FORWARDED_ALLOW_IPS``) is
  not capped per address: behind it every client shares its address, and the WebSocket endpoint caps the real
  client address instead;
- **shedding**: when the total is reached, a new connection takes the place of the oldest one that never
  finished a request (connected and sent nothing, or half a request line) before anything is refused, so
  sockets held open without a handshake, from whatever address, loopback included, cannot keep phones out;
- **rate-limited logging**: a message repeated in a storm (``accept()`` failing, invalid requests) is
  logged at most :data:`LOG_BURST` times per :data:`LOG_WINDOW` seconds, then once with how many were
  suppressed.

The protocol classes are module-level (uvicorn's worker processes pickle the config); their per-process
state (the connection counts) lives on the :class:`GuardedConfig` they receive.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sys
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import h11
import uvicorn
from uvicorn.config import STARTUP_FAILURE
from uvicorn.middleware.proxy_headers import _TrustedHosts
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from uvicorn.server import ServerState

from facilitation.core.errors import error_body
from facilitation.settings import Settings
from facilitation.web import fdlimit

__all__ = [
    "ConnectionGuard",
    "ConnectionLimits",
    "GuardedConfig",
    "RateLimitedLog",
    "connection_limits",
    "per_address_cap",
    "run",
]

log = logging.getLogger("facilitation.web.server")

FALLBACK_MAX_CONNECTIONS = 10_000
"""Total cap where the open-file limit cannot be read (Windows has no ``resource`` module)."""
LINGER_SECONDS = 1.0
"""A refused connection is half-closed and kept this long so the client reads the refusal before the
close (closing with its request unread would send a reset that can discard the answer)."""
MAX_LINGERING = 256
"""Refused connections lingering at once; beyond this a refusal closes at once (a flood)."""
LOG_WINDOW = 10.0
LOG_BURST = 5
RESERVE_SHARE = 0.1
"""Share of the total cap one address can never take: at 1,024 open files (922 connections) one address holds
at most 830, and 92 stay for everyone else."""


def per_address_cap(configured: int, total: int) -> int:
    """The per-address cap actually enforced: the configured one, but always below the total."""
    return max(1, min(configured, total - max(1, int(total * RESERVE_SHARE))))


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    """Every limit the server enforces below the app; defaults in :class:`~facilitation.settings.Settings`."""

    max_connections: int
    """Open TCP connections this process accepts in total (HTTP and WebSocket)."""
    max_per_address: int
    """Open TCP connections from one peer address (a trusted proxy is exempt)."""
    request_timeout: float
    """Seconds for the request line and headers, from connecting or from the previous response."""
    body_timeout: float
    """Seconds for a request body, from connecting or from the previous response."""


def connection_limits(settings: Settings, descriptors: int | None = None) -> ConnectionLimits:
    """The limits for this process: the configured total, kept below the open-file limit."""
    descriptors = fdlimit.probe().soft if descriptors is None else descriptors
    ceiling = FALLBACK_MAX_CONNECTIONS
    if descriptors is not None:  # the same rule as the serve banner's "this process can hold N phones"
        ceiling = max(1, fdlimit.phone_capacity(descriptors))
    total = settings.max_connections or ceiling
    if total > ceiling:
        log.warning(
            "max_connections %d is above what %s open files allow; capping at %d", total, descriptors, ceiling
        )
        total = ceiling
    return ConnectionLimits(
        max_connections=total,
        max_per_address=per_address_cap(settings.max_connections_per_address, total),
        request_timeout=settings.request_timeout,
        body_timeout=max(settings.request_timeout, settings.body_timeout),
    )


class RateLimitedLog(logging.Filter):
    """Lets each message template through :data:`LOG_BURST` times per :data:`LOG_WINDOW` seconds.

    Used as a filter on uvicorn's logger and for the event loop's exception handler: a storm of one
    failure (``accept()`` out of descriptors, garbage requests) must not fill the disk.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self._clock = clock
        self._windows: dict[str, tuple[float, int]] = {}

    def allow(self, key: str) -> tuple[bool, int]:
        """Whether to log ``key`` now, and how many were suppressed in the window that just ended."""
        now = self._clock()
        start, count = self._windows.get(key, (now, 0))
        suppressed = 0
        if now - start > LOG_WINDOW:
            suppressed = max(0, count - LOG_BURST)
            start, count = now, 0
        self._windows[key] = (start, count + 1)
        if len(self._windows) > 1_000:
            self._windows.clear()
        return count < LOG_BURST, suppressed

    def filter(self, record: logging.LogRecord) -> bool:
        allowed, suppressed = self.allow(f"{record.name}:{record.msg}")
        if allowed and suppressed:
            record.msg = f"{record.msg} ({suppressed} like this suppressed in the last {LOG_WINDOW:.0f} s)"
        return allowed


def _loop_exception_handler(limiter: RateLimitedLog) -> Any:
    def handle(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        allowed, suppressed = limiter.allow(f"loop:{context.get('message')}")
        if not allowed:
            return
        if suppressed:
            context = {**context, "message": f"{context.get('message')} ({suppressed} like this suppressed)"}
        loop.default_exception_handler(context)

    return handle


class ConnectionGuard:
    """Counts this process's open connections, in total and per peer address, and admits or refuses."""

    def __init__(self, limits: ConnectionLimits, trusted_proxies: list[str] | str) -> None:
        self.limits = limits
        self._trusted = _TrustedHosts(trusted_proxies)
        self._open: dict[object, str] = {}
        self._per_address: dict[str, int] = {}
        self._unproven: OrderedDict[object, Callable[[], None]] = OrderedDict()
        """Connections that have not finished a request yet, oldest first, with how to close each."""
        self.shed = 0
        self.lingering = 0
        self.refused = 0

    @property
    def open(self) -> int:
        return len(self._open)

    def admit(self, transport: object, address: str, close: Callable[[], None] = lambda: None
              ) -> tuple[int, str, str] | None:
        """Count a new connection, or return the refusal (status, code, message) without counting it.
        ``close`` closes the connection, should it have to be shed before it finishes a request."""
        exempt = address in self._trusted
        if not exempt and self._per_address.get(address, 0) >= self.limits.max_per_address:
            self.refused += 1
            return 429, "too_many_connections", (
                f"at most {self.limits.max_per_address} connections from one address: close some and retry"
            )
        if len(self._open) >= self.limits.max_connections and not self._shed_one():
            self.refused += 1
            return 503, "server_full", (
                f"this server holds {self.limits.max_connections} connections at most: retry in a moment"
            )
        self._open[transport] = address
        self._per_address[address] = self._per_address.get(address, 0) + 1
        self._unproven[transport] = close
        return None

    def proven(self, transport: object) -> None:
        """The connection finished a request (or a WebSocket handshake): it is no longer shed first."""
        self._unproven.pop(transport, None)

    def _shed_one(self) -> bool:
        """Close the oldest connection that never finished a request, and count it gone at once."""
        if not self._unproven:
            return False
        transport, close = self._unproven.popitem(last=False)
        self.release(transport)
        self.shed += 1
        close()
        return True

    def release(self, transport: object) -> None:
        """Forget a closed connection (idempotent: both protocols of an upgraded connection call it)."""
        self._unproven.pop(transport, None)
        address = self._open.pop(transport, None)
        if address is None:
            return
        left = self._per_address[address] - 1
        if left:
            self._per_address[address] = left
        else:
            del self._per_address[address]


class GuardedConfig(uvicorn.Config):
    """uvicorn's Config with our protocols and limits; holds the per-process :class:`ConnectionGuard`."""

    def __init__(self, app: Any, *, limits: ConnectionLimits, **options: Any) -> None:
        super().__init__(app, http=GuardedH11Protocol, ws=GuardedWebSocketProtocol, **options)
        self.limits = limits
        self._guard: ConnectionGuard | None = None

    def guard(self, loop: asyncio.AbstractEventLoop) -> ConnectionGuard:
        """This process's guard, made on first use (in the worker, on its loop)."""
        if self._guard is None:
            self._guard = ConnectionGuard(self.limits, self.forwarded_allow_ips)
            limiter = RateLimitedLog()
            logging.getLogger("uvicorn.error").addFilter(limiter)
            logging.getLogger("asyncio").addFilter(limiter)
            loop.set_exception_handler(_loop_exception_handler(limiter))
        return self._guard

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_guard"] = None  # each worker process counts its own connections
        return state


def _refusal_bytes(status: int, code: str, message: str) -> bytes:
    body = json.dumps(error_body(code, message)).encode()
    reason = {429: b"Too Many Requests", 503: b"Service Unavailable", 408: b"Request Timeout"}[status]
    head = (
        b"HTTP/1.1 %d %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\nconnection: close\r\n"
        b"retry-after: 5\r\n\r\n" % (status, reason, len(body))
    )
    return head + body


class GuardedH11Protocol(H11Protocol):
    """uvicorn's HTTP/1.1 protocol with the connection cap and the request deadline."""

    def __init__(
        self,
        config: GuardedConfig,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self._limits = config.limits
        self._guard = config.guard(self.loop)
        self._deadline: asyncio.TimerHandle | None = None
        self._request_started = 0.0
        self._refused = False
        self._lingering = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        refusal = self._guard.admit(transport, self.client[0] if self.client else "", transport.close)
        if refusal is not None:
            self._refuse(*refusal)
            return
        self._arm(self._limits.request_timeout)

    def _refuse(self, status: int, code: str, message: str) -> None:
        """Answer a refused connection without reading its request, then close it."""
        self._refused = True
        self.transport.write(_refusal_bytes(status, code, message))
        if status == 503 or self._guard.lingering >= MAX_LINGERING:
            self.transport.close()  # out of room: free the descriptor now
            return
        self._guard.lingering += 1
        self._lingering = True
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.loop.call_later(LINGER_SECONDS, self.transport.close)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return  # discard: the refusal is already on its way
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:  # a whole request head arrived (or the connection ended)
            self._guard.proven(self.transport)

    def _arm(self, seconds: float) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
        self._request_started = self.loop.time()
        self._deadline = self.loop.call_later(seconds, self._check_deadline)

    def _check_deadline(self) -> None:
        """Close a connection whose request has not arrived in time; leave one whose request is served."""
        self._deadline = None
        if self.transport.is_closing():
            return
        state = self.conn.their_state
        if state is h11.SEND_BODY:
            left = self._request_started + self._limits.body_timeout - self.loop.time()
            if left > 0:
                self._deadline = self.loop.call_later(left, self._check_deadline)
                return
        elif state is not h11.IDLE:
            return  # the request has arrived: the app is answering it
        self.transport.close()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm(self._limits.request_timeout)  # the next request on this kept-alive connection

    def handle_websocket_upgrade(self, event: h11.Request) -> None:
        self._guard.proven(self.transport)
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        super().handle_websocket_upgrade(event)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        if self._lingering:
            self._lingering = False
            self._guard.lingering -= 1
        self._guard.release(self.transport)
        super().connection_lost(exc)


READ_AHEAD_MESSAGES = 4
READ_AHEAD_BYTES = 16 * 1024
"""uvicorn stops reading a socket after every message until the app has taken it, which costs two epoll
system calls per frame (about a tenth of the server's CPU per vote, measured with py-spy). Up to this many
small messages may wait for the app before reading pauses: still bounded per connection."""


class GuardedWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's WebSocket protocol; gives the connection's slot back when the socket closes, and reads a
    few small messages ahead instead of pausing the socket after each one."""

    def __init__(
        self,
        config: GuardedConfig,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self._guard = config.guard(self.loop)

    def connection_lost(self, exc: Exception | None) -> None:
        self._guard.release(self.transport)
        super().connection_lost(exc)

    def send_receive_event_to_app(self) -> None:
        if self.curr_msg_data_type == "text" and not self.close_sent and not _utf8(self.frames):
            # uvicorn would log this with a traceback; a client's bad bytes are not a server error
            self.frames = []
            self.logger.info("closed a WebSocket that sent invalid UTF-8 (1007)")
            self.conn.send_close(1007)
            self.handle_parser_exception()
            return
        if self.read_paused or self.queue.qsize() >= READ_AHEAD_MESSAGES - 1 or (
            sum(len(frame) for frame in self.frames) > READ_AHEAD_BYTES
        ):
            super().send_receive_event_to_app()  # pauses reading until the app catches up
            return
        self.read_paused = True  # tells the parent "already paused", so it does not pause ...
        super().send_receive_event_to_app()
        self.read_paused = False  # ... and reading goes on: nothing was paused


def _utf8(frames: list[bytes]) -> bool:
    """Whether a text message's frames are valid UTF-8 (ASCII, the common case, without decoding)."""
    data = frames[0] if len(frames) == 1 else b"".join(frames)
    if data.isascii():
        return True
    try:
        data.decode()
    except UnicodeDecodeError:
        return False
    return True


def build_config(app: Any, settings: Settings, **options: Any) -> GuardedConfig:
    """uvicorn's config for ``app`` (an app or an import string) with the limits from ``settings``."""
    limits = connection_limits(settings)
    options.setdefault("timeout_keep_alive", 5)
    options.setdefault("backlog", 2048)
    options.setdefault("h11_max_incomplete_event_size", 16 * 1024)
    return GuardedConfig(app, limits=limits, **options)


def run(app: Any, settings: Settings, **options: Any) -> None:
    """Serve ``app`` like ``uvicorn.run`` (with ``workers=N`` when ``app`` is an import string)."""
    config = build_config(app, settings, **options)
    limits = config.limits
    log.info(
        "connections: at most %d open, %d per address; request headers within %.0f s",
        limits.max_connections, limits.max_per_address, limits.request_timeout,
    )
    print(
        f"connection limits: {limits.max_connections} open connections per process, "
        f"{limits.max_per_address} per address",
        flush=True,
    )
    if config.workers > 1:
        from uvicorn.supervisors import Multiprocess

        sock = config.bind_socket()
        Multiprocess(config, sockets=[sock]).run()
        return
    server = uvicorn.Server(config)
    with contextlib.suppress(KeyboardInterrupt):
        server.run()
    if not server.started:
        sys.exit(STARTUP_FAILURE)
