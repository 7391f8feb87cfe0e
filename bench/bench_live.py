"""Live analysis under load: N phones vote on one server worker, the server alone on CPU 0, the load on CPU 1.

    python bench/bench_live.py --out bench/results/live.json [--participants 1000] [--duration 60]
                               [--vote-interval 3] [--processes N] [--post-rate PER_MIN] [--no-analysis]
                               [--target-p99-ms 100] [--max-stalls-per-minute 0]

Starts its own `facilitation serve` (SQLite in a temporary directory, live analysis on, one worker, the
server's default per-address limits) pinned to CPU 0 with ``taskset`` (its analysis pool inherits the pin),
warms the analysis pool with one vote, then drives it with `facilitation loadtest` (facilitation/tools/loadtest.py)
pinned to CPU 1: the phones in ``--processes`` processes (nice 5), connecting from one loopback address per
1,000 phones (127.0.0.2, ...), and the projector in a process of its own, so its arrival clock is never
behind a phone's work. Send and arrival times are ``time.monotonic()``: CLOCK_MONOTONIC on Linux, one clock
for every process.

Reports (JSON): connected; votes sent / acked / lost; vote -> projector p50/p99; ack p50/p99; map lag p50/p99 (vote
sent -> first projector map whose ``upto_seq`` covers it: the map the room is shown, which the steady map holds on
an older run while a re-formed map waits, by design) and analysis lag p50/p99 (the same to the first
``analysis_published`` event: the run as computed, what the map-lag target is about); event-loop stalls measured
inside the server (``facilitation_event_loop_lag_seconds``, delta over the voting window); server CPU in cores and
per acked vote (whole process tree, /proc), server RSS, and how long the server's processes waited for their CPU
(run-queue wait from /proc/<pid>/task/*/schedstat: other engineers' work on CPU 0 shows there); each load-generator
process's CPU (``load_generator.saturated`` when one of them, or CPU 1 as a whole, is above 80 %: then the
latencies are the load generator's); the statement post rate; the load average before and after.

Targets (issue 12): 1,000 phones / 3 s: vote -> projector p99 < 100 ms, no loop stall over 20 ms, map lag
p99 <= 0.5 s (checked on the analysis lag since the steady map, issue 22). 10,000 phones / 30 s: p99 < 250 ms
(``--target-p99-ms 250``), RSS reported; issue 21: at most one loop stall over 20 ms a minute
(``--max-stalls-per-minute 1``). A stall is a 20 ms timer woken more than 20 ms late (the server's
``facilitation_event_loop_lag_seconds`` histogram, bucket 0.02).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from facilitation.tools import loadtest
from facilitation.web import fdlimit
from tests.support.servers import free_port

SERVER_CPU = 0
CLIENT_CPU = 1
CONTENDED_WAIT = 0.05
"""Run-queue wait (cores) above which the server did not have its CPU to itself during the window."""
PHONES_PER_PROCESS = 2500
"""Phones per load-generator process by default: ~2,500 sockets' messages is what one process reads."""


def _wait_healthy(base: str, server: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"server exited with {server.returncode}")
        try:
            urllib.request.urlopen(base + "/healthz", timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("server did not become healthy")


async def _warm_analysis(base: str, code: str, timeout: float) -> bool:
    """One vote, then wait for the first analysis run: the pool's start (~1-2 s of imports) is not measured."""
    from facilitation.tools.client import MeetingClient

    warm = MeetingClient(base, code, "participant")
    await warm.connect()
    await warm.vote(0, "agree")
    deadline = time.monotonic() + timeout
    ran = False
    while time.monotonic() < deadline and not ran:
        metrics = await asyncio.to_thread(loadtest._metrics, base)
        ran = bool(metrics and metrics.get('facilitation_analysis_runs_total{outcome="ok"}', 0) >= 1)
        if not ran:
            await asyncio.sleep(0.1)
    await warm.close()
    return ran


def _pinned(cmd: list[str], cpu: int) -> list[str]:
    taskset = shutil.which("taskset")
    return [taskset, "-c", str(cpu), *cmd] if taskset and (os.cpu_count() or 1) > cpu else cmd


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    tmp = tempfile.mkdtemp(prefix="bench-live-")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "FACILITATION_ANALYSIS": "0" if args.no_analysis else "1"}
    if args.one_address:
        env.update(loadtest.ONE_ADDRESS_ENV)
    limit = fdlimit.raise_limit()  # the server inherits it: 10,000 phones are 10,000 descriptors there too
    log = Path(tmp) / "server.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            _pinned([sys.executable, "-m", "facilitation.tools.cli", "serve", "--port", str(port), "--store",
                     f"sqlite:///{tmp}/m.db", "--expect", str(args.participants)], SERVER_CPU),
            stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        _wait_healthy(base, server)
        code, host_key = await loadtest._prepare(argparse.Namespace(url=base, code=None, host_key=None,
                                                                    moderation=args.moderation))
        warmed = args.no_analysis or await _warm_analysis(base, code, 120.0)
        n = args.participants
        run_args = argparse.Namespace(
            url=base, code=code, host_key=host_key, participants=n, duration=args.duration,
            vote_interval=args.vote_interval, processes=args.processes or max(2, -(-n // PHONES_PER_PROCESS)),
            steady=False, seed=args.seed, post_rate=args.post_rate, moderation=args.moderation,
            source_addresses=1 if args.one_address else 0, client_cpus=str(CLIENT_CPU),
            server_pid=server.pid, json=True)
        figures = await loadtest._run(run_args)
    finally:
        server.terminate()
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()
    figures.update(
        bench="live", analysis=not args.no_analysis, analysis_warmed=warmed, vote_interval_s=args.vote_interval,
        server_cpu=SERVER_CPU, client_cpu=CLIENT_CPU, fd_limit=limit.soft,
        per_address_caps="lifted (ONE_ADDRESS_ENV)" if args.one_address else "server defaults",
        command=" ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
        date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    )
    server_figures = figures["server"]
    stalls = server_figures.get("loop_stalls_over_20ms", server_figures.get("loop_stalls_over_25ms"))
    # Over the duration, though the server's histogram also counts the drain after it: never flattering.
    stalls_per_minute = (stalls or 0) * 60.0 / args.duration
    figures["loop_stalls_over_20ms_per_minute"] = round(stalls_per_minute, 2)
    figures["targets"] = {"vote_to_projector_p99_ms": args.target_p99_ms, "loop_stall_s": 0.02,
                          "loop_stalls_over_20ms_per_minute": args.max_stalls_per_minute,
                          "analysis_lag_p99_s": None if args.no_analysis else 0.5}
    figures["meets_targets"] = {
        "vote_to_projector_p99": figures["p99_ms"] is not None and figures["p99_ms"] < args.target_p99_ms,
        "loop_stalls_over_20ms_within_bound": stalls is not None and stalls_per_minute <= args.max_stalls_per_minute,
        "analysis_lag_p99": None if args.no_analysis else (
            figures["analysis_lag_p99_s"] is not None and figures["analysis_lag_p99_s"] <= 0.5),
        "nothing_lost": figures["lost"] == 0,
        "load_generator_kept_up": not figures["load_generator"]["saturated"],
    }
    busy = server_figures.get("machine_cpu_busy_cores", {}).get(str(SERVER_CPU))
    if busy is not None and "cpu_cores" in server_figures:
        server_figures["server_cpu_shared_with_cores"] = round(busy - server_figures["cpu_cores"], 3)
    waited = server_figures.get("runqueue_wait_cores")
    figures["server_cpu_contended"] = waited is None or waited > CONTENDED_WAIT
    figures["server_cpu_contended_note"] = (
        f"the server's processes waited {waited} of a core for CPU {SERVER_CPU} (run-queue wait, /proc schedstat): "
        + ("other work on that CPU (or the server's own threads queueing on it) shaped these latencies"
           if figures["server_cpu_contended"] else "the server had its CPU"))
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="where to write the figures as JSON")
    parser.add_argument("--participants", type=int, default=1000)
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--vote-interval", type=float, default=3.0)
    parser.add_argument("--processes", type=int, default=0,
                        help=f"phone processes (default: one per {PHONES_PER_PROCESS:,} phones, at least 2)")
    parser.add_argument("--post-rate", type=float, default=None, metavar="PER_MIN",
                        help="statements the room posts per minute (default: participants / 300)")
    parser.add_argument("--moderation", choices=["post", "pre"], default="post")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--one-address", action="store_true",
                        help="all phones from 127.0.0.1, the per-address caps lifted (loadtest.ONE_ADDRESS_ENV)")
    parser.add_argument("--target-p99-ms", type=float, default=100.0)
    parser.add_argument("--max-stalls-per-minute", type=float, default=0.0,
                        help="loop stalls over 20 ms a minute allowed (issue 12 at 1,000 phones: 0; "
                             "issue 21 at 10,000 phones: 1)")
    parser.add_argument("--no-analysis", action="store_true",
                        help="baseline: the same load with live analysis off (map figures are then empty)")
    args = parser.parse_args()
    figures = asyncio.run(bench(args))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(figures, indent=2, ensure_ascii=False))
    loadtest._print_table(figures)
    print(f"meets targets: {figures['meets_targets']}")
    print(figures["server_cpu_contended_note"])
    print(f"figures written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
