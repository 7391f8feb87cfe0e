"""The app's parts: made once in the Starlette lifespan and handed to every request and socket as its state.

Nothing is set on ``app.state`` later or made on first use: what a handler reaches exists from start-up to
shutdown, and a test that builds the app gets the same parts a server does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.requests import HTTPConnection

from facilitation.core.admission import AddressCounter, AttemptLimiter, CommandLimiter, JoinLimiter, RateLimiter
from facilitation.live.hub import Hub
from facilitation.settings import Settings
from facilitation.web.server import connection_limits, per_address_cap

__all__ = ["AppParts", "parts"]


@dataclass(frozen=True, slots=True)
class AppParts:
    settings: Settings
    hub: Hub
    coordinator: Any
    """The Redis ownership coordinator (facilitation/live/ownership.py), None embedded."""
    attempts: AttemptLimiter
    """Failed attempts per address (unknown codes, wrong host keys), shared by HTTP and the WebSocket."""
    creations: RateLimiter
    """Meetings created per address."""
    connections: AddressCounter
    """Live connections per address."""
    joins: JoinLimiter
    """New participants per meeting per address."""
    commands: CommandLimiter
    """Commands per participant."""
    privacy_default: dict[str, Any] | None = None
    """The saved default privacy notice (``FACILITATION_PRIVACY_NOTICE``), None without one."""

    @classmethod
    def make(cls, settings: Settings, hub: Hub, coordinator: Any = None,
             privacy_default: dict[str, Any] | None = None) -> AppParts:
        total = connection_limits(settings).max_connections  # live connections per address stay below it too
        return cls(settings, hub, coordinator, AttemptLimiter(),
                   RateLimiter(settings.create_limit, settings.create_window),
                   AddressCounter(per_address_cap(settings.max_websockets_per_address, total)),
                   JoinLimiter(settings.join_rate, settings.join_burst), CommandLimiter(), privacy_default)


def parts(conn: HTTPConnection) -> AppParts:
    """The parts of the app serving this request or socket."""
    found: AppParts = conn.state.parts
    return found
