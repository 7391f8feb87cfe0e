"""Process-wide runtime settings for the server: the garbage collector.

Why: Python's cyclic collector stops the event loop while it runs. With 1,000 phones it ran about ten
times a second (the default first threshold of 700 allocations is reached every few votes), and its full
collections walked the whole heap — the meeting state, 20,000 recent events, the op memory, every
connection's objects — for 50-130 ms each (measured with ``facilitation_gc_pause_seconds``, 1,000 phones,
live analysis on). The server's own data is acyclic and freed by reference counting; the collector is only
needed for the rare cycles. So:

- young collections run every :data:`YOUNG_THRESHOLD` allocations instead of 700;
- whatever survives a full collection is frozen (``gc.freeze()``): it has proven long-lived, and the next
  full collection only walks what was made since, so no pause grows with the meeting;
- every :data:`THAW_INTERVAL` seconds everything is unfrozen (:func:`thaw_periodically`), so one full
  collection walks the whole heap and frees cycles that became garbage after they were frozen (a phone's
  connection and its socket pump refer to each other until they are collected): one long pause every ten
  minutes instead of one at every full collection, and no leak beyond ten minutes' worth.

The pauses stay measured in ``facilitation_gc_pause_seconds`` on ``/metrics``.
"""

from __future__ import annotations

import asyncio
import gc
from typing import Any

__all__ = ["THAW_INTERVAL", "YOUNG_THRESHOLD", "thaw_periodically", "tune_gc"]

YOUNG_THRESHOLD = 10_000
"""Net allocations between young collections (CPython's default: 700)."""
OLDER_THRESHOLDS = (10, 10)
"""Young collections per middle one, middle ones per full one (CPython's defaults)."""


def _freeze_after_full(phase: str, info: dict[str, Any]) -> None:
    if phase == "stop" and info.get("generation") == 2:
        gc.freeze()


def tune_gc() -> None:
    """Call once the server has started (idempotent)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, *OLDER_THRESHOLDS)
    if _freeze_after_full not in gc.callbacks:
        gc.callbacks.append(_freeze_after_full)


THAW_INTERVAL = 600.0
"""Seconds between unfreezing everything, so frozen cycles that died are collected."""


async def thaw_periodically(interval: float = THAW_INTERVAL) -> None:
    """Run for the server's lifetime (cancel to stop)."""
    while True:
        await asyncio.sleep(interval)
        gc.unfreeze()
