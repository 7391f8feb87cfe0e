"""The server's garbage-collector settings (facilitation/web/runtime.py), in a child process: they are
process-wide, and the test process must keep its own."""

from __future__ import annotations

import json
import subprocess
import sys

SCRIPT = r"""
import asyncio, gc, json, weakref
from facilitation import metrics
from facilitation.web import runtime

metrics.watch_gc()
runtime.tune_gc()
after_start = gc.get_freeze_count()

class Node:
    def __init__(self):
        self.me = self  # a cycle: only the collector frees it

kept = [Node() for _ in range(1000)]  # survives the young collection below: frozen after it
probe = weakref.ref(kept[0])
gc.collect(0)
frozen_after_young = gc.get_freeze_count()
older_after_young = len(gc.get_objects(1)) + len(gc.get_objects(2))
del kept  # now garbage, but frozen: not collected until thawed
collected_while_frozen = gc.collect(2)
alive_while_frozen = probe() is not None

more = [Node() for _ in range(500)]  # far below the threshold: only the timed young collection sees them
before_timed = gc.get_freeze_count()

async def young_by_time():
    task = asyncio.get_running_loop().create_task(runtime.collect_young_periodically(0.02))
    await asyncio.sleep(0.2)
    task.cancel()
asyncio.run(young_by_time())
frozen_by_time = gc.get_freeze_count() - before_timed

async def thaw_once():
    task = asyncio.get_running_loop().create_task(runtime.thaw_periodically(0.05))
    await asyncio.sleep(0.2)
    task.cancel()
asyncio.run(thaw_once())
print(json.dumps({"threshold": gc.get_threshold(), "after_start": after_start,
                  "frozen_after_young": frozen_after_young, "older_after_young": older_after_young,
                  "collected_while_frozen": collected_while_frozen, "alive_while_frozen": alive_while_frozen,
                  "freed_by_thaw": probe() is None, "frozen_by_time": frozen_by_time,
                  "pauses": metrics.GC_SECONDS.counts, "pause_total": metrics.GC_SECONDS.total}))
"""


def test_tuned_collector_freezes_survivors_and_thaws_them_later() -> None:
    """Survivors of any collection, a young one included (also made by time), are frozen; the timed thaw
    collects dead cycles."""
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60, check=True)
    figures = json.loads(out.stdout)
    assert figures["threshold"][0] == 10_000
    assert figures["after_start"] > 0  # what existed at startup is out of the collector's sight
    assert figures["frozen_after_young"] >= figures["after_start"] + 1000  # a young collection's survivors joined it
    assert figures["older_after_young"] < 100  # so the older generations hold nothing to walk
    assert figures["collected_while_frozen"] < 1000 and figures["alive_while_frozen"]  # frozen cycles wait ...
    assert figures["freed_by_thaw"]  # ... until the thaw unfreezes and collects them
    assert figures["frozen_by_time"] >= 500  # a young collection by time, below the allocation threshold
    assert sum(figures["pauses"]) >= 3 and figures["pause_total"] > 0  # every collection was timed
