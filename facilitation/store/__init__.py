"""Stores chosen by URL: ``sqlite:///path`` (embedded, the default) or ``redis://host:port/db``."""

from __future__ import annotations

from facilitation.store.base import MeetingExists, Store, StoreRefused, StoreUnavailable

__all__ = ["MeetingExists", "Store", "StoreRefused", "StoreUnavailable", "open_store"]


def open_store(url: str) -> Store:
    """The store for ``url``; raises ValueError naming the accepted schemes for anything else."""
    if url.startswith("sqlite://"):
        from facilitation.store.sqlite import SQLiteStore

        return SQLiteStore(url)
    if url.startswith(("redis://", "rediss://", "unix://")):
        from facilitation.store.redis import RedisStore  # type: ignore[import-not-found,unused-ignore]

        return RedisStore(url)  # type: ignore[no-any-return,unused-ignore]
    raise ValueError(f"unsupported store URL {url!r}: use sqlite:///path or redis://host:port/db")
