"""Scale-out benchmark: 1 embedded worker vs 2 and 4 workers through Redis, vote -> projector latency.

For each mode and phone count it starts a fresh server (``facilitation serve``; with Redis a private
redis-server with AOF ``appendfsync always``), runs ``facilitation loadtest`` against it (N phones + one
projector, every phone votes on average every ``--vote-interval`` seconds) and records the loadtest's JSON:
vote -> projector p50/p99, vote -> ack, acked votes per second, lost votes.

With ``--workers N`` uvicorn's workers share one listening socket, so the kernel spreads the phones over
the processes while one of them owns the meeting: most votes are forwarded through Redis, which is the
case this benchmark exists to price.

Everything (servers, Redis, the phones) shares this machine's cores: on a 2-core box shared with others,
4 workers cannot be faster than 2, and the phones' own CPU is part of what is measured. Say so when quoting.

    python bench/bench_scaling.py --out bench/results/scaling.json
    python bench/bench_scaling.py --phones 1000 --duration 10 --modes embedded,redis2 --out /tmp/s.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from facilitation import loadtest
from tests.support.servers import RedisServer, ServerProcess

MODES = {"embedded": 1, "redis2": 2, "redis4": 4}



def run_one(mode: str, phones: int, duration: float, interval: float) -> dict[str, Any]:
    workers = MODES[mode]
    redis = RedisServer(appendfsync="always").start() if mode != "embedded" else None
    tmp = tempfile.mkdtemp(prefix="bench-scaling-")
    env = {"FACILITATION_ANALYSIS": "0", **loadtest.ONE_ADDRESS_ENV}  # measure the vote path, not clustering
    if redis is None:
        server = ServerProcess(f"sqlite:///{tmp}/bench.db", env=env)
    else:
        server = ServerProcess(redis.url, redis=redis.url, env=env, extra=["--workers", str(workers)])
    try:
        server.start(timeout=60)
        time.sleep(1.0 if workers > 1 else 0.2)  # let every worker finish its start-up
        cmd = [sys.executable, "-m", "facilitation.cli", "loadtest", server.url, "--participants", str(phones),
               "--duration", str(duration), "--vote-interval", str(interval), "--json"]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 600)
        lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
        if not lines:
            raise RuntimeError(f"loadtest failed ({done.returncode}):\n{done.stderr[-3000:]}\n{server.log()}")
        figures: dict[str, Any] = json.loads(lines[-1])
    finally:
        server.stop()
        if redis is not None:
            redis.kill()
            redis.stop()
    figures.update(mode=mode, workers=workers, phones=phones)
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="where to write the JSON results")
    parser.add_argument("--phones", default="1000,5000", help="comma-separated phone counts")
    parser.add_argument("--modes", default="embedded,redis2,redis4", help=f"comma-separated, of {list(MODES)}")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds of voting per run")
    parser.add_argument("--vote-interval", type=float, default=3.0, help="mean seconds between a phone's votes")
    args = parser.parse_args()
    results = []
    for phones in (int(p) for p in args.phones.split(",")):
        for mode in args.modes.split(","):
            print(f"running {mode} with {phones} phones ...", flush=True)
            results.append(run_one(mode, phones, args.duration, args.vote_interval))
    header = f"{'mode':<9} {'workers':>7} {'phones':>6} {'conn':>5} {'acked/s':>8} {'p50 ms':>8} {'p99 ms':>8} " \
             f"{'ack p50':>8} {'lost':>5} {'errors':>6}"
    print(header)
    for r in results:
        print(f"{r['mode']:<9} {r['workers']:>7} {r['phones']:>6} {r['connected']:>5} {r['acked_per_s']!s:>8} "
              f"{r['p50_ms']!s:>8} {r['p99_ms']!s:>8} {r['ack_p50_ms']!s:>8} {r['lost']:>5} {r['errors']:>6}")
    meta = {"machine": platform.platform(), "cpus": os.cpu_count(), "duration_s": args.duration,
            "vote_interval_s": args.vote_interval, "note": "servers, Redis and phones share the same cores"}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"meta": meta, "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
