"""Where a server's event-loop stalls come from: a diagnostic loaded through ``PYTHONPATH``, never in production.

    FACILITATION_STALLDIR=/tmp/st PYTHONPATH=bench/stallwatch python bench/bench_live.py --participants 10000 ...
    python bench/stallwatch/sitecustomize.py /tmp/st          # the summary

Python imports ``sitecustomize`` at startup; this one acts only in a ``facilitation serve`` process and only
when ``FACILITATION_STALLDIR`` names a directory. It starts a watchdog thread with the server's loop that posts
a heartbeat to the loop every 2 ms; while the heartbeat is over 15 ms late it samples the main thread's Python
stack every 2 ms. Each stall over 20 ms becomes one JSON line in ``stalls-<pid>.jsonl``: its wall length, the
main thread's CPU time during it (``cpu_ms``: a stall with little CPU was the machine's, the thread waited for
a core; with CPU ≥ 20 ms it was the server's own work), the garbage collections inside it (wall seconds,
generation, objects collected, CPU seconds, the young generation's count when it started) and the most
frequent stacks. A collection holds the GIL, so the watchdog cannot sample during one: its CPU time says how
long it was.

Why CPU time: on the shared 2-core machine other work takes the server's core for tens of milliseconds at a
time, and ``facilitation_event_loop_lag_seconds`` cannot tell that from the server's own long turns.
"""

from __future__ import annotations

import collections
import gc
import json
import os
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any

STALL = 0.020
LATE = 0.015
BEAT = 0.002


def _install(folder: str) -> None:
    pauses: list[tuple[float, float, int, int, float, int]] = []
    started = [0.0, 0.0, 0]

    def on_gc(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started[0], started[1], started[2] = time.perf_counter(), time.thread_time(), gc.get_count()[0]
            return
        end = time.perf_counter()
        if end - started[0] > 0.005:
            pauses.append((started[0], end, info.get("generation", -1), info.get("collected", 0),
                           time.thread_time() - started[1], int(started[2])))
            if len(pauses) > 1000:
                del pauses[:500]

    gc.callbacks.append(on_gc)
    main = threading.main_thread().ident
    assert main is not None

    def watch(loop: Any) -> None:
        with Path(folder, f"stalls-{os.getpid()}.jsonl").open("a") as out:
            _watch(loop, out)

    def _watch(loop: Any, out: Any) -> None:
        beat = [time.perf_counter()]
        clock = time.pthread_getcpuclockid(main)
        cpu_at_beat = time.clock_gettime(clock)
        stall_start: float | None = None
        cpu_start = 0.0
        stacks: collections.Counter[tuple[str, ...]] = collections.Counter()

        def tick() -> None:
            beat[0] = time.perf_counter()

        while True:
            try:
                loop.call_soon_threadsafe(tick)
            except RuntimeError:  # the loop closed
                return
            time.sleep(BEAT)
            if time.perf_counter() - beat[0] > LATE:
                if stall_start is None:
                    stall_start, cpu_start, stacks = beat[0], cpu_at_beat, collections.Counter()
                frame = sys._current_frames().get(main)
                if frame is not None:
                    stacks[tuple(f"{Path(f.filename).name}:{f.lineno}:{f.name}"
                                 for f in traceback.extract_stack(frame)[-14:])] += 1
                continue
            if stall_start is not None:
                length = beat[0] - stall_start
                if length > STALL:
                    inside = [(round(e - s, 4), g, c, round(cpu, 4), young) for s, e, g, c, cpu, young
                              in list(pauses) if e >= stall_start and s <= beat[0]]
                    out.write(json.dumps({"t": time.time(), "ms": round(length * 1000, 1),
                                          "cpu_ms": round((time.clock_gettime(clock) - cpu_start) * 1000, 1),
                                          "gc": inside,
                                          "stacks": [[n, list(k)] for k, n in stacks.most_common(4)]}) + "\n")
                    out.flush()
                stall_start = None
            cpu_at_beat = time.clock_gettime(clock)

    import uvicorn.server

    serve = uvicorn.server.Server.serve

    async def serve_watched(self: Any, *args: Any, **kwargs: Any) -> Any:
        import asyncio

        threading.Thread(target=watch, args=(asyncio.get_running_loop(),), daemon=True, name="stallwatch").start()
        return await serve(self, *args, **kwargs)

    uvicorn.server.Server.serve = serve_watched  # type: ignore[method-assign]


TURN = 0.010
"""A loop iteration logged by :func:`_install_turns` when it used this much of the main thread's CPU."""
PART = 0.0005
"""A callback listed inside a logged iteration when it used this much."""


def _install_turns(folder: str) -> None:
    """``FACILITATION_STALL_TURNS=1``: the server runs on asyncio's own loop instead of uvloop, and every loop
    iteration that uses :data:`TURN` of the main thread's CPU becomes a line in ``turns-<pid>.jsonl`` with its
    callbacks over :data:`PART` by name (a task's coroutine, or the callback's qualified name) and the
    collections inside it. The attribution uvloop's C loop cannot give; the costs of the Python code are the
    same on either loop, the loop's own are not."""
    import asyncio.base_events
    import asyncio.events

    import uvicorn.config

    uvicorn.config.LOOP_FACTORIES["auto"] = uvicorn.config.LOOP_FACTORIES["asyncio"]
    out = Path(folder, f"turns-{os.getpid()}.jsonl").open("a")  # noqa: SIM115 - open for the process lifetime
    parts: list[tuple[float, str]] = []
    collections_in: list[tuple[int, float]] = []
    gc_started = [0.0]

    def on_gc(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            gc_started[0] = time.thread_time()
        else:
            collections_in.append((info.get("generation", -1), time.thread_time() - gc_started[0]))

    gc.callbacks.append(on_gc)

    def name(handle: Any) -> str:
        callback = handle._callback
        owner = getattr(callback, "__self__", None)
        if isinstance(owner, asyncio.Task):
            coro = owner.get_coro()
            frame = getattr(coro, "cr_frame", None)
            where = f"{Path(frame.f_code.co_filename).name}:{frame.f_lineno}" if frame is not None else ""
            return f"task {getattr(coro, '__qualname__', coro)} {where}"
        return getattr(callback, "__qualname__", repr(callback))[:120]

    run = asyncio.events.Handle._run

    def timed_run(self: Any) -> None:
        started = time.thread_time()
        label = name(self)  # before: a task's frame moves on while it runs
        run(self)
        used = time.thread_time() - started
        if used >= PART:
            parts.append((used, label))

    asyncio.events.Handle._run = timed_run  # type: ignore[method-assign]
    loop_class: Any = asyncio.base_events.BaseEventLoop
    run_once = loop_class._run_once

    def timed_run_once(self: Any) -> None:
        parts.clear()
        collections_in.clear()
        started, wall = time.thread_time(), time.perf_counter()
        run_once(self)
        used = time.thread_time() - started
        if used >= TURN:
            out.write(json.dumps({"t": time.time(), "cpu_ms": round(used * 1000, 1),
                                  "wall_ms": round((time.perf_counter() - wall) * 1000, 1),
                                  "gc": [(g, round(c * 1000, 1)) for g, c in collections_in],
                                  "parts": sorted(((round(u * 1000, 1), n) for u, n in parts), reverse=True)[:8]})
                      + "\n")
            out.flush()

    loop_class._run_once = timed_run_once


def summarise(folder: str, window: float) -> None:
    """The stalls of the last ``window`` seconds of each file: how many, how many with ≥ 20 ms of the server's
    own CPU, the collections among them by generation, and where the others' stacks were."""
    for path in sorted(Path(folder).glob("stalls-*.jsonl")):
        rows = [json.loads(line) for line in path.read_text().splitlines()]
        if not rows:
            continue
        end = max(r["t"] for r in rows)
        rows = [r for r in rows if r["t"] > end - window]
        own = [r for r in rows if r["cpu_ms"] >= 20]
        collections_by_gen = collections.Counter(g[1] for r in rows for g in r["gc"] if g[3] >= 0.02)
        worst_gc = max((g[3] for r in rows for g in r["gc"]), default=0.0)
        places: collections.Counter[str] = collections.Counter()
        for r in own:
            if any(g[3] >= 0.015 for g in r["gc"]):
                places["garbage collection"] += 1
            elif r["stacks"]:
                places[r["stacks"][0][1][-1]] += 1
        print(f"{path.name}: {len(rows)} stalls over 20 ms in the last {window:g} s, {len(own)} with >= 20 ms of "
              f"the main thread's CPU; collections with >= 20 ms CPU by generation {dict(collections_by_gen)}, "
              f"the longest {worst_gc * 1000:.1f} ms CPU")
        for place, n in places.most_common(10):
            print(f"  {n:4d}  {place}")


_folder = os.environ.get("FACILITATION_STALLDIR")
if __name__ == "__main__":
    summarise(sys.argv[1], float(sys.argv[2]) if len(sys.argv) > 2 else 75.0)
elif _folder and "serve" in sys.orig_argv:
    if os.environ.get("FACILITATION_STALL_TURNS") == "1":
        _install_turns(_folder)
    else:
        _install(_folder)
