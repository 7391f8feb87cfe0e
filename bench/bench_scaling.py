"""Scale-out benchmark: 1 embedded worker vs 2 and 4 workers through Redis, vote -> projector latency.

For each mode and phone count it starts a fresh server (``facilitation serve``; with Redis a private
redis-server with AOF ``appendfsync always``), runs the ``facilitation loadtest`` load generator against it
(N phones in several processes + a projector in its own process, every phone votes on average every
``--vote-interval`` seconds) and records the loadtest's JSON: vote -> projector p50/p99, vote -> ack,
acked votes per second, lost votes, the server's CPU (its whole process tree: workers, from /proc) and
each load-generator process's CPU.

With ``--workers N`` uvicorn's workers share one listening socket, so the kernel spreads the phones over
the processes while one of them owns the meeting: most votes are forwarded through Redis, which is the
case this benchmark exists to price.

On this 2-core machine the server side (the server's workers and Redis) is pinned to CPU 0 and the load
generator to CPU 1 (``taskset``), the same for every mode, so the modes are compared on equal terms: 2
workers on one core price the forwarding hop, not a second core. ``--no-pin`` lets everything share both.
The loop-stall figures come from ``/metrics``, which only one worker answers per request: with several
workers they are that worker's.

    python bench/bench_scaling.py --out bench/results/scaling.json
    python bench/bench_scaling.py --phones 1000 --duration 30 --modes embedded,redis2 --out /tmp/s.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import children
from facilitation.tools import loadtest
from tests.support.servers import RedisServer, ServerProcess

MODES = {"embedded": 1, "redis2": 2, "redis4": 4}
SERVER_CPU = 0
CLIENT_CPU = 1


def _pin_tree(pid: int, cpu: int) -> None:
    """Pin a running process and its threads (``taskset -a``) to one CPU; its later children inherit it."""
    taskset = shutil.which("taskset")
    if taskset and (os.cpu_count() or 1) > cpu:
        for p in loadtest._proc_tree(pid):
            subprocess.run([taskset, "-a", "-cp", str(cpu), str(p)], capture_output=True, check=False)


def run_one(mode: str, phones: int, duration: float, interval: float, pin: bool, post_rate: float | None
            ) -> dict[str, Any]:
    workers = MODES[mode]
    redis = RedisServer(appendfsync="always").start() if mode != "embedded" else None
    tmp = tempfile.mkdtemp(prefix="bench-scaling-")
    env = {"FACILITATION_ANALYSIS": "0"}  # measure the vote path, not clustering
    if redis is None:
        server = ServerProcess(f"sqlite:///{tmp}/bench.db", env=env)
    else:
        server = ServerProcess(redis.url, redis=redis.url, env=env, extra=["--workers", str(workers)])
    try:
        server.start(timeout=60)
        time.sleep(1.0 if workers > 1 else 0.2)  # let every worker finish its start-up
        assert server.proc is not None
        if pin:
            _pin_tree(server.proc.pid, SERVER_CPU)
            if redis is not None and redis.proc is not None:
                _pin_tree(redis.proc.pid, SERVER_CPU)
        args = argparse.Namespace(
            url=server.url, code=None, host_key=None, participants=phones, duration=duration,
            vote_interval=interval, processes=0, steady=False, seed=1, post_rate=post_rate, moderation="post",
            source_addresses=0, client_cpus=str(CLIENT_CPU) if pin else None, server_pid=server.proc.pid,
            observe_pids=[redis.proc.pid] if redis is not None and redis.proc is not None else [], json=True)
        figures: dict[str, Any] = asyncio.run(loadtest._run(args))
    finally:
        server.stop()
        if redis is not None:
            redis.kill()
            redis.stop()
    figures.update(mode=mode, workers=workers, phones=phones, pinned=pin)
    return figures


def main() -> int:
    children.install()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="where to write the JSON results")
    parser.add_argument("--phones", default="1000,5000", help="comma-separated phone counts")
    parser.add_argument("--modes", default="embedded,redis2,redis4", help=f"comma-separated, of {list(MODES)}")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds of voting per run")
    parser.add_argument("--vote-interval", type=float, default=3.0, help="mean seconds between a phone's votes")
    parser.add_argument("--post-rate", type=float, default=None, metavar="PER_MIN",
                        help="statements the room posts per minute (default: phones / 300)")
    parser.add_argument("--no-pin", action="store_true", help="do not pin the server to CPU 0 and the load to 1")
    args = parser.parse_args()
    results = []
    for phones in (int(p) for p in args.phones.split(",")):
        for mode in args.modes.split(","):
            print(f"running {mode} with {phones} phones ...", flush=True)
            results.append(run_one(mode, phones, args.duration, args.vote_interval, not args.no_pin, args.post_rate))
    header = f"{'mode':<9} {'workers':>7} {'phones':>6} {'conn':>5} {'acked/s':>8} {'p50 ms':>8} {'p99 ms':>8} " \
             f"{'ack p50':>8} {'lost':>5} {'errors':>6} {'srv cores':>9} {'client max':>10} {'load avg':>8}"
    print(header)
    for r in results:
        print(f"{r['mode']:<9} {r['workers']:>7} {r['phones']:>6} {r['connected']:>5} {r['acked_per_s']!s:>8} "
              f"{r['p50_ms']!s:>8} {r['p99_ms']!s:>8} {r['ack_p50_ms']!s:>8} {r['lost']:>5} {r['errors']:>6} "
              f"{r['server'].get('cpu_cores')!s:>9} {r['load_generator']['busiest_process_cpu_cores']!s:>10} "
              f"{r['load_average_after'][0]!s:>8}")
        print(f"{'':<9} server run-queue wait {r['server'].get('runqueue_wait_cores')} cores, Redis "
              f"{r['server'].get('other_processes_cpu_cores')} cores")
    meta = {"machine": platform.platform(), "cpus": os.cpu_count(), "duration_s": args.duration,
            "vote_interval_s": args.vote_interval, "pinned": not args.no_pin,
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
            "note": "server workers and Redis on CPU 0, load generator on CPU 1" if not args.no_pin
            else "servers, Redis and phones share the same cores"}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"meta": meta, "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
