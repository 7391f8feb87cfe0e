"""Process-wide runtime settings for the server: the garbage collector.

Why: Python's cyclic collector stops the event loop while it runs. With 1,000 phones it ran about ten
times a second (the default first threshold of 700 allocations is reached every few votes), and its full
collections walked the whole heap — the meeting state, the recent events, the op memory, every
connection's objects — for 50-130 ms each (measured with ``facilitation_gc_pause_seconds``, 1,000 phones,
live analysis on). At 10,000 phones the middle generation was the stall: every frame a phone sends leaves
its socket pump waiting for the next one in a fresh chain of coroutines, cells and lists that lives for
seconds, so each middle collection walked ~115,000 such survivors for 40-50 ms of CPU, ten times a minute
(a `gc.callbacks` probe counting the generation's objects by type, bench_live.py at 10,000 phones). The
server's own data is acyclic and freed by reference counting; the collector is only needed for the rare
cycles. So:

- young collections run every :data:`YOUNG_INTERVAL` seconds (:func:`collect_young_periodically`), and at
  the latest every :data:`YOUNG_THRESHOLD` allocations instead of 700. The threshold alone is not a bound:
  CPython counts allocations minus deallocations, and every old object freed (a pump's frozen coroutines,
  ended by the frame they waited for) takes one off the count, so at 10,000 phones the young generation
  grew to far more than 10,000 objects before it was collected, in pauses of 50-95 ms of CPU. By time, it
  holds what a tenth of a second left alive;
- whatever survives any collection, a young one included, is frozen (``gc.freeze()``): it has outlived
  ten thousand allocations, so it is long-lived enough, and no later collection walks it again. The older
  generations stay empty and no pause grows with the meeting or with the phones: each collection walks at
  most what was made since the previous one. Frozen objects are still freed by reference counting;
- every :data:`THAW_INTERVAL` seconds everything is unfrozen and collected (:func:`thaw_periodically`), so
  cycles that became garbage after they were frozen are freed (a phone's connection and its socket pump
  refer to each other until they are collected): one long pause every ten minutes (~0.5-1 s at 10,000
  phones) instead of ten a minute, and no leak beyond ten minutes' worth of such cycles.

The pauses stay measured in ``facilitation_gc_pause_seconds`` on ``/metrics``.
"""

from __future__ import annotations

import asyncio
import gc
from typing import Any

__all__ = ["THAW_INTERVAL", "YOUNG_INTERVAL", "YOUNG_THRESHOLD", "collect_young_periodically", "thaw_periodically",
           "tune_gc"]

YOUNG_THRESHOLD = 10_000
"""Net allocations between young collections (CPython's default: 700)."""
OLDER_THRESHOLDS = (10, 10)
"""Young collections per middle one, middle ones per full one (CPython's defaults)."""


def _freeze_survivors(phase: str, info: dict[str, Any]) -> None:
    if phase == "stop":
        gc.freeze()


def tune_gc() -> None:
    """Call once the server has started (idempotent)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, *OLDER_THRESHOLDS)
    if _freeze_survivors not in gc.callbacks:
        gc.callbacks.append(_freeze_survivors)


YOUNG_INTERVAL = 0.1
"""Seconds between young collections made by time (:func:`collect_young_periodically`)."""


async def collect_young_periodically(interval: float = YOUNG_INTERVAL) -> None:
    """Run for the server's lifetime (cancel to stop): a young collection every ``interval`` seconds, so no
    young collection walks more than that long's survivors (frozen after it by :func:`tune_gc`'s callback)."""
    while True:
        await asyncio.sleep(interval)
        gc.collect(0)


THAW_INTERVAL = 600.0
"""Seconds between unfreezing everything, so frozen cycles that died are collected."""


async def thaw_periodically(interval: float = THAW_INTERVAL) -> None:
    """Run for the server's lifetime (cancel to stop). The collection is explicit: with survivors frozen at
    every collection the older generations never fill, so no full collection would come by itself (the
    next young one would freeze the unfrozen heap again, dead cycles and all)."""
    while True:
        await asyncio.sleep(interval)
        gc.unfreeze()
        gc.collect()
