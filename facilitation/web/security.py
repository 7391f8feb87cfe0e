"""Defences of the HTTP side: the client's address and security headers.

The failed-attempt and creation limits per address, shared by HTTP and the WebSocket, are the core's admission
policy (facilitation/core/admission.py); they are re-exported here for older imports.
"""

from __future__ import annotations

from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from facilitation.core.admission import MAX_FAILURES, WINDOW, AttemptLimiter, RateLimiter

__all__ = ["MAX_FAILURES", "WINDOW", "AttemptLimiter", "RateLimiter", "SecurityHeaders", "client_address"]


def client_address(conn: HTTPConnection) -> str:
    return conn.client.host if conn.client is not None else "unknown"


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

    The projector may be framed by its own origin (the console's preview) and by the origins the operator
    lists (``frame_ancestors``), e.g. a streaming overlay; every other page refuses to be framed.
    """

    def __init__(self, app: ASGIApp, frame_ancestors: str = "'none'") -> None:
        self.app = app
        self.frame_ancestors = frame_ancestors
        # The host console previews the projector in a frame of the same origin (issue 23): the projector is
        # read-only and holds no key, so 'self' may always frame it, besides the operator's origins.
        extra = "" if frame_ancestors.strip() == "'none'" else f" {frame_ancestors.strip()}"
        self._projector = f"'self'{extra}"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        ancestors = self._projector if path.startswith("/projector/") else "'none'"
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
