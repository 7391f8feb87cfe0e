"""``facilitation loadtest``: drive a running server like N phones and one projector, and time it.

What is measured: for every vote a phone sends, the time until the projector receives it in a ``batch``
(matched by participant and statement), and the time until the phone's ``ack`` (the vote is durable).
``lost`` counts acknowledged votes that never reached the projector: it must be 0. When the server runs
live analysis, also the map lag: from a vote being sent to the first ``analysis`` message on the projector
whose ``upto_seq`` covers the vote's event (the map the room is *shown*: the steady map keeps an older run on
screen while a re-formed map holds, docs/method.md 7b, so this lag includes that wait by design), and the
analysis lag: the same to the first ``analysis_published`` event covering it (each run as *computed*, shown
or not: how fresh the analysis itself is).

Why it is built this way: 10,000 WebSocket clients in one Python process cannot read what the server
sends them, and the load generator shares the machine with the server it measures. So:

* the phones are spread over several processes (``--processes``) and the **projector has a process of
  its own**, whose arrival clock is what the vote -> projector figures measure; the phone processes lower
  their priority (``nice``) so that, on a shared core, the projector is served first;
* send and arrival times come from ``time.monotonic()``: on Linux that is ``CLOCK_MONOTONIC``, one clock
  for the whole system, so times taken in different processes are comparable (records are merged in the
  parent after the run);
* every process reports its own CPU time over the voting window: a process above
  :data:`SATURATED_SHARE` of a core (or load-generator processes filling the CPUs they are pinned to)
  means the figures are the load generator's, and ``load_generator.saturated`` says so;
* phones parse only the messages they need (acks, errors, new statements; counters and vote echoes are
  recognised by a substring and skipped), without compression;
* on loopback, phones connect from several source addresses (127.0.0.2, 127.0.0.3, ...), at most
  :data:`PHONES_PER_ADDRESS` each, so the per-address caps a venue's NAT is sized for (docs/security.md,
  *Connections*) are respected rather than lifted.

Given the server's pid (``server_pid``, on the same machine), its CPU (whole process tree, from /proc), RSS
and the event-loop stalls it measured itself (``/metrics``) over the voting window are reported beside the
latencies. Only loopback or a URL you give is contacted, and every run is bounded by ``--duration`` plus a
few seconds of drain.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import ipaddress
import json
import multiprocessing
import os
import random
import re
import statistics
import sys
import time
import urllib.parse
import urllib.request
from bisect import bisect_left
from collections import Counter, defaultdict, deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import websockets

__all__ = ["LoadResult", "add_options", "percentile", "run"]

SEED_STATEMENTS = 30
POSTS_PER_PARTICIPANT = 0.1
"""Statements a participant posts over a collecting phase: vtaiwan.uberx, the largest of the six Pol.is
exports in ../shared/data/polis, has 208 statements from 1,921 participants (0.11); the smaller ones run
0.2-0.6, and the ratio falls as rooms grow (nobody reads thousands of statements)."""
COLLECTING_MINUTES = 30.0
"""The length of the collecting phase those statements are spread over in a live meeting."""
PING_INTERVAL = 20.0
"""Seconds between a simulated phone's app-level pings, as docs/protocol.md asks of clients."""
CONNECT_CONCURRENCY = 64
"""Phones connecting at once per process: a burst of 1,000 handshakes would only measure the listen backlog."""
DRAIN_SECONDS = 5.0
"""After the last vote, how long acks and projector batches may take before a vote counts as lost."""
PHONES_PER_ADDRESS = 1000
"""Phones per loopback source address: under the server's defaults of 1,500 live connections and a join
burst of 1,500 per address (docs/security.md, *Connections*), like a venue NAT with 1,000 phones behind it."""
PHONE_NICE = 5
"""Phone processes lower their priority by this much, so the projector's process is never the one waiting."""
SATURATED_SHARE = 0.8
"""A load-generator process using more than this share of a core may be what the latencies measure."""
VALUES = ("agree", "disagree", "pass", "acceptable")
CLOCK_NOTE = ("time.monotonic() is CLOCK_MONOTONIC on Linux: one system-wide clock, so send times (phone "
              "processes) and arrival times (projector process) are comparable")

_Record = tuple[int, int, float, float | None]
"""(participant, statement, sent at, acked at or None), times from ``time.monotonic()``."""


ONE_ADDRESS_ENV: dict[str, str] = {
    "FACILITATION_MAX_WEBSOCKETS_PER_ADDRESS": "100000",
    "FACILITATION_MAX_CONNECTIONS_PER_ADDRESS": "100000",
    "FACILITATION_JOIN_BURST": "100000",
}
"""Server environment for a load test whose phones all connect from one address (a remote server, or
``--source-addresses 1``): the per-address caps (docs/security.md, *Connections*) that a real venue's
1,000 phones stay under are lifted. On loopback the loadtest spreads phones over several source addresses
instead, and the server keeps its defaults."""


def percentile(values: list[float], q: float) -> float | None:
    """The q-th percentile (0-100) by nearest rank, None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def default_post_rate(participants: int) -> float:
    """Statements per minute a room of this size posts: :data:`POSTS_PER_PARTICIPANT` over the collecting phase.

    1,000 phones post ~3.3 a minute, 10,000 ~33 a minute. The old fixed 1 % of every action gave ~200 a
    minute for both, which at 10,000 phones is 2 million statement events a minute to the phones: a load
    no room produces (and a meeting holds at most 5,000 statements)."""
    return participants * POSTS_PER_PARTICIPANT / COLLECTING_MINUTES


def _ws_url(base: str, code: str) -> str:
    return base.replace("http://", "ws://").replace("https://", "wss://").rstrip("/") + f"/ws/{code}"


def _http_json(method: str, url: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers={"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return dict(json.loads(response.read()))


def source_addresses(base: str, participants: int, wanted: int = 0) -> list[str | None]:
    """The local addresses phones connect from: several 127.0.0.x when the server is on IPv4 loopback.

    ``wanted`` 0 picks one address per :data:`PHONES_PER_ADDRESS` phones; 1 (or a server elsewhere) uses
    the system's choice, ``[None]``. Linux routes all of 127.0.0.0/8 to the loopback interface, so
    127.0.0.2 can reach a server bound to 127.0.0.1; the server counts each as its own client address."""
    host = urllib.parse.urlsplit(base).hostname or ""
    try:
        loopback = ipaddress.ip_address(host).version == 4 and ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    count = wanted or -(-participants // PHONES_PER_ADDRESS)
    if not loopback or count <= 1 or not sys.platform.startswith("linux"):
        return [None]
    return [f"127.0.0.{2 + i}" for i in range(min(count, 250))]


def _pin(cpus: list[int] | None) -> None:
    if cpus and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, set(cpus))


# ---------------------------------------------------------------- phones


def _quiet_gc() -> None:
    """No garbage-collector pauses in a load-generator process while it times votes.

    Measured with 2,500 phones a process: full collections of 1.5 s, each one a late send or ack stamped on
    this process's clock. After connecting, everything alive is moved out of the collector's sight
    (``gc.freeze``) and collection stops for the bounded run; what a minute of votes leaves in cycles is
    small, and ``run_fleet`` turns the collector back on at the end."""
    gc.collect()
    gc.freeze()
    gc.disable()



@dataclass
class FleetResult:
    """What one group of phones did: its send records and its error counts (picklable across processes)."""

    connected: int = 0
    records: list[_Record] = field(default_factory=list)
    posts: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    cpu_s: float = 0.0
    """CPU time of this process from the go signal to its last phone leaving."""
    wall_s: float = 0.0
    pid: int = 0


@dataclass
class PhonePlan:
    """How the phones of one run behave (picklable: every phone process gets a copy)."""

    interval: float
    duration: float
    steady: bool = False
    seed: int = 0
    post_share: float = 0.0
    """Probability that one of a phone's actions is a new statement instead of a vote."""
    addresses: list[str | None] = field(default_factory=lambda: [None])


async def _keep_alive(ws: Any) -> None:
    """Ping every :data:`PING_INTERVAL` seconds like the phone page: while 10,000 phones connect, the first
    ones wait minutes for the start, and the server closes a connection silent for 75 s (4000)."""
    with contextlib.suppress(websockets.ConnectionClosed):
        while True:
            await asyncio.sleep(PING_INTERVAL)
            await ws.send('{"v":1,"type":"ping"}')


async def _phone(index: int, url: str, plan: PhonePlan, start: asyncio.Event, deadline: list[float],
                 result: FleetResult, ready: asyncio.Event) -> None:
    rng = random.Random(plan.seed * 100_003 + index)
    interval = plan.interval
    address = plan.addresses[index % len(plan.addresses)]
    extra: dict[str, Any] = {} if address is None else {"local_addr": (address, 0)}
    try:
        ws = await websockets.connect(url, compression=None, max_size=2**22, open_timeout=60, ping_interval=None,
                                      close_timeout=2, **extra)
    except Exception as exc:  # refused, timed out: counted, the run goes on
        result.errors[f"connect:{type(exc).__name__}"] += 1
        ready.set()
        return
    try:
        await ws.send('{"v":1,"type":"hello","role":"participant"}')
        welcome = json.loads(await ws.recv())
        if welcome.get("type") != "welcome":
            result.errors[f"hello:{welcome.get('error', {}).get('code', '?')}"] += 1
            return
        participant = int(welcome["participant"])
        snapshot = json.loads(await ws.recv())
        statements = [int(s["id"]) for s in snapshot.get("meeting", {}).get("statements", [])]
        result.connected += 1
        ready.set()
        pending: dict[str, int] = {}
        """op -> index in result.records, until acked."""

        async def read() -> None:
            try:
                await read_all()
            except websockets.ConnectionClosed as exc:
                result.errors[f"closed:{exc.rcvd.code if exc.rcvd else 'none'}"] += 1

        async def read_all() -> None:
            async for raw in ws:
                text = raw if isinstance(raw, str) else raw.decode()
                head = text[:40]
                if '"type":"ack"' in head or '"type":"error"' in head:
                    message = json.loads(text)
                    slot = pending.pop(message.get("op", ""), None)
                    if message["type"] == "error":
                        result.errors[message["error"]["code"]] += 1
                    elif slot is not None:
                        p, s, sent, _ = result.records[slot]
                        result.records[slot] = (p, s, sent, time.monotonic())
                elif '"event":{"type":"statement",' in text:
                    statements.append(int(json.loads(text)["event"]["statement"]["id"]))

        reader = asyncio.get_running_loop().create_task(read())
        pinger = asyncio.get_running_loop().create_task(_keep_alive(ws))
        await start.wait()
        voted: set[int] = set()
        counter = 0
        await asyncio.sleep(rng.uniform(0, interval))
        while time.monotonic() < deadline[0] and not reader.done():
            counter += 1
            op = f"{index}.{counter}"
            if rng.random() < plan.post_share:
                result.posts += 1
                text = f"Loadtest statement {participant}-{counter}: {rng.random():.6f}"
                await ws.send(json.dumps({"v": 1, "type": "post", "op": op, "text": text}))
            elif statements:
                fresh = [s for s in statements if s not in voted] if len(voted) < len(statements) else []
                statement = rng.choice(fresh or statements)
                voted.add(statement)
                pending[op] = len(result.records)
                result.records.append((participant, statement, time.monotonic(), None))
                await ws.send(f'{{"v":1,"type":"vote","op":"{op}","statement":{statement},'
                              f'"value":"{VALUES[rng.randrange(3)]}"}}')
            gap = interval if plan.steady else rng.expovariate(1 / interval)
            # Never sleep past the end: one phone in 150 draws a gap over 5 intervals (150 s at 30 s), and
            # the run would wait for it.
            await asyncio.sleep(min(gap, max(0.0, deadline[0] - time.monotonic())))
        # Give outstanding acks their chance, then leave.
        drain_until = time.monotonic() + DRAIN_SECONDS
        while pending and time.monotonic() < drain_until and not reader.done():
            await asyncio.sleep(0.05)
        reader.cancel()
        pinger.cancel()
        with contextlib.suppress(BaseException):
            await reader
    except websockets.ConnectionClosed as exc:
        result.errors[f"closed:{exc.rcvd.code if exc.rcvd else 'none'}"] += 1
    except Exception as exc:
        result.errors[f"phone:{type(exc).__name__}"] += 1
    finally:
        ready.set()
        with contextlib.suppress(Exception):
            await ws.close()


async def run_fleet(base: str, code: str, count: int, offset: int, plan: PhonePlan, ready: Any = None,
                    go: Any = None) -> FleetResult:
    """Connect ``count`` phones, wait for the go signal, vote for ``plan.duration`` seconds, drain, report."""
    result = FleetResult(pid=os.getpid())
    start = asyncio.Event()
    deadline = [float("inf")]
    url = _ws_url(base, code)
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)
    tasks: list[asyncio.Task[None]] = []

    async def connect(i: int) -> None:
        # Hold the gate until this phone has its snapshot (or failed), so connects are paced.
        async with gate:
            phone_ready = asyncio.Event()
            tasks.append(asyncio.get_running_loop().create_task(
                _phone(offset + i, url, plan, start, deadline, result, phone_ready)))
            await phone_ready.wait()

    await asyncio.wait_for(asyncio.gather(*(connect(i) for i in range(count))), timeout=max(120.0, count * 0.2))
    _quiet_gc()
    if ready is not None:
        ready.put(("phones", result.connected))
    if go is not None:
        await asyncio.to_thread(go.wait)
    cpu0, wall0 = time.process_time(), time.monotonic()
    deadline[0] = wall0 + plan.duration
    start.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    result.cpu_s, result.wall_s = time.process_time() - cpu0, time.monotonic() - wall0
    gc.enable()
    return result


def _fleet_process(base: str, code: str, count: int, offset: int, plan: PhonePlan, cpus: list[int] | None,
                   ready: Any, go: Any, out: Any) -> None:
    _pin(cpus)
    with contextlib.suppress(OSError):
        os.nice(PHONE_NICE)
    out.put(asyncio.run(run_fleet(base, code, count, offset, plan, ready, go)))


# ---------------------------------------------------------------- the projector


@dataclass
class ProjectorResult:
    """What the projector saw, sent back from its process (picklable)."""

    arrivals: dict[tuple[int, int], list[tuple[float, int]]]
    """(participant, statement) -> [(arrival, seq)] of each vote event, in arrival order."""
    maps: list[tuple[int, float, int]]
    """(upto_seq, arrival, size in bytes) of every ``analysis`` message: the map the room is shown."""
    published: list[tuple[int, float]]
    """(upto_seq, arrival) of every ``analysis_published`` event: each run as computed, shown or not."""
    updates: int
    batches: int
    gaps: int
    last_seq: int
    closed: str | None
    cpu_s: float = 0.0
    wall_s: float = 0.0
    pid: int = 0


class Projector:
    """The big screen: records when each (participant, statement) vote arrives in a batch, and every map."""

    def __init__(self, base: str, code: str) -> None:
        self.url = _ws_url(base, code)
        self.arrivals: dict[tuple[int, int], deque[tuple[float, int]]] = defaultdict(deque)
        self.maps: list[tuple[int, float, int]] = []
        self.published: list[tuple[int, float]] = []
        self.updates = 0
        self.batches = 0
        self.last_seq = 0
        self.gaps = 0
        self.closed: str | None = None
        """Why the server closed the projector before the end (a dead projector makes every vote "lost")."""
        self.ws: Any = None
        self.task: asyncio.Task[None] | None = None
        self.pinger: asyncio.Task[None] | None = None
        """App-level pings like the projector page's: while 10,000 phones connect, the projector waits
        longer than the server's 75 s idle close (4000) for the first vote."""

    async def start(self) -> None:
        self.ws = await websockets.connect(self.url, compression=None, max_size=2**24, ping_interval=None)
        await self.ws.send('{"v":1,"type":"hello","role":"projector"}')
        json.loads(await self.ws.recv())  # welcome
        snapshot = json.loads(await self.ws.recv())
        self.last_seq = int(snapshot.get("seq", 0))
        self.task = asyncio.get_running_loop().create_task(self._read())
        self.pinger = asyncio.get_running_loop().create_task(_keep_alive(self.ws))

    async def _read(self) -> None:
        try:
            await self._read_all()
        except websockets.ConnectionClosed as exc:
            self.closed = f"{exc.rcvd.code if exc.rcvd else 'none'} {exc.rcvd.reason if exc.rcvd else ''}".strip()

    async def _read_all(self) -> None:
        async for raw in self.ws:
            now = time.monotonic()
            if '"type":"analysis"' in raw[:40]:
                self.maps.append((int(json.loads(raw)["upto_seq"]), now, len(raw)))
                continue
            message = json.loads(raw)
            if message.get("type") != "batch":
                continue
            self.batches += 1
            for event in message["events"]:
                self.updates += 1
                seq = event["seq"]
                if seq != self.last_seq + 1:
                    self.gaps += 1
                self.last_seq = max(self.last_seq, seq)
                if event["type"] == "vote":
                    self.arrivals[(event["participant"], event["statement"])].append((now, seq))
                elif event["type"] == "analysis_published":
                    self.published.append((int(event["upto_seq"]), now))

    async def leave(self) -> None:
        """Stop reading and close, like a projector whose laptop sleeps: what arrives after is never seen."""
        await self.stop()
        self.closed = self.closed or "left"

    async def stop(self) -> None:
        if self.pinger is not None:
            self.pinger.cancel()
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(BaseException):
                await self.task
        with contextlib.suppress(Exception):
            await self.ws.close()

    def result(self) -> ProjectorResult:
        return ProjectorResult({k: list(v) for k, v in self.arrivals.items()}, list(self.maps), list(self.published),
                               self.updates, self.batches, self.gaps, self.last_seq, self.closed, pid=os.getpid())


async def _projector_main(base: str, code: str, leave_after: float | None, ready: Any, go: Any, finish: Any
                          ) -> ProjectorResult:
    projector = Projector(base, code)
    await projector.start()
    _quiet_gc()
    ready.put(("projector", 1))
    await asyncio.to_thread(go.wait)
    cpu0, wall0 = time.process_time(), time.monotonic()
    leaving = None
    if leave_after is not None:
        async def leave_later() -> None:
            await asyncio.sleep(leave_after)
            await projector.leave()

        leaving = asyncio.get_running_loop().create_task(leave_later())
    # The parent sends the meeting's last seq when the phones are done; catch up to it (bounded), and, when
    # maps are coming, to the map that covers it.
    final_seq = int(await asyncio.to_thread(finish.get))
    until = time.monotonic() + DRAIN_SECONDS
    while projector.closed is None and time.monotonic() < until and (
            projector.last_seq < final_seq or (projector.maps and max(m[0] for m in projector.maps) < final_seq)):
        await asyncio.sleep(0.05)
    if leaving is not None:
        leaving.cancel()
    await projector.stop()
    result = projector.result()
    result.cpu_s, result.wall_s = time.process_time() - cpu0, time.monotonic() - wall0
    return result


def _projector_process(base: str, code: str, leave_after: float | None, cpus: list[int] | None, ready: Any,
                       go: Any, finish: Any, out: Any) -> None:
    _pin(cpus)
    out.put(asyncio.run(_projector_main(base, code, leave_after, ready, go, finish)))


# ---------------------------------------------------------------- the server, seen from outside


def _metrics(base: str) -> dict[str, float] | None:
    try:
        with urllib.request.urlopen(base + "/metrics", timeout=10) as response:
            text = response.read().decode()
    except OSError:
        return None
    out: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        name, _, value = line.rpartition(" ")
        name = WORKER_LABEL.sub("", name).replace("{}", "")  # one server's series: its worker name aside
        with contextlib.suppress(ValueError):
            out[name] = float(value)
    return out


WORKER_LABEL = re.compile(r',?worker="[^"]*"')


def _proc_tree(pid: int) -> list[int]:
    """``pid`` and its descendants (uvicorn workers, analysis pool), from /proc."""
    parents: dict[int, list[int]] = defaultdict(list)
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                parents[ppid].append(int(entry.name))
    tree, todo = [], [pid]
    while todo:
        p = todo.pop()
        tree.append(p)
        todo.extend(parents.get(p, []))
    return tree


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU of one process (all its threads), from /proc/<pid>/stat."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss_mb(pid: int) -> float | None:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    return None


def _runqueue_wait_seconds(pid: int) -> float | None:
    """Time the threads of one process spent runnable but waiting for a CPU (/proc/<pid>/task/*/schedstat).

    Other work on the server's CPU shows here: a server that waits for the CPU is measured starved, not slow."""
    total = 0.0
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(OSError, IndexError, ValueError):
                total += int((task / "schedstat").read_text().split()[1]) / 1e9
    except OSError:
        return None
    return total


def _cpu_busy_seconds() -> dict[int, float]:
    """Busy time of each CPU (everything but idle and iowait) from /proc/stat, seconds."""
    out: dict[int, float] = {}
    with contextlib.suppress(OSError):
        for line in Path("/proc/stat").read_text().splitlines():
            name, *values = line.split()
            if name.startswith("cpu") and name[3:].isdigit():
                ticks = [int(v) for v in values]
                out[int(name[3:])] = (sum(ticks[:8]) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")
    return out


@dataclass
class ServerSample:
    at: float
    metrics: dict[str, float] | None
    cpu: dict[int, float]
    waited: dict[int, float] = field(default_factory=dict)
    """Run-queue wait of each process of the server's tree, seconds (empty: not readable)."""
    others: dict[int, float] = field(default_factory=dict)
    """CPU seconds of other processes the server depends on (Redis), by pid."""
    busy: dict[int, float] = field(default_factory=dict)
    """Busy seconds of each CPU of the machine."""
    loop_waited: dict[int, float] = field(default_factory=dict)
    """Run-queue wait of the server's main thread, seconds, by pid."""


def sample_server(base: str, pid: int | None, others: tuple[int, ...] = ()) -> ServerSample:
    """The server's own metrics and, when its pid is known, the CPU and run-queue wait of its process tree.

    Every /proc figure is read at once, before ``/metrics``: a stalled server can take seconds to answer,
    and the window's wall time must match the counters divided by it."""
    at, busy = time.monotonic(), _cpu_busy_seconds()
    cpu: dict[int, float] = {}
    waited: dict[int, float] = {}
    if pid is not None and Path(f"/proc/{pid}").exists():
        for p in _proc_tree(pid):
            seconds, wait = _cpu_seconds(p), _runqueue_wait_seconds(p)
            if seconds is not None:
                cpu[p] = seconds
            if wait is not None:
                waited[p] = wait
    other_cpu = {p: seconds for p in others if (seconds := _cpu_seconds(p)) is not None}
    loop_waited: dict[int, float] = {}
    if pid is not None:
        with contextlib.suppress(OSError, IndexError, ValueError):
            loop_waited[pid] = int(Path(f"/proc/{pid}/task/{pid}/schedstat").read_text().split()[1]) / 1e9
    return ServerSample(at, _metrics(base), cpu, waited, other_cpu, busy, loop_waited)


LAG_BUCKET = re.compile(r'facilitation_event_loop_lag_seconds_bucket\{le="([^"]+)"\}')


def server_figures(before: ServerSample, after: ServerSample, pid: int | None, acked: int) -> dict[str, Any]:
    """Loop stalls (the server's own histogram, delta over the window), CPU in cores and per vote, RSS."""
    wall = max(1e-9, after.at - before.at)
    out: dict[str, Any] = {"window_s": round(wall, 1)}
    if before.metrics is not None and after.metrics is not None:
        hist = {m.group(1): value - before.metrics.get(name, 0.0)
                for name, value in after.metrics.items() if (m := LAG_BUCKET.match(name))}
        total = hist.get("+Inf", 0.0)
        bounds = sorted((float(b), c) for b, c in hist.items() if b != "+Inf")
        below = dict(bounds)
        out["loop_lag_probes"] = int(total)
        out["loop_stalls_over_20ms"] = int(total - below.get(0.02, total))  # issue 12's bound (bucket since 2026-11-30)
        out["loop_stalls_over_25ms"] = int(total - below.get(0.025, total))
        out["loop_stalls_over_50ms"] = int(total - below.get(0.05, total))
        # The smallest bucket bound every stall in the window fits under (None: above the largest bound).
        out["loop_stall_worst_bucket_s"] = next((b for b, c in bounds if c >= total), None) if total else None
        out["loop_stall_max_since_start_s"] = after.metrics.get("facilitation_event_loop_lag_max_seconds")
        analysis = "facilitation_analysis_cpu_seconds_total"
        if analysis in after.metrics:
            out["analysis_cpu_cores"] = round((after.metrics[analysis] - before.metrics.get(analysis, 0.0)) / wall, 3)
    if pid is not None and after.cpu:
        main = after.cpu.get(pid, 0.0) - before.cpu.get(pid, 0.0)
        tree = sum(seconds - before.cpu.get(p, 0.0) for p, seconds in after.cpu.items())
        out["cpu_cores"] = round(tree / wall, 3)
        out["main_process_cpu_cores"] = round(main / wall, 3)
        out["cpu_us_per_acked_vote"] = round(tree / acked * 1e6, 1) if acked else None
        out["rss_mb"] = _rss_mb(pid)
        out["tree_rss_mb"] = round(sum(_rss_mb(p) or 0.0 for p in after.cpu), 1)
        out["processes"] = len(after.cpu)
    if pid is not None and pid in after.loop_waited and pid in before.loop_waited:
        # The main thread alone (the event loop in a one-worker server): time it was ready but not running.
        out["main_thread_runqueue_wait_share"] = round((after.loop_waited[pid] - before.loop_waited[pid]) / wall, 3)
    if after.waited:
        # Time the server's processes were ready to run but another process held the CPU: above a few
        # percent of a core, its latencies measure the machine (or its own processes queueing on one core).
        out["runqueue_wait_cores"] = round(
            sum(w - before.waited.get(p, 0.0) for p, w in after.waited.items()) / wall, 3)
    if after.busy:
        # Per CPU, in cores: with the server pinned to one CPU, that CPU's busy time minus the server's CPU is
        # the other work it shared the CPU with (kernel network work for the server's sockets included).
        out["machine_cpu_busy_cores"] = {
            str(c): round((b - before.busy.get(c, 0.0)) / wall, 3) for c, b in sorted(after.busy.items())}
    if after.others:
        out["other_processes_cpu_cores"] = {
            str(p): round((c - before.others.get(p, 0.0)) / wall, 3) for p, c in after.others.items()}
    if after.metrics is None:
        out["metrics_unavailable"] = "GET /metrics failed or timed out at the end of the window"
    return out


# ---------------------------------------------------------------- the run


@dataclass
class LoadResult:
    figures: dict[str, Any]


def add_options(parser: argparse.ArgumentParser) -> None:
    """The loadtest's options beyond the contract's, for ``facilitation loadtest`` and the benchmarks."""
    parser.add_argument("--post-rate", type=float, default=None, metavar="PER_MIN",
                        help="statements the whole room posts per minute (default: participants / 300, "
                             "0.1 a participant over a 30-minute collecting phase)")
    parser.add_argument("--moderation", choices=["post", "pre"], default="post",
                        help="moderation of the meeting the loadtest creates (default post: shown at once)")
    parser.add_argument("--source-addresses", type=int, default=0, metavar="N",
                        help="loopback source addresses for the phones (default: one per 1,000 phones)")
    parser.add_argument("--client-cpus", default=None, metavar="LIST",
                        help="pin the phone and projector processes to these CPUs, e.g. 1 or 2,3")
    parser.add_argument("--server-pid", type=int, default=None,
                        help="the server's pid on this machine: report its CPU and RSS from /proc")


async def _prepare(args: argparse.Namespace) -> tuple[str, str | None]:
    base = args.url.rstrip("/")
    if args.code:
        code = str(args.code).replace("-", "").upper()
        host_key = getattr(args, "host_key", None)
    else:
        seeds = [f"Loadtest seed statement number {i + 1}." for i in range(SEED_STATEMENTS)]
        created = await asyncio.to_thread(
            _http_json, "POST", f"{base}/api/meetings",
            {"title": "Loadtest", "language": "en", "moderation": getattr(args, "moderation", None) or "post",
             "seeds": seeds},
        )
        code, host_key = created["code"], created["host_key"]
    info = await asyncio.to_thread(_http_json, "GET", f"{base}/api/meetings/{code}")
    if info["phase"] not in ("collecting", "voting"):
        if not host_key:
            raise SystemExit(f"meeting {code} is in phase {info['phase']!r}: pass --host-key to open it")
        host = await websockets.connect(_ws_url(base, code), compression=None)
        await host.send(json.dumps({"v": 1, "type": "hello", "role": "host", "host_key": host_key}))
        await host.send('{"v":1,"type":"phase","op":"lt-phase","phase":"collecting"}')
        while True:
            message = json.loads(await host.recv())
            if message.get("op") == "lt-phase":
                if message["type"] != "ack":
                    raise SystemExit(f"could not open the meeting: {message['error']}")
                break
        await host.close()
    return code, host_key


def _cpus(value: Any) -> list[int] | None:
    if value is None or value == "":
        return None
    if isinstance(value, (list, tuple, set)):
        return sorted(int(v) for v in value)
    return sorted(int(v) for v in str(value).split(",") if v.strip())


async def _run(args: argparse.Namespace) -> dict[str, Any]:
    """Create or open the meeting, start the projector's and the phones' processes, vote, merge, figure.

    ``args`` carries the CLI's options (see :func:`add_options`; missing ones take their defaults) and, for
    tests, ``projector_leaves_after``: seconds into the voting after which the projector stops reading and
    closes, so that what it misses must come out as ``lost``."""
    load_before = [round(x, 2) for x in os.getloadavg()]
    code, _ = await _prepare(args)
    base = args.url.rstrip("/")
    n = int(args.participants)
    processes = max(1, min(int(getattr(args, "processes", 0) or (2 if n >= 400 else 1)), n or 1))
    interval, duration = float(args.vote_interval), float(args.duration)
    post_rate = getattr(args, "post_rate", None)
    post_rate = default_post_rate(n) if post_rate is None else float(post_rate)
    actions_per_min = n * 60 / interval if interval > 0 else 0.0
    plan = PhonePlan(interval, duration, bool(getattr(args, "steady", False)), int(getattr(args, "seed", 0) or 0),
                     min(1.0, post_rate / actions_per_min) if actions_per_min else 0.0,
                     source_addresses(base, n, int(getattr(args, "source_addresses", 0) or 0)))
    cpus = _cpus(getattr(args, "client_cpus", None))
    _pin(cpus)
    server_pid = getattr(args, "server_pid", None)
    others = tuple(int(p) for p in getattr(args, "observe_pids", None) or ())
    leave_after = getattr(args, "projector_leaves_after", None)

    ctx = multiprocessing.get_context("spawn")
    ready, out, go, finish, projector_out = ctx.Queue(), ctx.Queue(), ctx.Event(), ctx.Queue(), ctx.Queue()
    projector_proc = ctx.Process(target=_projector_process, daemon=True,
                                 args=(base, code, leave_after, cpus, ready, go, finish, projector_out))
    projector_proc.start()
    shares = [n // processes + (1 if i < n % processes else 0) for i in range(processes)]
    procs = []
    offset = 0
    for share in shares:
        proc = ctx.Process(target=_fleet_process, daemon=True,
                           args=(base, code, share, offset, plan, cpus, ready, go, out))
        proc.start()
        procs.append(proc)
        offset += share
    results: list[FleetResult] = []
    try:
        for _ in range(processes + 1):
            await asyncio.to_thread(ready.get, True, max(120.0, n * 0.2))
        before = await asyncio.to_thread(sample_server, base, server_pid, others)
        go.set()

        async def window() -> ServerSample:
            await asyncio.sleep(duration)
            return await asyncio.to_thread(sample_server, base, server_pid, others)

        after_task = asyncio.get_running_loop().create_task(window())
        for _ in procs:
            results.append(await asyncio.to_thread(out.get, True, duration + DRAIN_SECONDS + 120))
        after = await after_task
        # Projector batches trail acks: the projector catches up with the meeting's last event (bounded),
        # then everything acked but not seen is lost.
        final_seq = int((await asyncio.to_thread(_http_json, "GET", f"{base}/api/meetings/{code}"))["seq"])
        finish.put(final_seq)
        projector: ProjectorResult = await asyncio.to_thread(projector_out.get, True, DRAIN_SECONDS + 60)
    finally:
        for proc in [*procs, projector_proc]:
            await asyncio.to_thread(proc.join, 10)
            if proc.is_alive():
                proc.kill()
    figures = _figures(n, results, projector, duration, processes, code)
    figures["server"] = server_figures(before, after, server_pid, figures["votes_acked"])
    figures.update(
        post_rate_per_min=round(post_rate, 2),
        post_share_of_actions=round(plan.post_share, 5),
        moderation=getattr(args, "moderation", None) or ("post" if not args.code else "as the meeting is"),
        source_addresses=[a or "default" for a in plan.addresses],
        clock=CLOCK_NOTE,
        load_average_before=load_before,
        load_average_after=[round(x, 2) for x in os.getloadavg()],
    )
    figures["load_generator"] = _client_figures(results, projector, cpus)
    return figures


def _client_figures(results: list[FleetResult], projector: ProjectorResult, cpus: list[int] | None
                    ) -> dict[str, Any]:
    """Each load-generator process's CPU over the voting window, and whether it could keep up."""
    def cores(cpu_s: float, wall_s: float) -> float:
        return round(cpu_s / max(1e-9, wall_s), 3)

    shares = [cores(projector.cpu_s, projector.wall_s), *(cores(f.cpu_s, f.wall_s) for f in results)]
    rows: list[dict[str, Any]] = [{"role": "projector", "pid": projector.pid, "cpu_cores": shares[0]}]
    rows += [{"role": "phones", "pid": f.pid, "phones": f.connected, "cpu_cores": share}
             for f, share in zip(results, shares[1:], strict=True)]
    total = round(sum(shares), 3)
    busiest = max(shares)
    room = len(cpus) if cpus else (os.cpu_count() or 1)
    saturated = busiest > SATURATED_SHARE or (cpus is not None and total > SATURATED_SHARE * room)
    return {
        "processes": rows,
        "total_cpu_cores": total,
        "busiest_process_cpu_cores": busiest,
        "pinned_cpus": cpus,
        "saturated": saturated,
        "note": ("a load-generator process (or its pinned CPUs) above 80 % of a core: the latencies may be the "
                 "load generator's, not the server's") if saturated else "the load generator kept up",
    }


def _covering(seen: list[tuple[int, float]]) -> tuple[list[int], list[float]]:
    """Sorted ``upto_seq``s and, for each, the earliest arrival of anything covering at least that seq (a
    vote's lag is to the first message that includes it, whichever run that was)."""
    ordered = sorted(seen)
    upto = [m[0] for m in ordered]
    earliest = [m[1] for m in ordered]
    for i in range(len(earliest) - 2, -1, -1):
        earliest[i] = min(earliest[i], earliest[i + 1])
    return upto, earliest


def _figures(n: int, results: list[FleetResult], projector: ProjectorResult, duration: float,
             processes: int, code: str) -> dict[str, Any]:
    records = sorted((r for fleet in results for r in fleet.records), key=lambda r: r[2])
    errors: Counter[str] = Counter()
    for fleet in results:
        errors.update(fleet.errors)
    arrivals = {key: deque(seen) for key, seen in projector.arrivals.items()}
    maps = sorted(projector.maps)
    upto, earliest = _covering([(m[0], m[1]) for m in maps])
    runs_upto, runs_earliest = _covering(projector.published)
    to_projector: list[float] = []
    to_ack: list[float] = []
    map_lag: list[float] = []
    analysis_lag: list[float] = []
    acked = lost = never_on_a_map = 0
    for participant, statement, sent, ack in records:
        queue = arrivals.get((participant, statement))
        arrived = queue.popleft() if queue else None
        if ack is not None:
            acked += 1
            to_ack.append((ack - sent) * 1000)
            if arrived is None:
                lost += 1
        if arrived is not None:
            to_projector.append((arrived[0] - sent) * 1000)
            if maps:
                i = bisect_left(upto, arrived[1])
                if i == len(upto):
                    never_on_a_map += 1
                else:
                    map_lag.append(earliest[i] - sent)
            j = bisect_left(runs_upto, arrived[1])
            if j < len(runs_upto):
                analysis_lag.append(runs_earliest[j] - sent)

    def ms(value: float | None) -> float | None:
        return None if value is None else round(value, 2)

    def s(value: float | None) -> float | None:
        return None if value is None else round(value, 3)

    return {
        "participants": n,
        "connected": sum(f.connected for f in results),
        "votes_sent": len(records),
        "votes_acked": acked,
        "updates_received": projector.updates,
        "votes_on_projector": len(to_projector),
        "lost": lost,
        "p50_ms": ms(percentile(to_projector, 50)),
        "p99_ms": ms(percentile(to_projector, 99)),
        "errors": sum(errors.values()),
        "error_codes": dict(errors),
        "max_ms": ms(max(to_projector) if to_projector else None),
        "mean_ms": ms(statistics.fmean(to_projector) if to_projector else None),
        "ack_p50_ms": ms(percentile(to_ack, 50)),
        "ack_p99_ms": ms(percentile(to_ack, 99)),
        "acked_per_s": round(acked / duration, 1) if duration else None,
        "posts_sent": sum(f.posts for f in results),
        "maps_received": len(maps),
        "map_bytes_last": maps[-1][2] if maps else None,
        "map_lag_p50_s": s(percentile(map_lag, 50)),
        "map_lag_p99_s": s(percentile(map_lag, 99)),
        "votes_never_on_a_map": never_on_a_map if maps else None,
        "analysis_runs_published": len(projector.published),
        "analysis_lag_p50_s": s(percentile(analysis_lag, 50)),
        "analysis_lag_p99_s": s(percentile(analysis_lag, 99)),
        "projector_batches": projector.batches,
        "projector_gaps": projector.gaps,
        "projector_closed": projector.closed,
        "duration_s": duration,
        "processes": processes,
        "code": code,
    }


def _print_table(figures: dict[str, Any]) -> None:
    server = figures.get("server", {})
    clients = figures.get("load_generator", {})
    rows = [
        ("phones connected", f"{figures['connected']} / {figures['participants']}"),
        ("votes sent / acked", f"{figures['votes_sent']} / {figures['votes_acked']}"),
        ("acked votes per second", figures["acked_per_s"]),
        ("vote -> projector p50 / p99 / max", f"{figures['p50_ms']} / {figures['p99_ms']} / {figures['max_ms']} ms"),
        ("vote -> ack p50 / p99", f"{figures['ack_p50_ms']} / {figures['ack_p99_ms']} ms"),
        ("map lag p50 / p99 (shown / computed)", f"{figures['map_lag_p50_s']} / {figures['map_lag_p99_s']} s, "
                                                  f"{figures['analysis_lag_p50_s']} / "
                                                  f"{figures['analysis_lag_p99_s']} s"),
        ("projector updates / batches / gaps",
         f"{figures['updates_received']} / {figures['projector_batches']} / {figures['projector_gaps']}"),
        ("lost (acked, never on the projector)", figures["lost"]),
        ("errors", f"{figures['errors']} {figures['error_codes'] or ''}"),
        ("posts sent (room rate per minute)", f"{figures['posts_sent']} ({figures['post_rate_per_min']})"),
        ("server loop stalls > 20 / > 25 / > 50 ms", f"{server.get('loop_stalls_over_20ms')} / "
                                                   f"{server.get('loop_stalls_over_25ms')} / "
                                                   f"{server.get('loop_stalls_over_50ms')}"),
        ("server CPU cores / us per vote / RSS MB",
         f"{server.get('cpu_cores')} / {server.get('cpu_us_per_acked_vote')} / {server.get('rss_mb')}"),
        ("load generator busiest / total cores",
         f"{clients.get('busiest_process_cpu_cores')} / {clients.get('total_cpu_cores')}"
         f"{'  SATURATED' if clients.get('saturated') else ''}"),
        ("load average before / after", f"{figures['load_average_before']} / {figures['load_average_after']}"),
    ]
    width = max(len(r[0]) for r in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")


def run(args: argparse.Namespace) -> int:
    """The ``loadtest`` command: 0 when nothing was lost and every phone connected, else 1."""
    figures = asyncio.run(_run(args))
    if getattr(args, "json", False):
        print(json.dumps(figures))
    else:
        _print_table(figures)
    sys.stdout.flush()
    return 0 if figures["lost"] == 0 and figures["connected"] == figures["participants"] else 1
