"""Live analysis under load: N phones vote for S seconds on one server worker while the map keeps up.

    python bench/bench_live.py --out bench/results/live.json [--participants 1000] [--duration 60]
                               [--vote-interval 3] [--processes 1]

Starts its own `facilitation serve` (SQLite in a temporary directory, live analysis on, one worker), drives
it with the `facilitation loadtest` phones (facilitation/loadtest.py) and a projector that also records
every ``analysis`` message, and reports:

* map lag: from a vote being sent to the first projector ``analysis`` whose ``upto_seq`` covers the vote's
  event (its ``seq`` as seen in the projector's batch), p50/p99; target p99 <= 2 s;
* vote -> projector counter (the vote in a ``batch``), p50/p99, while analysis runs; target p99 < 100 ms;
* event-loop stalls measured inside the server (``facilitation_event_loop_lag_seconds`` histogram, delta
  over the voting window, and the max gauge); target <= 50 ms;
* analysis runs per minute and their CPU share (worker CPU seconds / wall seconds, in cores), beside the
  server process's own CPU.

The load generator shares the 2 cores with the server: figures are honest for this machine, noisy while
others work. Run it alone when you can.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request
from bisect import bisect_left
from collections import defaultdict
from pathlib import Path
from typing import Any

from facilitation import loadtest
from facilitation.loadtest import Projector, percentile, run_fleet

TARGETS = {"map_lag_p99_s": 2.0, "loop_stall_max_s": 0.05, "vote_to_projector_p99_ms": 100.0}



class MapProjector(Projector):
    """The loadtest's projector, also recording each vote's sequence number and every map's arrival."""

    def __init__(self, base: str, code: str) -> None:
        super().__init__(base, code)
        self.vote_seq: dict[tuple[int, int], list[tuple[int, float]]] = defaultdict(list)
        self.maps: list[tuple[int, float, int]] = []
        """(upto_seq, arrival, size in bytes) of every analysis message."""

    async def _read(self) -> None:
        async for raw in self.ws:
            now = time.monotonic()
            if '"type":"analysis"' in raw[:40]:
                message = json.loads(raw)
                self.maps.append((int(message["upto_seq"]), now, len(raw)))
                continue
            message = json.loads(raw)
            if message.get("type") != "batch":
                continue
            self.batches += 1
            for event in message["events"]:
                self.updates += 1
                if event["type"] == "vote":
                    key = (event["participant"], event["statement"])
                    self.arrivals[key].append(now)
                    self.vote_seq[key].append((event["seq"], now))


def _metrics(base: str) -> dict[str, float]:
    with urllib.request.urlopen(base + "/metrics", timeout=10) as response:
        text = response.read().decode()
    out: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        name, _, value = line.rpartition(" ")
        out[name] = float(value)
    return out


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its reaped children (the analysis workers are live children)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def _rss_mb(pid: int) -> float | None:
    """The server process's resident memory (its analysis workers not included), from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return None


def _children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    return [int(p) for p in out]


def _lag_histogram(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    buckets: dict[str, float] = {}
    for name, value in after.items():
        m = re.match(r'facilitation_event_loop_lag_seconds_bucket\{le="([^"]+)"\}', name)
        if m:
            buckets[m.group(1)] = value - before.get(name, 0.0)
    return buckets


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _bench(args: argparse.Namespace) -> dict[str, Any]:
    from facilitation.loadtest import _prepare

    tmp = tempfile.mkdtemp(prefix="bench-live-")
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "FACILITATION_ANALYSIS": "0" if args.no_analysis else "1", **loadtest.ONE_ADDRESS_ENV}
    server = subprocess.Popen(
        [sys.executable, "-m", "facilitation.cli", "serve", "--port", str(port), "--store", f"sqlite:///{tmp}/m.db"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(base + "/healthz", timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        code, _ = await _prepare(argparse.Namespace(url=base, code=None, host_key=None))
        projector = MapProjector(base, code)
        await projector.start()
        # Warm-up: one vote and its map, so the worker pool's start (~1-2 s of imports) is not measured.
        from facilitation.client import MeetingClient

        warm = MeetingClient(base, code, "participant")
        await warm.connect()
        await warm.vote(0, "agree")
        deadline = time.monotonic() + (0 if args.no_analysis else 120)
        while not projector.maps and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        await warm.close()
        n, duration, interval = args.participants, args.duration, args.vote_interval
        fleet_task = asyncio.get_running_loop().create_task(
            run_fleet(base, code, n, 0, interval, duration, False, 0))
        # run_fleet connects everyone, then votes for `duration`; sample server figures around the voting.
        while not projector.vote_seq and not fleet_task.done():
            await asyncio.sleep(0.05)
        before, t0 = _metrics(base), time.monotonic()
        cpu0 = {p: _cpu_seconds(p) for p in [server.pid, *_children(server.pid)]}
        await asyncio.sleep(max(0.0, duration - 1.0))
        after, t1 = _metrics(base), time.monotonic()
        cpu1 = {p: _cpu_seconds(p) for p in [server.pid, *_children(server.pid)] if Path(f"/proc/{p}").exists()}
        rss_mb = _rss_mb(server.pid)
        fleet = await fleet_task
        await asyncio.sleep(3.0)  # the last votes' map
        await projector.stop()
    finally:
        server.terminate()
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()
    wall = t1 - t0
    maps = sorted(projector.maps)
    upto = [m[0] for m in maps]
    arrivals_by_upto = [m[1] for m in maps]
    # earliest arrival among maps covering seq s = min over maps with upto >= s (maps arrive in upto order)
    map_lag: list[float] = []
    to_projector: list[float] = []
    uncovered = 0
    seq_lists = {k: list(v) for k, v in projector.vote_seq.items()}
    for participant, statement, sent, _acked in fleet.records:
        seen = seq_lists.get((participant, statement))
        if not seen:
            continue
        seq, arrived = seen.pop(0)
        to_projector.append(arrived - sent)
        i = bisect_left(upto, seq)
        if i == len(upto):
            uncovered += 1
            continue
        map_lag.append(min(arrivals_by_upto[i:]) - sent)
    hist = _lag_histogram(before, after)
    bounds = sorted((float(b), c) for b, c in hist.items() if b != "+Inf")
    stalls_over_50ms = hist.get("+Inf", 0.0) - dict(bounds).get(0.05, 0.0)
    longest_bound = next((b for b, c in reversed(bounds) if c < hist.get("+Inf", 0.0)), None)
    runs = after.get('facilitation_analysis_runs_total{outcome="ok"}', 0) - before.get(
        'facilitation_analysis_runs_total{outcome="ok"}', 0)
    analysis_cpu = after.get("facilitation_analysis_cpu_seconds_total", 0) - before.get(
        "facilitation_analysis_cpu_seconds_total", 0)
    server_cpu = cpu1.get(server.pid, 0.0) - cpu0.get(server.pid, 0.0)
    worker_cpu = sum(cpu1[p] - cpu0.get(p, 0.0) for p in cpu1 if p != server.pid)
    sizes = [m[2] for m in maps]

    def ms(x: float | None) -> float | None:
        return None if x is None else round(x * 1000, 1)

    figures = {
        "participants": n,
        "connected": fleet.connected,
        "duration_s": duration,
        "votes_sent": len(fleet.records),
        "votes_acked": sum(1 for r in fleet.records if r[3] is not None),
        "errors": dict(fleet.errors),
        "maps_received": len(maps),
        "map_bytes_last": sizes[-1] if sizes else None,
        "map_lag_p50_s": None if not map_lag else round(percentile(map_lag, 50) or 0, 3),
        "map_lag_p99_s": None if not map_lag else round(percentile(map_lag, 99) or 0, 3),
        "votes_never_on_a_map": uncovered,
        "vote_to_projector_p50_ms": ms(percentile(to_projector, 50)),
        "vote_to_projector_p99_ms": ms(percentile(to_projector, 99)),
        "loop_stall_max_s": round(after.get("facilitation_event_loop_lag_max_seconds", 0.0), 4),
        "loop_stall_max_s_note": "max gauge since server start (includes the connect phase)",
        "loop_stalls_over_50ms_in_window": int(stalls_over_50ms),
        "loop_stall_bucket_max_in_window_s": None if longest_bound is None else longest_bound,
        "analysis_runs_per_min": round(runs / wall * 60, 1),
        "analysis_cpu_cores": round(analysis_cpu / wall, 3),
        "analysis_workers_cpu_cores": round(worker_cpu / wall, 3),
        "server_loop_process_cpu_cores": round(server_cpu / wall, 3),
        "window_s": round(wall, 1),
        "server_rss_mb": rss_mb,
    }
    figures["targets"] = TARGETS
    figures["meets_targets"] = {
        "map_lag_p99": figures["map_lag_p99_s"] is not None and figures["map_lag_p99_s"] <= TARGETS["map_lag_p99_s"],
        "loop_stall_in_window": stalls_over_50ms == 0,
        "vote_to_projector_p99": (figures["vote_to_projector_p99_ms"] or 1e9) < TARGETS["vote_to_projector_p99_ms"],
    }
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="where to write the figures as JSON")
    parser.add_argument("--participants", type=int, default=1000)
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--vote-interval", type=float, default=3.0)
    parser.add_argument("--no-analysis", action="store_true",
                        help="baseline: the same load with live analysis off (map figures are then empty)")
    args = parser.parse_args()
    figures = asyncio.run(_bench(args))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(figures, indent=2, ensure_ascii=False))
    width = max(len(k) for k in figures)
    for key, value in figures.items():
        print(f"{key:<{width}}  {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
