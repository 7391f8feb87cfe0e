"""Configuration, read once: ``FACILITATION_*`` environment variables, overridden by CLI flags."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

__all__ = ["Settings"]

DEFAULT_STORE = "sqlite:///./facilitation.db"


def _mask(url: str | None) -> str | None:
    """Hide a password in a URL when settings are printed or logged."""
    if url is None or "@" not in url:
        return url
    scheme, _, rest = url.partition("://")
    return f"{scheme}://***@{rest.rpartition('@')[2]}"


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8000
    store: str = DEFAULT_STORE
    redis: str | None = field(default=None, repr=False)
    workers: int = 1
    demo: bool = False
    public_url: str | None = None
    """Base URL for links and the QR code when the server sits behind a proxy (``FACILITATION_PUBLIC_URL``)."""
    frame_ancestors: str = "'none'"
    """Origins allowed to frame the projector page (``FACILITATION_FRAME_ANCESTORS``)."""
    analysis: bool = True
    create_limit: int = 30
    """Meetings one address may create per ``create_window`` seconds (``FACILITATION_CREATE_LIMIT``, 0: no
    limit). A venue shares one address: a workshop's 30 tables may each create a meeting in the same minute,
    while a script creating hundreds a second (and filling the store) is stopped."""
    create_window: float = 60.0
    privacy_notice: str | None = None
    """A JSON file with the agency's saved default privacy notice (``FACILITATION_PRIVACY_NOTICE``): the
    create form offers it (docs/agencies.md)."""
    # Connection hygiene (facilitation/web/server.py, facilitation/web/ws.py; docs/security.md "Connections"):
    request_timeout: float = 10.0
    """Seconds a client has to send its request line and headers (``FACILITATION_REQUEST_TIMEOUT``)."""
    body_timeout: float = 30.0
    """Seconds a client has to send a whole request, body included (``FACILITATION_BODY_TIMEOUT``)."""
    max_connections: int = 0
    """Open connections per process; 0: the open-file limit minus a reserve (``FACILITATION_MAX_CONNECTIONS``)."""
    max_connections_per_address: int = 2_000
    """Open TCP connections from one address (``FACILITATION_MAX_CONNECTIONS_PER_ADDRESS``)."""
    max_websockets_per_address: int = 1_500
    """Open live connections from one client address: 1,000 phones behind a venue's NAT fit
    (``FACILITATION_MAX_WEBSOCKETS_PER_ADDRESS``)."""
    idle_timeout: float = 75.0
    """Seconds a live connection may stay silent (no frame, not even a ping) before the server closes it with
    4000 (``FACILITATION_IDLE_TIMEOUT``). Clients ping every 25 s; a test shortens it."""
    room_idle_seconds: float = 1_800.0
    """A meeting nobody has used for this long (no connection, command or lookup) is closed in memory and
    reloaded from the store on its next use (``FACILITATION_ROOM_IDLE_SECONDS``, 0: never)."""
    join_rate: float = 100.0
    join_burst: int = 1_500
    """New participants per meeting per address: 100 a second, bursts of 1,500, so a room of 1,000 can all
    scan the QR code at once (``FACILITATION_JOIN_RATE``, ``FACILITATION_JOIN_BURST``)."""

    def __repr__(self) -> str:
        return (
            f"Settings(host={self.host!r}, port={self.port}, store={_mask(self.store)!r}, "
            f"redis={_mask(self.redis)!r}, workers={self.workers}, demo={self.demo})"
        )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        env = os.environ if env is None else env
        settings = cls(
            host=env.get("FACILITATION_HOST", cls.host),
            port=int(env.get("FACILITATION_PORT", cls.port)),
            store=env.get("FACILITATION_STORE", DEFAULT_STORE),
            redis=env.get("FACILITATION_REDIS") or None,
            workers=int(env.get("FACILITATION_WORKERS", 1)),
            public_url=env.get("FACILITATION_PUBLIC_URL") or None,
            frame_ancestors=env.get("FACILITATION_FRAME_ANCESTORS", "'none'"),
            analysis=env.get("FACILITATION_ANALYSIS", "1") not in ("0", "false", "no"),
            create_limit=int(env.get("FACILITATION_CREATE_LIMIT", cls.create_limit)),
            privacy_notice=env.get("FACILITATION_PRIVACY_NOTICE") or None,
        )
        settings = replace(settings, **_limits_from_env(env))
        return replace(settings, **{k: v for k, v in overrides.items() if v is not None})

    @property
    def store_url(self) -> str:
        """With Redis configured and the store left at its default, Redis is the store too."""
        if self.redis and self.store == DEFAULT_STORE:
            return self.redis
        return self.store

    def to_env(self) -> dict[str, str]:
        """The same settings as environment variables, for uvicorn worker processes."""
        env = {
            "FACILITATION_HOST": self.host,
            "FACILITATION_PORT": str(self.port),
            "FACILITATION_STORE": self.store,
            "FACILITATION_WORKERS": str(self.workers),
            "FACILITATION_FRAME_ANCESTORS": self.frame_ancestors,
            "FACILITATION_ANALYSIS": "1" if self.analysis else "0",
            "FACILITATION_CREATE_LIMIT": str(self.create_limit),
        }
        if self.redis:
            env["FACILITATION_REDIS"] = self.redis
        if self.public_url:
            env["FACILITATION_PUBLIC_URL"] = self.public_url
        if self.privacy_notice:
            env["FACILITATION_PRIVACY_NOTICE"] = self.privacy_notice
        env.update({name: str(getattr(self, field)) for field, name in _LIMIT_ENV.items()})
        return env


_LIMIT_ENV: dict[str, str] = {
    "request_timeout": "FACILITATION_REQUEST_TIMEOUT",
    "body_timeout": "FACILITATION_BODY_TIMEOUT",
    "max_connections": "FACILITATION_MAX_CONNECTIONS",
    "max_connections_per_address": "FACILITATION_MAX_CONNECTIONS_PER_ADDRESS",
    "max_websockets_per_address": "FACILITATION_MAX_WEBSOCKETS_PER_ADDRESS",
    "idle_timeout": "FACILITATION_IDLE_TIMEOUT",
    "room_idle_seconds": "FACILITATION_ROOM_IDLE_SECONDS",
    "join_rate": "FACILITATION_JOIN_RATE",
    "join_burst": "FACILITATION_JOIN_BURST",
}
"""The connection limits' environment variables, by field."""


def _limits_from_env(env: Mapping[str, str]) -> dict[str, Any]:
    """The connection limits set in the environment, converted to their fields' types."""
    types = {f.name: f.type for f in fields(Settings)}
    found: dict[str, Any] = {}
    for name, variable in _LIMIT_ENV.items():
        if variable in env:
            found[name] = float(env[variable]) if types[name] in (float, "float") else int(env[variable])
    return found
