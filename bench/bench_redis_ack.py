"""Ack latency, Redis mode against embedded, in one run: where a vote's ack time goes.

Issue 26 asks for the ack p50 in Redis mode within 2 ms of embedded (SQLite). Each mode gets a fresh server
(one worker, analysis off, reached directly: no nginx) and the same ``facilitation loadtest`` generator
(phones vote on average every ``--vote-interval`` s, a projector reads every event):

- ``embedded``: SQLite (``synchronous=FULL``: an fsync per group commit).
- ``redis``: one Redis node, ``appendfsync always`` (the store's pipeline: one fsync per group commit).
- ``redis-everysec`` (diagnostic, only when named): the same node acknowledging before its fsync, so the
  difference to ``redis`` is the fsync's share of an ack.
- ``cluster``: scripts/stack.sh's Redis Cluster (3 masters + 3 replicas, ``appendfsync always``), one worker,
  the loadtest pointed at that worker's own port: every ack also waits for ``WAIT 1`` (a replica has it).

The server side (worker and every Redis node) is pinned to CPU 0 and the load generator to CPU 1
(``taskset``). For each Redis mode the Redis nodes' ``INFO commandstats`` before and after give the
commands Redis ran per acknowledged vote (appends, feed publishes, WAITs, ownership renewals, ...) and their
server-side µs; ``INFO stats`` the network round trips are not counted by Redis, so the worker's own
``/metrics`` (``facilitation_store_commit_seconds``) give the store's
pipelines per vote and their time from send to answer. CPU per vote is read from /proc for the worker and
for the Redis nodes separately. Modes run in turn, ``--rounds`` times interleaved, so a burst of load from
others on the machine hits both sides alike; the load average is in the JSON.

    python bench/bench_redis_ack.py --phones 300 --duration 20 --out bench/results/redis_ack.json
    python bench/bench_redis_ack.py --modes embedded,redis --phones 1000 --rounds 2 --out /tmp/ack.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import children
from bench.bench_cluster import _cpu, _pin  # one place for pinning a process tree and reading its CPU
from bench.children import start_stack  # registers the stack's `down` for SIGTERM/SIGINT
from facilitation.tools import loadtest
from tests.deploy.stack import Stack
from tests.support.servers import RedisServer, ServerProcess

SERVER_CPU = 0
CLIENT_CPU = 1
MODES = ("embedded", "redis", "cluster")
DIAGNOSTIC = ("redis-everysec",)
"""Not a deployment to compare: ``appendfsync everysec`` acknowledges before the fsync, so the difference to
``redis`` is the fsync's share of an ack (what the rest of the path costs is what is left)."""


def _redis_stats(ports: list[int]) -> dict[str, dict[str, float]]:
    """``INFO commandstats`` summed over the nodes: command -> calls, usec."""
    import redis as syncredis

    total: dict[str, dict[str, float]] = {}
    for port in ports:
        client = syncredis.Redis(port=port, decode_responses=True, socket_timeout=10)
        try:
            stats: dict[str, Any] = client.info("commandstats")
            server: dict[str, Any] = client.info("stats")
        except (OSError, syncredis.RedisError):
            continue
        finally:
            client.close()
        for name, value in stats.items():
            entry = total.setdefault(name.removeprefix("cmdstat_"), {"calls": 0.0, "usec": 0.0})
            entry["calls"] += float(value["calls"])
            entry["usec"] += float(value["usec"])
        entry = total.setdefault("(connections)", {"calls": 0.0, "usec": 0.0})
        entry["calls"] += float(server.get("total_connections_received", 0))
    return total


STORE_METRIC = re.compile(r"^(facilitation_store_(?:commit|unreplicated)[a-z_]*)(\{[^}]*\})? ([0-9.e+-]+)$",
                          re.MULTILINE)


def _store_metrics(base: str) -> dict[str, float]:
    try:
        with urllib.request.urlopen(base + "/metrics", timeout=10) as response:
            text = response.read().decode()
    except OSError:
        return {}
    out: dict[str, float] = {}
    for name, labels, value in STORE_METRIC.findall(text):
        labels = re.sub(r',?worker="[^"]*"', "", labels or "").replace("{,", "{")
        out[name + ("" if labels in ("", "{}") else labels)] = float(value)
    return out


def run_one(mode: str, phones: int, duration: float, interval: float) -> dict[str, Any]:
    load_before = [round(x, 2) for x in os.getloadavg()]
    env = {"FACILITATION_ANALYSIS": "0"}
    redis: RedisServer | None = None
    server: ServerProcess | None = None
    stack: Stack | None = None
    redis_pids: list[int] = []
    redis_ports: list[int] = []
    if mode == "embedded":
        tmp = tempfile.mkdtemp(prefix="bench-redis-ack-")
        server = ServerProcess(f"sqlite:///{tmp}/bench.db", env=env).start(timeout=60)
        assert server.proc is not None
        worker_pids = loadtest._proc_tree(server.proc.pid)
        url = server.url
    elif mode in ("redis", "redis-everysec"):
        redis = RedisServer(appendfsync="always" if mode == "redis" else "everysec").start()
        assert redis.proc is not None
        server = ServerProcess(redis.url, redis=redis.url, env=env).start(timeout=60)
        assert server.proc is not None
        worker_pids = loadtest._proc_tree(server.proc.pid)
        redis_pids, redis_ports = [redis.proc.pid], [redis.port]
        url = server.url
    else:
        stack = start_stack(1, cluster=True)
        worker_pids = loadtest._proc_tree(stack.pid("app1"))
        redis_pids = [stack.pid(f"redis{i + 1}") for i in range(len(stack.redis_ports))]
        redis_ports = stack.redis_ports
        url = stack.app_url(0)  # the worker itself: the ack path, not nginx's
        _pin([stack.pid("nginx")], CLIENT_CPU)  # idle here; keep it off the server's core
    try:
        _pin(worker_pids + redis_pids, SERVER_CPU)
        args = argparse.Namespace(
            url=url, code=None, host_key=None, participants=phones, duration=duration, vote_interval=interval,
            processes=0, steady=False, seed=1, post_rate=0.0, moderation="post", source_addresses=0,
            client_cpus=str(CLIENT_CPU), server_pid=worker_pids[0], observe_pids=[], json=True)
        cpu_before = {"worker": sum(_cpu(p) for p in worker_pids), "redis": sum(_cpu(p) for p in redis_pids)}
        stats_before = _redis_stats(redis_ports)
        store_before = _store_metrics(url)
        figures: dict[str, Any] = asyncio.run(loadtest._run(args))
        cpu_after = {"worker": sum(_cpu(p) for p in worker_pids), "redis": sum(_cpu(p) for p in redis_pids)}
        stats_after = _redis_stats(redis_ports)
        store_after = _store_metrics(url)
    finally:
        if stack is not None:
            stack.down()
        if server is not None:
            server.stop()
        if redis is not None:
            redis.kill()
            redis.stop()
    acked = max(1, int(figures.get("votes_acked", 0)))
    cpu = {part: round(cpu_after[part] - cpu_before[part], 3) for part in cpu_after}
    commands = {}
    for name, after in stats_after.items():
        before = stats_before.get(name, {"calls": 0.0, "usec": 0.0})
        calls = after["calls"] - before["calls"]
        if calls > 0:
            commands[name] = {"per_vote": round(calls / acked, 3),
                              "usec_per_call": round((after["usec"] - before["usec"]) / calls, 1)}
    store = {name: after - store_before.get(name, 0.0) for name, after in store_after.items()}
    commits = store.get("facilitation_store_commit_seconds_count", 0.0)
    commit_seconds = store.get("facilitation_store_commit_seconds_sum", 0.0)
    keep = ("participants", "connected", "votes_sent", "votes_acked", "acked_per_s", "lost", "p50_ms", "p99_ms",
            "ack_p50_ms", "ack_p99_ms", "errors", "error_codes")
    return {
        "mode": mode,
        **{k: figures[k] for k in keep if k in figures},
        "server_cpu_s": cpu,
        "server_cpu_us_per_vote": {part: round(s / acked * 1e6, 1) for part, s in cpu.items()},
        "server_cpu_us_per_vote_total": round(sum(cpu.values()) / acked * 1e6, 1),
        "redis_commands_per_vote": dict(sorted(commands.items(), key=lambda kv: -kv[1]["per_vote"])),
        "store_commits": int(commits),
        "votes_per_store_commit": round(acked / commits, 2) if commits else None,
        "store_commit_mean_ms": round(commit_seconds / commits * 1000, 3) if commits else None,
        "unreplicated_acks": int(store.get("facilitation_store_unreplicated_acks_total", 0.0)),
        "loop_stalls_over_25ms": figures.get("server", {}).get("loop_stalls_over_25ms"),
        "loop_stall_max_s": figures.get("server", {}).get("loop_stall_max_since_start_s"),
        "load_generator_saturated": figures.get("load_generator", {}).get("saturated"),
        "load_average_before": load_before,
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
    }


def main() -> int:
    children.install()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--phones", type=int, default=300)
    parser.add_argument("--duration", type=float, default=20.0, help="seconds of voting per run")
    parser.add_argument("--vote-interval", type=float, default=3.0)
    parser.add_argument("--modes", default=",".join(MODES), help=f"of {MODES + DIAGNOSTIC}")
    parser.add_argument("--rounds", type=int, default=1, help="every mode this many times, interleaved")
    args = parser.parse_args()
    modes = args.modes.split(",")
    results: dict[str, Any] = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
                    "load_average_at_start": [round(x, 2) for x in os.getloadavg()]},
        "pinning": f"worker and Redis nodes on CPU {SERVER_CPU}, load generator on CPU {CLIENT_CPU}",
        "runs": [],
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    for round_ in range(args.rounds):
        for mode in modes:
            print(f"round {round_ + 1}: {mode} with {args.phones} phones ...", flush=True)
            results["runs"].append({"round": round_ + 1, **run_one(mode, args.phones, args.duration,
                                                                     args.vote_interval)})
            out.write_text(json.dumps(results, indent=1))
    summary: dict[str, Any] = {}
    for mode in modes:
        runs = [r for r in results["runs"] if r["mode"] == mode and r.get("ack_p50_ms") is not None]
        if runs:
            summary[mode] = {"ack_p50_ms_median_of_rounds": round(statistics.median(r["ack_p50_ms"] for r in runs), 2),
                             "ack_p50_ms_each": [r["ack_p50_ms"] for r in runs],
                             "cpu_us_per_vote_total": [r["server_cpu_us_per_vote_total"] for r in runs]}
    if "embedded" in summary:
        base = summary["embedded"]["ack_p50_ms_median_of_rounds"]
        for entry in summary.values():
            entry["gap_to_embedded_ms"] = round(entry["ack_p50_ms_median_of_rounds"] - base, 2)
    results["summary"] = summary
    out.write_text(json.dumps(results, indent=1))
    print(f"{'round':>5} {'mode':9} {'acked/s':>8} {'ack p50':>8} {'ack p99':>8} {'proj p50':>9} {'lost':>5} "
          f"{'err':>4} {'us/vote worker':>15} {'redis':>7} {'votes/commit':>13} {'commit ms':>10}")
    for r in results["runs"]:
        print(f"{r['round']:>5} {r['mode']:9} {r.get('acked_per_s')!s:>8} {r.get('ack_p50_ms')!s:>8} "
              f"{r.get('ack_p99_ms')!s:>8} {r.get('p50_ms')!s:>9} {r.get('lost')!s:>5} {r.get('errors')!s:>4} "
              f"{r['server_cpu_us_per_vote']['worker']!s:>15} {r['server_cpu_us_per_vote']['redis']!s:>7} "
              f"{r['votes_per_store_commit']!s:>13} {r['store_commit_mean_ms']!s:>10}")
    print(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
