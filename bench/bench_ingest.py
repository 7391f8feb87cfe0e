"""Server CPU per durable vote: facilitation vs the bare stack, measured in the same run.

    python bench/bench_ingest.py --out bench/results/ingest.json [--phones 400] [--rate 19] [--duration 15]
                                 [--patterns paced,bursty] [--profile [--profile-pattern bursty]] [--strace]

Two servers, one after the other, each on a fresh SQLite file, pinned to CPU 0 with ``taskset`` (all
threads, the SQLite writer included); the load generator runs in its own process pinned to CPU 1:

- ``facilitation``: `facilitation serve`, live analysis off, a meeting with 50 statements in collecting;
- ``floor``: bench/floor_server.py, Starlette + uvicorn + the same batched SQLite WAL writer
  (``synchronous=FULL``), no meeting logic; the same per-phone limit (20 votes a second, bursts of 60), so a
  phone acked faster than that gets the same ``rate_limited`` refusals from both.

Each phone says hello, then votes, one vote in flight at a time: a vote is sent, its ack (sent after the vote
is durable) awaited, and the next one sent either on schedule (``paced``: ``--rate`` votes/s, below the 20/s
per-phone limit) or at once (``bursty``: as fast as its acks allow, the pattern of a spotlight or a new round).
Both patterns run against both servers in the same run (floor, then facilitation, for each pattern).
The headline is the server's CPU time (user + system, all threads, from /proc/<pid>/stat) over the voting
window divided by the votes acknowledged in it: it stays comparable while other work shares the machine.
Also reported: votes/s, ack latency p50/p99, and the ratio facilitation / floor; the data frames the phones
sent and received per vote, and those that answer no vote of theirs by type (facilitation's ``counters``,
at most 200 a second a room: docs/protocol.md); the load generator's CPU share of its core (near 1.0, the
phones set the pace, not the server). With --profile, py-spy samples each server during its window and the
top frames go to the JSON; with --strace, ``strace -c -f`` counts each server's system calls per vote (it
slows the server, so such a run's CPU figures are not the headline).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from facilitation.tools import loadtest  # noqa: E402

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
STATEMENTS = 50



def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def thread_cpu(pid: int) -> dict[str, float]:
    """CPU seconds of each thread of ``pid`` by thread id ("main" for the event loop's thread)."""
    out: dict[str, float] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out["main" if task.name == str(pid) else task.name] = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return out


def pin(pid: int, cpu: int) -> None:
    """Pin every thread of ``pid`` to one CPU (threads started later inherit it from the main thread)."""
    subprocess.run(["taskset", "-a", "-cp", str(cpu), str(pid)], check=True, stdout=subprocess.DEVNULL)


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# ---------------------------------------------------------------- the load generator (its own process)


async def _load(url: str, phones: int, rate: float, duration: float, pattern: str = "paced",
                snapshot: bool = False) -> dict[str, Any]:
    """Connect every phone, print ``ready``, vote for ``duration`` seconds, return the counts.

    ``paced``: each phone votes on a schedule of ``rate`` a second; ``bursty``: each phone sends its next vote
    as soon as the previous one's ack arrives (a spotlight or a new round: everyone taps at once)."""
    import websockets

    loop = asyncio.get_running_loop()
    latencies: list[float] = []
    errors: dict[str, int] = {}
    go = asyncio.Event()
    readies = [asyncio.Event() for _ in range(phones)]
    window = [0.0, 0.0]  # start, stop: set when every phone is ready
    last_ack = [0.0]
    frames = [0, 0]  # data frames the phones sent and received while voting (pings are control frames)
    other: dict[str, int] = {}  # the frames received that answer no vote of the phone's, by type

    async def phone(i: int) -> int:
        await asyncio.sleep(i * 0.002)  # connect gradually
        acked = 0
        async with websockets.connect(url, compression=None, max_size=2**24, open_timeout=120) as ws:
            await ws.send(json.dumps({"v": 1, "type": "hello", "role": "participant"}))
            while json.loads(await ws.recv()).get("type") != "welcome":
                pass
            if snapshot:  # facilitation brings a phone up to date after the welcome: not part of voting
                while json.loads(await ws.recv()).get("type") != "snapshot":
                    pass
            readies[i].set()
            await go.wait()
            start, stop = window
            offset = (i % 100) / 100 / rate  # spread the phones over the interval
            k = 0
            while True:
                if pattern == "bursty":
                    if k == 0 and start + offset > loop.time():
                        await asyncio.sleep(start + offset - loop.time())
                    if loop.time() >= stop:
                        break
                else:
                    due = start + offset + k / rate
                    if due >= stop:
                        break
                    if due > loop.time():
                        await asyncio.sleep(due - loop.time())
                op = f"b{k}"
                vote = {"v": 1, "type": "vote", "op": op, "statement": (i + k) % STATEMENTS,
                        "value": ("agree", "disagree")[(k // STATEMENTS) % 2]}  # every vote changes something
                sent = loop.time()
                await ws.send(json.dumps(vote))
                frames[0] += 1
                while True:
                    message = json.loads(await ws.recv())
                    frames[1] += 1
                    if message.get("op") != op:
                        other[message.get("type", "?")] = other.get(message.get("type", "?"), 0) + 1
                    if message.get("op") == op:
                        break
                if message["type"] == "ack":
                    acked += 1
                    last_ack[0] = loop.time()
                    latencies.append(last_ack[0] - sent)
                else:
                    code = message["error"]["code"]
                    errors[code] = errors.get(code, 0) + 1
                k += 1
        return acked

    running = [loop.create_task(phone(i)) for i in range(phones)]
    await asyncio.wait_for(asyncio.gather(*(ready.wait() for ready in readies)), 300)
    print("ready", flush=True)
    window[0] = loop.time() + 0.2
    window[1] = window[0] + duration
    go.set()
    acked = sum(await asyncio.gather(*running))
    elapsed = max(duration, last_ack[0] - window[0])
    return {
        "pattern": pattern,
        "phones": phones,
        "votes_acked": acked,
        # over the time the votes really took: a server that cannot keep up stretches the window
        "votes_per_s": round(acked / elapsed, 1),
        "voting_s": round(elapsed, 2),
        "ack_p50_ms": round(_percentile(latencies, 0.5) * 1000, 2),
        "ack_p99_ms": round(_percentile(latencies, 0.99) * 1000, 2),
        "errors": errors,
        "frames_sent_per_vote": round(frames[0] / max(1, acked), 3),
        "frames_received_per_vote": round(frames[1] / max(1, acked), 3),
        "other_frames_received": other,
    }


# ---------------------------------------------------------------- the servers and the parent


def _open_meeting(url: str) -> str:
    import httpx

    from facilitation.tools.client import MeetingClient

    body = httpx.post(f"{url}/api/meetings", timeout=30, json={
        "title": "Ingest", "seeds": [f"Statement number {i}." for i in range(STATEMENTS)]}).json()

    async def open_phase() -> None:
        host = MeetingClient(url, body["code"], "host", host_key=body["host_key"])
        await host.connect(timeout=30)
        await host.command("phase", phase="collecting")
        await host.close()

    asyncio.run(open_phase())
    return str(body["code"])


def _free_port() -> int:
    from tests.support.servers import free_port

    return free_port()


def _wait_port(port: int, timeout: float = 60) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listening on {port}")


def measure(name: str, pid: int, url: str, code: str, args: argparse.Namespace, tmp: Path,
            pattern: str = "paced") -> dict[str, Any]:
    """Run the pinned load generator against one server; CPU over the voting window from /proc."""
    pin(pid, 0)
    load_start = loadavg()
    load = subprocess.Popen(
        ["taskset", "-c", "1", sys.executable, __file__, "--load", f"{url.replace('http', 'ws')}/ws/{code}",
         "--phones", str(args.phones), "--rate", str(args.rate), "--duration", str(args.duration),
         "--pattern", pattern, *(["--snapshot"] if name != "floor" else [])],
        stdout=subprocess.PIPE, text=True)
    assert load.stdout is not None
    line = load.stdout.readline().strip()
    if line != "ready":
        raise RuntimeError(f"load generator failed: {line!r}")
    cpu0, t0, threads0 = cpu_seconds(pid), time.monotonic(), thread_cpu(pid)
    load_cpu0 = cpu_seconds(load.pid)
    spy = strace = None
    spy_file = tmp / f"{name}-{pattern}.spy"
    if args.profile and pattern == args.profile_pattern:
        spy = subprocess.Popen(
            [str(Path(sys.executable).parent / "py-spy"), "record", "-p", str(pid), "-d",
             str(int(args.duration)), "-r", "200", "-f", "raw", "-o", str(spy_file), "--nonblocking"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if args.strace:
        strace = subprocess.Popen(["strace", "-c", "-f", "-p", str(pid), "-o", str(tmp / "strace.txt")],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    result: dict[str, Any] = json.loads(load.stdout.read())
    cpu1, t1, threads1 = cpu_seconds(pid), time.monotonic(), thread_cpu(pid)
    load_cpu = _load_cpu(load.pid) - load_cpu0
    load.wait()
    if spy is not None:
        spy.wait()
    if strace is not None:
        strace.send_signal(signal.SIGINT)
        strace.wait(30)
        result["syscalls_per_vote"] = _syscalls(tmp / "strace.txt", result["votes_acked"])
    cpu = cpu1 - cpu0
    votes = max(1, result["votes_acked"])
    main_us = (threads1.get("main", 0.0) - threads0.get("main", 0.0)) / votes * 1e6
    result.update({
        # the event loop's thread vs the others (the SQLite writer; the kernel's fsync work lands there)
        "main_thread_cpu_us_per_vote": round(main_us, 1),
        "other_threads_cpu_us_per_vote": round(cpu / votes * 1e6 - main_us, 1),
        "server_cpu_s": round(cpu, 3),
        "server_cpu_us_per_vote": round(cpu / max(1, result["votes_acked"]) * 1e6, 1),
        "server_cpu_share": round(cpu / (t1 - t0), 3),
        # the load generator's CPU share of its own core: near 1.0, the phones (not the server) set the pace
        "load_generator_cpu_share": round(load_cpu / (t1 - t0), 3),
        "load_average_start": load_start,
        "load_average_end": loadavg(),
    })
    if spy is not None and spy_file.exists():
        from bench_foundation import py_spy_summary

        result["profile"] = py_spy_summary(spy_file)
        if args.keep_profile:
            Path(args.keep_profile).mkdir(parents=True, exist_ok=True)
            (Path(args.keep_profile) / spy_file.name).write_text(spy_file.read_text())
    return result


def _load_cpu(pid: int) -> float:
    """CPU seconds of the load generator, read while it still runs (it prints its counts, then exits)."""
    try:
        return cpu_seconds(pid)
    except OSError:
        return float("nan")


def _syscalls(path: Path, votes: int) -> dict[str, float]:
    """``strace -c``'s table as calls per acked vote: the total and every call made at least 0.01 times a vote."""
    calls: dict[str, float] = {}
    for line in path.read_text().splitlines():
        parts = line.split()
        if len(parts) >= 5 and parts[0].replace(".", "").isdigit() and parts[3].isdigit():
            calls[parts[-1]] = int(parts[3]) / max(1, votes)
    per_vote = {name: round(n, 3) for name, n in sorted(calls.items(), key=lambda kv: -kv[1]) if n >= 0.01}
    return {"total": round(calls.pop("total", sum(calls.values())), 2), **per_vote}


def run_floor(args: argparse.Namespace, tmp: Path, pattern: str = "paced") -> dict[str, Any]:
    port = _free_port()
    proc = subprocess.Popen([sys.executable, str(ROOT / "bench" / "floor_server.py"), "--port", str(port),
                             "--db", str(tmp / f"floor-{pattern}.db")])
    try:
        _wait_port(port)
        return measure("floor", proc.pid, f"http://127.0.0.1:{port}", "FLOOR1", args, tmp, pattern)
    finally:
        proc.terminate()
        proc.wait(10)


def run_facilitation(args: argparse.Namespace, tmp: Path, source: str | None = None,
                     pattern: str = "paced") -> dict[str, Any]:
    """``source``: a checkout of another version (e.g. ``git worktree add /tmp/main main``) to measure instead."""
    from tests.support.servers import ServerProcess

    env = {"FACILITATION_ANALYSIS": "0", **loadtest.ONE_ADDRESS_ENV}
    if source is not None:
        env["PYTHONPATH"] = source
    name = "baseline" if source is not None else "facilitation"
    server = ServerProcess(f"sqlite:///{tmp / f'{name}-{pattern}.db'}", env=env).start(60)
    try:
        assert server.proc is not None
        code = _open_meeting(server.url)
        return measure(name, server.proc.pid, server.url, code, args, tmp, pattern)
    finally:
        server.stop()


def loadavg() -> list[float]:
    return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]


def print_table(results: dict[str, Any]) -> None:
    rows = [("pattern", "server", "votes acked", "votes/s", "CPU µs/vote", "main thread", "others", "CPU share",
             "ack p50 ms", "ack p99 ms", "errors")]
    for pattern in PATTERNS:
        if pattern not in results:
            continue
        for name in ("floor", "baseline", "facilitation"):
            if name not in results[pattern]:
                continue
            r = results[pattern][name]
            rows.append((pattern, name, str(r["votes_acked"]), str(r["votes_per_s"]), str(r["server_cpu_us_per_vote"]),
                         str(r["main_thread_cpu_us_per_vote"]), str(r["other_threads_cpu_us_per_vote"]),
                         str(r["server_cpu_share"]), str(r["ack_p50_ms"]), str(r["ack_p99_ms"]), str(r["errors"])))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.rjust(width) for cell, width in zip(row, widths, strict=True)))
    for pattern in PATTERNS:
        if pattern in results:
            line = f"{pattern}: ratio facilitation / floor (CPU per vote): {results[pattern]['ratio_cpu_per_vote']}"
            if "ratio_baseline_cpu_per_vote" in results[pattern]:
                line += f"; baseline / floor: {results[pattern]['ratio_baseline_cpu_per_vote']}"
            print(line)


PATTERNS = ("paced", "bursty")


def _ratio(a: dict[str, Any], b: dict[str, Any]) -> float:
    return round(a["server_cpu_us_per_vote"] / max(0.1, b["server_cpu_us_per_vote"]), 2)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=None)
    parser.add_argument("--phones", type=int, default=400)
    parser.add_argument("--rate", type=float, default=19.0, help="paced: votes per second per phone (limit: 20)")
    parser.add_argument("--duration", type=float, default=15.0)
    parser.add_argument("--patterns", default="paced,bursty",
                        help="comma-separated: paced (--rate a second each), bursty (next vote on each ack)")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--profile-pattern", default="bursty", choices=PATTERNS)
    parser.add_argument("--keep-profile", default=None,
                        help="with --profile: keep py-spy's raw stacks in this folder, a file per server")
    parser.add_argument("--strace", action="store_true",
                        help="count each server's system calls per vote with strace -c -f (it slows the server: "
                             "the CPU figures of such a run are not the headline)")
    parser.add_argument("--baseline", default=None,
                        help="also measure the facilitation code in this directory (e.g. a worktree of main)")
    parser.add_argument("--load", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--pattern", default="paced", choices=PATTERNS, help=argparse.SUPPRESS)
    parser.add_argument("--snapshot", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.load:
        import resource

        _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        print(json.dumps(asyncio.run(_load(args.load, args.phones, args.rate, args.duration, args.pattern,
                                           args.snapshot))),
              flush=True)
        return 0
    patterns = [p for p in args.patterns.split(",") if p]
    results: dict[str, Any] = {
        "phones": args.phones, "rate_per_phone_paced": args.rate, "duration_s": args.duration,
        "cpus": os.cpu_count(), "load_average_before": loadavg(), "patterns": patterns,
    }
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp_name:
        tmp = Path(tmp_name)
        for pattern in patterns:
            runs: dict[str, Any] = {"floor": run_floor(args, tmp, pattern)}
            if args.baseline:
                results["baseline_source"] = args.baseline
                runs["baseline"] = run_facilitation(args, tmp, args.baseline, pattern)
            runs["facilitation"] = run_facilitation(args, tmp, None, pattern)
            runs["ratio_cpu_per_vote"] = _ratio(runs["facilitation"], runs["floor"])
            if "baseline" in runs:
                runs["ratio_baseline_cpu_per_vote"] = _ratio(runs["baseline"], runs["floor"])
            results[pattern] = runs
    results["load_average_after"] = loadavg()
    print_table(results)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
