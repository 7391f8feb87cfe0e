"""Process-wide runtime settings for the server: the garbage collector.

Why: Python's cyclic collector stops the event loop while it runs, and with 1,000 phones it ran about
ten times a second (the default first threshold of 700 allocations is reached by every few votes), with
full collections over the whole heap (meeting state, 20,000 recent events, every connection's objects)
of 50-130 ms (measured with ``facilitation_gc_pause_seconds``, 1,000 phones, live analysis on). The
server's own data is acyclic and freed by reference counting; the collector is only needed for the rare
cycles (exceptions holding frames, closed sockets). So:

- everything alive once the server has started (modules, classes, settings) is moved out of the
  collector's sight with ``gc.freeze()``: it lives as long as the process and would only be re-scanned;
- young collections run every :data:`YOUNG_THRESHOLD` allocations instead of 700, so the older
  generations (and the full collections) come about seventy times less often.

The pauses stay measured in ``facilitation_gc_pause_seconds`` on ``/metrics``.
"""

from __future__ import annotations

import gc

__all__ = ["YOUNG_THRESHOLD", "tune_gc"]

YOUNG_THRESHOLD = 50_000
"""Net allocations between young collections (CPython's default: 700)."""
OLDER_THRESHOLDS = (20, 20)
"""Young collections per middle one, middle ones per full one (defaults: 10, 10)."""


def tune_gc() -> None:
    """Call once the server has started: freeze what exists, then collect less often."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, *OLDER_THRESHOLDS)
