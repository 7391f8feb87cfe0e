"""Buses chosen by URL: in-process (``memory://``, the default) or Redis (``redis://...``)."""

from __future__ import annotations

from facilitation.bus.base import Backfill, Bus, Listener, Unsubscribe

__all__ = ["Backfill", "Bus", "Listener", "Unsubscribe", "open_bus"]


def open_bus(url: str | None, backfill: Backfill | None = None) -> Bus:
    """The bus for ``url``: None or ``memory://`` is in-process. ``backfill`` reads durable events a Redis
    reader missed because the capped stream was trimmed past it (the store's ``events_since``)."""
    if url is None or url.startswith("memory://"):
        from facilitation.bus.memory import MemoryBus

        return MemoryBus()
    if url.startswith(("redis://", "rediss://", "unix://")):
        from facilitation.bus.redis import RedisBus  # type: ignore[import-not-found,unused-ignore]

        return RedisBus(url, backfill=backfill)  # type: ignore[no-any-return,unused-ignore]
    raise ValueError(f"unsupported bus URL {url!r}: use memory:// or redis://host:port/db")
