"""Benchmark of the server foundation: live latency, durable ingest, idle connections.

    python bench/bench_foundation.py --out bench/foundation.json [--quick] [--profile]

Three scenarios, each on a fresh `facilitation serve` (one worker, SQLite in a temp dir, loopback only):

1. latency: 1,000 phones voting every 3 s on average (exponential gaps) for 60 s, one projector.
   Figures: vote -> projector p50/p99 (send to arrival in a projector batch), vote -> ack, lost votes.
2. ingest: 250 phones each voting 20 times a second (the per-phone rate limit) for 20 s.
   Figure: durable votes acknowledged per second.
3. idle: 5,000 connected phones doing nothing but an app-level ping every 20 s, for 60 s.
   Figures: server RSS before connecting, after, and sampled over the minute (flat memory).

For each scenario the server's CPU time (user + system, all threads, from /proc) is reported, so figures
taken while other work shares the machine can still be compared per vote. With --profile, py-spy samples
the server during the latency scenario and the top frames are written to the JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import websockets  # noqa: E402

from bench import children  # noqa: E402
from facilitation.tools import loadtest  # noqa: E402
from tests.support.servers import ServerProcess  # noqa: E402

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")



def raise_fd_limit() -> int:
    """5,000 sockets in the server and 5,000 in this process need more than the usual 1,024 descriptors."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else 65536
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, target), hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def start_server(tmp: Path, name: str, analysis: bool) -> ServerProcess:
    env = {"FACILITATION_ANALYSIS": "1" if analysis else "0", **loadtest.ONE_ADDRESS_ENV}
    return ServerProcess(f"sqlite:///{tmp / (name + '.db')}", env=env).start(timeout=60)


def loadtest_args(url: str, phones: int, duration: float, interval: float, steady: bool,
                  server_pid: int | None = None) -> argparse.Namespace:
    """The loadtest's defaults (room-wide post rate, source addresses), plus the server's pid so its CPU,
    run-queue wait and loop stalls over the voting window land in the figures' ``server`` entry."""
    return argparse.Namespace(url=url, participants=phones, duration=duration, vote_interval=interval, code=None,
                              json=True, host_key=None, processes=0, steady=steady, seed=1, server_pid=server_pid)


def py_spy_summary(path: Path) -> dict[str, Any]:
    """Top frames by own time and the project's frames by inclusive time, from py-spy's raw output."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = stack.split(";")
        own[frames[-1]] += n
        for frame in set(frames):
            inclusive[frame] += n
    share = (lambda n: round(n / total, 3)) if total else (lambda n: 0.0)
    return {
        "samples": total,
        "top_own": [[f, share(n)] for f, n in own.most_common(15)],
        "top_project_inclusive": [[f, share(n)] for f, n in inclusive.most_common(200)
                                  if "facilitation/" in f][:15],
    }


async def scenario_load(server: ServerProcess, phones: int, duration: float, interval: float, steady: bool,
                        profile_to: Path | None = None) -> dict[str, Any]:
    assert server.proc is not None
    pid = server.proc.pid
    cpu_before, load_before = cpu_seconds(pid), load_average()
    spy = None
    if profile_to is not None:
        # Sample the middle of the run: connecting 1,000 phones is not the steady state.
        async def profile() -> None:
            await asyncio.sleep(min(30.0, duration / 2) + phones * 0.01)
            proc = await asyncio.create_subprocess_exec(
                str(Path(sys.executable).parent / "py-spy"), "record", "-p", str(pid), "-d",
                str(int(min(20, duration / 2))), "-r", "100", "-f", "raw", "-o", str(profile_to), "--nonblocking",
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            await proc.wait()

        spy = asyncio.get_running_loop().create_task(profile())
    started = time.monotonic()
    figures = await loadtest._run(loadtest_args(server.url, phones, duration, interval, steady, pid))
    elapsed = time.monotonic() - started
    if spy is not None:
        await spy
    cpu = cpu_seconds(pid) - cpu_before
    figures.update({
        "server_cpu_s": round(cpu, 2),
        "server_cpu_share_of_run": round(cpu / elapsed, 3),
        "server_cpu_us_per_acked_vote": round(cpu / max(1, figures["votes_acked"]) * 1e6, 1),
        "server_rss_mb": round(rss_mb(pid), 1),
        "load_average_before": load_before,
        "load_average_after": load_average(),
    })
    if profile_to is not None and profile_to.exists():
        figures["profile"] = py_spy_summary(profile_to)
    return figures


async def scenario_idle(server: ServerProcess, count: int, hold: float) -> dict[str, Any]:
    assert server.proc is not None
    pid = server.proc.pid
    created = await asyncio.to_thread(
        loadtest._http_json, "POST", f"{server.url}/api/meetings", {"title": "Idle", "seeds": ["One."]})
    url = loadtest._ws_url(server.url, created["code"])
    rss_before = rss_mb(pid)
    sockets: list[Any] = []
    failures: Counter[str] = Counter()
    gate = asyncio.Semaphore(64)

    async def connect() -> None:
        async with gate:
            try:
                ws = await websockets.connect(url, compression=None, ping_interval=None, open_timeout=120)
                await ws.send('{"v":1,"type":"hello","role":"participant"}')
                await ws.recv()
                sockets.append(ws)
            except Exception as exc:
                failures[type(exc).__name__] += 1

    started = time.monotonic()
    await asyncio.gather(*(connect() for _ in range(count)))
    connect_s = time.monotonic() - started
    await asyncio.sleep(2)
    rss_connected = rss_mb(pid)
    cpu_before = cpu_seconds(pid)

    async def keepalive(ws: Any) -> None:
        # Phones ping every 20 s (the server drops a connection silent for 75 s); spread the pings.
        await asyncio.sleep(random.uniform(0, 20))
        while True:
            await ws.send('{"v":1,"type":"ping"}')
            await asyncio.sleep(20)

    async def drain(ws: Any) -> None:
        async for _ in ws:
            pass

    tasks = [asyncio.create_task(keepalive(ws)) for ws in sockets] + [asyncio.create_task(drain(ws))
                                                                      for ws in sockets]
    samples = []
    t0 = time.monotonic()
    while time.monotonic() - t0 < hold:
        await asyncio.sleep(5)
        samples.append([round(time.monotonic() - t0, 1), round(rss_mb(pid), 1)])
    alive = sum(1 for ws in sockets if ws.close_code is None)
    cpu = cpu_seconds(pid) - cpu_before
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
    rss_values = [s[1] for s in samples]
    return {
        "connections": count,
        "connected": len(sockets),
        "alive_after_hold": alive,
        "connect_failures": dict(failures),
        "connect_s": round(connect_s, 1),
        "server_rss_before_mb": round(rss_before, 1),
        "server_rss_connected_mb": round(rss_connected, 1),
        "server_rss_samples_mb": samples,
        "server_rss_growth_during_hold_mb": round(max(rss_values) - rss_values[0], 1) if rss_values else None,
        "server_kb_per_connection": round((rss_connected - rss_before) * 1024 / max(1, len(sockets)), 1),
        "server_cpu_share_while_idle": round(cpu / hold, 3),
        "hold_s": hold,
        "load_average_after": load_average(),
    }


def print_table(results: dict[str, Any]) -> None:
    lat, ing, idle = results.get("latency"), results.get("ingest"), results.get("idle")
    rows: list[tuple[str, str, str]] = []
    if lat:
        rows += [
            (f"latency: {lat['participants']} phones / {lat['duration_s']:.0f} s", "connected",
             f"{lat['connected']}"),
            ("", "votes acked (per s)", f"{lat['votes_acked']} ({lat['acked_per_s']})"),
            ("", "vote -> projector p50 / p99", f"{lat['p50_ms']} / {lat['p99_ms']} ms  (target p99 < 100)"),
            ("", "vote -> ack p50 / p99", f"{lat['ack_p50_ms']} / {lat['ack_p99_ms']} ms"),
            ("", "lost / errors", f"{lat['lost']} / {lat['errors']}"),
            ("", "server CPU per vote", f"{lat['server_cpu_us_per_acked_vote']} us"),
        ]
    if ing:
        rows += [
            (f"ingest: {ing['participants']} phones at 20/s", "durable votes acked per s",
             f"{ing['acked_per_s']}  (target >= 5000)"),
            ("", "ack p50 / p99", f"{ing['ack_p50_ms']} / {ing['ack_p99_ms']} ms"),
            ("", "lost / errors", f"{ing['lost']} / {ing['errors']} {ing['error_codes'] or ''}"),
            ("", "server CPU per vote", f"{ing['server_cpu_us_per_acked_vote']} us"),
        ]
    if idle:
        rows += [
            (f"idle: {idle['connections']} connections", "connected / alive after hold",
             f"{idle['connected']} / {idle['alive_after_hold']}"),
            ("", "server RSS before / connected", f"{idle['server_rss_before_mb']} / "
                                                  f"{idle['server_rss_connected_mb']} MB"),
            ("", "RSS growth over the hold", f"{idle['server_rss_growth_during_hold_mb']} MB "
                                             f"({idle['server_kb_per_connection']} KB per connection)"),
        ]
    widths = [max(len(r[i]) for r in rows) for i in range(2)]
    for a, b, c in rows:
        print(f"{a:<{widths[0]}}  {b:<{widths[1]}}  {c}")


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="where to write the JSON figures")
    parser.add_argument("--quick", action="store_true", help="small and short, to check the script works")
    parser.add_argument("--only", choices=["latency", "ingest", "idle"], action="append")
    parser.add_argument("--profile", action="store_true", help="py-spy the server during the latency run")
    parser.add_argument("--analysis", action="store_true", help="run live analysis in the server too")
    args = parser.parse_args()
    fd_limit = raise_fd_limit()
    quick = args.quick
    wanted = set(args.only or ["latency", "ingest", "idle"])
    results: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "fd_limit": fd_limit,
                    "load_average_at_start": load_average()},
        "analysis": args.analysis,
        "quick": quick,
    }
    with tempfile.TemporaryDirectory(prefix="bench-foundation-") as tmp:
        tmpdir = Path(tmp)
        if "latency" in wanted:
            server = start_server(tmpdir, "latency", args.analysis)
            try:
                results["latency"] = await scenario_load(
                    server, 200 if quick else 1000, 10 if quick else 60, 3.0, steady=False,
                    profile_to=(tmpdir / "latency.pyspy") if args.profile else None)
            finally:
                server.stop()
        if "ingest" in wanted:
            server = start_server(tmpdir, "ingest", args.analysis)
            try:
                results["ingest"] = await scenario_load(server, 50 if quick else 250, 5 if quick else 20, 0.05,
                                                        steady=True)
            finally:
                server.stop()
        if "idle" in wanted:
            server = start_server(tmpdir, "idle", args.analysis)
            try:
                results["idle"] = await scenario_idle(server, 500 if quick else 5000, 10 if quick else 60)
            finally:
                server.stop()
    Path(args.out).write_text(json.dumps(results, indent=2, ensure_ascii=False))
    print_table(results)
    print(f"figures written to {args.out}")
    return 0


if __name__ == "__main__":
    children.install()
    sys.exit(asyncio.run(main()))
