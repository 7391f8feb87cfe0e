"""Defences shared by HTTP and WebSocket: failed-attempt limits per address and security headers.

Guessing a meeting code or a host key means many failures from one address; after
:data:`MAX_FAILURES` failures within :data:`WINDOW` seconds an address is refused until the window
passes, except for requests that prove a secret of the meeting (its host key, a returning phone's token):
a venue's Wi-Fi puts hundreds of phones behind one address, and one guesser there must not lock out the
host or the phones already in the meeting (see docs/security.md). The table is bounded (oldest addresses
are forgotten first) so a spray of addresses cannot grow memory.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque

from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["AttemptLimiter", "RateLimiter", "SecurityHeaders", "client_address"]

MAX_FAILURES = 20
WINDOW = 60.0
MAX_ADDRESSES = 100_000


def client_address(conn: HTTPConnection) -> str:
    return conn.client.host if conn.client is not None else "unknown"


class AttemptLimiter:
    """Counts failures (unknown code, wrong host key) per address in a sliding window."""

    def __init__(self, max_failures: int = MAX_FAILURES, window: float = WINDOW) -> None:
        self.max_failures = max_failures
        self.window = window
        self._failures: OrderedDict[str, list[float]] = OrderedDict()

    def allowed(self, address: str) -> bool:
        stamps = self._failures.get(address)
        if not stamps:
            return True
        cutoff = time.monotonic() - self.window
        while stamps and stamps[0] < cutoff:
            stamps.pop(0)
        return len(stamps) < self.max_failures

    def failed(self, address: str) -> None:
        stamps = self._failures.setdefault(address, [])
        self._failures.move_to_end(address)
        stamps.append(time.monotonic())
        del stamps[: -self.max_failures]
        while len(self._failures) > MAX_ADDRESSES:
            self._failures.popitem(last=False)


class RateLimiter:
    """At most ``limit`` actions per address in any ``window`` seconds (a sliding window); ``limit`` 0 means
    no limit. Used for meeting creation: cheap for a venue (a host creates a few meetings), a wall for a
    script creating hundreds a second. Bounded like :class:`AttemptLimiter`."""

    def __init__(self, limit: int, window: float = WINDOW) -> None:
        self.limit = limit
        self.window = window
        self._stamps: OrderedDict[str, deque[float]] = OrderedDict()

    def take(self, address: str) -> bool:
        """Count one action for ``address`` if it is within the limit; False (nothing counted) if not."""
        if self.limit <= 0:
            return True
        now = time.monotonic()
        stamps = self._stamps.get(address)
        if stamps is None:
            stamps = self._stamps[address] = deque()
        self._stamps.move_to_end(address)
        while stamps and stamps[0] <= now - self.window:
            stamps.popleft()
        if len(stamps) >= self.limit:
            return False
        stamps.append(now)
        while len(self._stamps) > MAX_ADDRESSES:
            self._stamps.popitem(last=False)
        return True


LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "[::1]"})


def trustworthy_origin(scope: Scope) -> bool:
    """Whether browsers treat the page's origin as potentially trustworthy (HTTPS, or a loopback host).

    Cross-Origin-Opener-Policy only applies there. Phones open the server over plain HTTP on the room's
    Wi-Fi (http://192.168.x.y:8000), where Chromium ignores the header and logs a console error on every
    page load; so it is sent only where it takes effect."""
    if scope.get("scheme") in ("https", "wss"):
        return True
    host = next((value.decode("latin-1") for key, value in scope.get("headers", []) if key == b"host"), "")
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    name = name.lower()
    return name in LOOPBACK_HOSTS or name.endswith(".localhost")


class SecurityHeaders:
    """Adds a strict Content-Security-Policy (no inline script) and friends to every HTTP response.

    The projector may be framed by the origins the operator lists (``frame_ancestors``), e.g. a
    streaming overlay; every other page refuses to be framed.
    """

    def __init__(self, app: ASGIApp, frame_ancestors: str = "'none'") -> None:
        self.app = app
        self.frame_ancestors = frame_ancestors

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        ancestors = self.frame_ancestors if path.startswith("/projector/") else "'none'"
        csp = (
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            f"connect-src 'self' ws: wss:; object-src 'none'; base-uri 'none'; frame-ancestors {ancestors}"
        )

        extra = [
            (b"content-security-policy", csp.encode()),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"no-referrer"),
        ]
        if trustworthy_origin(scope):
            extra.append((b"cross-origin-opener-policy", b"same-origin"))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)
