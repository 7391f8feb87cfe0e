"""The server's garbage-collector settings (facilitation/web/runtime.py), in a child process: they are
process-wide, and the test process must keep its own."""

from __future__ import annotations

import json
import subprocess
import sys

SCRIPT = r"""
import asyncio, gc, json
from facilitation import metrics
from facilitation.web import runtime

metrics.watch_gc()
runtime.tune_gc()
after_start = gc.get_freeze_count()

class Node:
    def __init__(self):
        self.me = self  # a cycle: only the collector frees it

kept = [Node() for _ in range(1000)]  # survives the full collection below: frozen after it
gc.collect(2)
frozen_after_full = gc.get_freeze_count()
del kept  # now garbage, but frozen: not collected until thawed
collected_while_frozen = gc.collect(2)

async def thaw_once():
    task = asyncio.get_running_loop().create_task(runtime.thaw_periodically(0.05))
    await asyncio.sleep(0.2)
    task.cancel()
asyncio.run(thaw_once())
thawed = gc.get_freeze_count()
collected = gc.collect(2)
print(json.dumps({"threshold": gc.get_threshold(), "after_start": after_start,
                  "frozen_after_full": frozen_after_full, "collected_while_frozen": collected_while_frozen,
                  "thawed": thawed, "collected": collected,
                  "pauses": metrics.GC_SECONDS.counts, "pause_total": metrics.GC_SECONDS.total}))
"""


def test_tuned_collector_freezes_survivors_and_thaws_them_later() -> None:
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60, check=True)
    figures = json.loads(out.stdout)
    assert figures["threshold"][0] == 10_000
    assert figures["after_start"] > 0  # what existed at startup is out of the collector's sight
    assert figures["frozen_after_full"] > figures["after_start"]  # survivors of a full collection joined it
    assert figures["collected_while_frozen"] < 1000  # frozen cycles wait ...
    assert figures["thawed"] == 0  # unfrozen on the timer ...
    assert figures["collected"] >= 1000  # ... so the dead cycles are collected at last
    assert sum(figures["pauses"]) >= 3 and figures["pause_total"] > 0  # every collection was timed
