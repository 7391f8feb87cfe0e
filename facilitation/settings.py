"""Configuration, read once: ``FACILITATION_*`` environment variables, overridden by CLI flags."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
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
        )
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
        return env
