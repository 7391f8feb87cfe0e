"""Storage: where meetings are durable and how their events reach every process that serves them.

One port (:class:`~facilitation.storage.port.EventLog`), one backend per URL scheme, each standing alone:

| URL | backend | for |
|---|---|---|
| ``sqlite:///path`` | :class:`~facilitation.storage.embedded.EmbeddedLog` | one process (the laptop) |
| ``redis://host:port/db`` | :class:`~facilitation.storage.redis.RedisLog` | many processes; one node or a cluster |

Inside: the stores (``store.py`` the interface, ``sqlite.py``, ``redis_store.py``), the buses (``bus.py`` the
interface, ``memory_bus.py``, ``redis_bus.py`` with ``channels.py``), and ``redis_keys.py`` (key layout,
connecting, cluster detection). Tools that only read or import a meeting open a store alone
(:func:`open_store`); the server opens the backend (:func:`open_event_log`).
"""

from __future__ import annotations

from collections.abc import Callable

from facilitation.storage.bus import Backfill, Bus, Listener, Unsubscribe
from facilitation.storage.port import EventLog
from facilitation.storage.store import MeetingExists, Store, StoreRefused, StoreUnavailable

__all__ = [
    "Backfill",
    "Bus",
    "EventLog",
    "Listener",
    "MeetingExists",
    "Store",
    "StoreRefused",
    "StoreUnavailable",
    "Unsubscribe",
    "open_bus",
    "open_event_log",
    "open_store",
]

REDIS_SCHEMES = ("redis", "rediss", "unix")


def _scheme(url: str) -> str:
    return url.partition("://")[0]


def _embedded(url: str) -> EventLog:
    from facilitation.storage.embedded import EmbeddedLog

    return EmbeddedLog(url)


def _redis(url: str) -> EventLog:
    from facilitation.storage.redis import RedisLog

    return RedisLog(url)


BACKENDS: dict[str, Callable[[str], EventLog]] = {"sqlite": _embedded, **{s: _redis for s in REDIS_SCHEMES}}
"""Each URL scheme's backend: the only place that chooses."""


def open_event_log(url: str) -> EventLog:
    """The backend for ``url``; raises ValueError naming the accepted schemes for anything else."""
    backend = BACKENDS.get(_scheme(url))
    if backend is None:
        raise ValueError(f"unsupported store URL {url!r}: use sqlite:///path or redis://host:port/db")
    return backend(url)


def open_store(url: str) -> Store:
    """The store alone for ``url`` (tools: export, import), without delivery."""
    if _scheme(url) == "sqlite":
        from facilitation.storage.sqlite import SQLiteStore

        return SQLiteStore(url)
    if _scheme(url) in REDIS_SCHEMES:
        from facilitation.storage.redis_store import RedisStore

        return RedisStore(url)
    raise ValueError(f"unsupported store URL {url!r}: use sqlite:///path or redis://host:port/db")


def open_bus(url: str | None, backfill: Backfill | None = None) -> Bus:
    """A bus alone (the contract suites): None or ``memory://`` in-process, ``redis://`` the feed reader."""
    if url is None or url.startswith("memory://"):
        from facilitation.storage.memory_bus import MemoryBus

        return MemoryBus()
    if _scheme(url) in REDIS_SCHEMES:
        from facilitation.storage.redis_bus import RedisBus

        return RedisBus(url, backfill=backfill)
    raise ValueError(f"unsupported bus URL {url!r}: use memory:// or redis://host:port/db")
