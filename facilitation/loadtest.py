"""``facilitation loadtest``: drive a running server like N phones and one projector, and time it.

What is measured: for every vote a phone sends, the time until the projector receives it in a ``batch``
(matched by participant and statement), and the time until the phone's ``ack`` (the vote is durable).
``lost`` counts acknowledged votes that never reached the projector: it must be 0.

Why it is built this way: 1,000 WebSocket clients in one Python process cost real CPU on a 2-core machine,
and the load generator shares the cores with the server it measures. So phones use the bare ``websockets``
client without compression, parse only the messages they need (acks, errors, new statements; counters and
their own vote echoes are recognised by a substring and skipped), and can be spread over several processes
(``--processes``) whose send records are merged afterwards. Only loopback or a URL you give is contacted,
and every run is bounded by ``--duration`` plus a few seconds of drain.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import random
import statistics
import sys
import time
import urllib.request
from collections import Counter, defaultdict, deque
from dataclasses import dataclass, field
from typing import Any

import websockets

__all__ = ["LoadResult", "percentile", "run"]

SEED_STATEMENTS = 30
POST_PROBABILITY = 0.01
"""Share of a phone's actions that are new statements rather than votes ("now and then posts")."""
PING_INTERVAL = 20.0
"""Seconds between a simulated phone's app-level pings, as docs/protocol.md asks of clients."""
CONNECT_CONCURRENCY = 64
"""Phones connecting at once: a burst of 1,000 handshakes would only measure the listen backlog."""
DRAIN_SECONDS = 5.0
"""After the last vote, how long acks and projector batches may take before a vote counts as lost."""
VALUES = ("agree", "disagree", "pass", "acceptable")

_Record = tuple[int, int, float, float | None]
"""(participant, statement, sent at, acked at or None), times from ``time.monotonic()``."""


ONE_ADDRESS_ENV: dict[str, str] = {
    "FACILITATION_MAX_WEBSOCKETS_PER_ADDRESS": "100000",
    "FACILITATION_MAX_CONNECTIONS_PER_ADDRESS": "100000",
    "FACILITATION_JOIN_BURST": "100000",
}
"""Server environment for a load test: every simulated phone connects from this machine's one address, so
the per-address caps (docs/security.md, *Connections*) that a real venue's 1,000 phones stay under are lifted
for the benchmarks that start their own server with many more."""


def percentile(values: list[float], q: float) -> float | None:
    """The q-th percentile (0-100) by nearest rank, None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def _ws_url(base: str, code: str) -> str:
    return base.replace("http://", "ws://").replace("https://", "wss://").rstrip("/") + f"/ws/{code}"


def _http_json(method: str, url: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers={"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return dict(json.loads(response.read()))


# ---------------------------------------------------------------- phones


@dataclass
class FleetResult:
    """What one group of phones did: its send records and its error counts (picklable across processes)."""

    connected: int = 0
    records: list[_Record] = field(default_factory=list)
    posts: int = 0
    errors: Counter[str] = field(default_factory=Counter)


async def _keep_alive(ws: Any) -> None:
    """Ping every :data:`PING_INTERVAL` seconds like the phone page: while 10,000 phones connect, the first
    ones wait minutes for the start, and the server closes a connection silent for 75 s (4000)."""
    with contextlib.suppress(websockets.ConnectionClosed):
        while True:
            await asyncio.sleep(PING_INTERVAL)
            await ws.send('{"v":1,"type":"ping"}')


async def _phone(index: int, url: str, interval: float, steady: bool, start: asyncio.Event,
                 deadline: list[float], result: FleetResult, seed: int, ready: asyncio.Event) -> None:
    rng = random.Random(seed * 100_003 + index)
    try:
        ws = await websockets.connect(url, compression=None, max_size=2**22, open_timeout=60, ping_interval=None,
                                      close_timeout=2)
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
            if rng.random() < POST_PROBABILITY:
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
            gap = interval if steady else rng.expovariate(1 / interval)
            await asyncio.sleep(gap)
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


async def run_fleet(base: str, code: str, count: int, offset: int, interval: float, duration: float,
                    steady: bool, seed: int, ready: Any = None, go: Any = None) -> FleetResult:
    """Connect ``count`` phones, wait for the go signal, vote for ``duration`` seconds, drain, report."""
    result = FleetResult()
    start = asyncio.Event()
    deadline = [float("inf")]
    url = _ws_url(base, code)
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)
    tasks: list[asyncio.Task[None]] = []

    async def connect(i: int) -> None:
        # Hold the gate until this phone has its snapshot (or failed), so connects are paced.
        async with gate:
            ready = asyncio.Event()
            tasks.append(asyncio.get_running_loop().create_task(
                _phone(offset + i, url, interval, steady, start, deadline, result, seed, ready)))
            await ready.wait()

    await asyncio.wait_for(asyncio.gather(*(connect(i) for i in range(count))), timeout=max(120.0, count * 0.2))
    if ready is not None:
        ready.put(result.connected)
    if go is not None:
        await asyncio.to_thread(go.wait)
    deadline[0] = time.monotonic() + duration
    start.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    return result


def _fleet_process(base: str, code: str, count: int, offset: int, interval: float, duration: float,
                   steady: bool, seed: int, ready: Any, go: Any, out: Any) -> None:
    result = asyncio.run(run_fleet(base, code, count, offset, interval, duration, steady, seed, ready, go))
    out.put(result)


# ---------------------------------------------------------------- the projector


class Projector:
    """The big screen: records when each (participant, statement) vote arrives in a batch."""

    def __init__(self, base: str, code: str) -> None:
        self.url = _ws_url(base, code)
        self.arrivals: dict[tuple[int, int], deque[float]] = defaultdict(deque)
        self.updates = 0
        self.batches = 0
        self.last_seq = 0
        self.gaps = 0
        self.closed: str | None = None
        """Why the server closed the projector before the end (a dead projector makes every vote "lost")."""
        self.ws: Any = None
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.ws = await websockets.connect(self.url, compression=None, max_size=2**24, ping_interval=None)
        await self.ws.send('{"v":1,"type":"hello","role":"projector"}')
        json.loads(await self.ws.recv())  # welcome
        snapshot = json.loads(await self.ws.recv())
        self.last_seq = int(snapshot.get("seq", 0))
        self.task = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        try:
            await self._read_all()
        except websockets.ConnectionClosed as exc:
            self.closed = f"{exc.rcvd.code if exc.rcvd else 'none'} {exc.rcvd.reason if exc.rcvd else ''}".strip()

    async def _read_all(self) -> None:
        async for raw in self.ws:
            now = time.monotonic()
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
                    self.arrivals[(event["participant"], event["statement"])].append(now)

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(BaseException):
                await self.task
        with contextlib.suppress(Exception):
            await self.ws.close()


# ---------------------------------------------------------------- the run


@dataclass
class LoadResult:
    figures: dict[str, Any]


async def _prepare(args: argparse.Namespace) -> tuple[str, str | None]:
    base = args.url.rstrip("/")
    if args.code:
        code = str(args.code).replace("-", "").upper()
        host_key = getattr(args, "host_key", None)
    else:
        seeds = [f"Loadtest seed statement number {i + 1}." for i in range(SEED_STATEMENTS)]
        created = await asyncio.to_thread(
            _http_json, "POST", f"{base}/api/meetings",
            {"title": "Loadtest", "language": "en", "moderation": "post", "seeds": seeds},
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


async def _run(args: argparse.Namespace) -> dict[str, Any]:
    code, _ = await _prepare(args)
    base = args.url.rstrip("/")
    n = int(args.participants)
    processes = max(1, min(int(getattr(args, "processes", 0) or (2 if n >= 400 else 1)), n or 1))
    seed = int(getattr(args, "seed", 0) or 0)
    steady = bool(getattr(args, "steady", False))
    interval, duration = float(args.vote_interval), float(args.duration)
    projector = Projector(base, code)
    await projector.start()
    shares = [n // processes + (1 if i < n % processes else 0) for i in range(processes)]
    results: list[FleetResult] = []
    started_at = time.monotonic()
    if processes == 1:
        results.append(await run_fleet(base, code, n, 0, interval, duration, steady, seed))
        voting_started = started_at
    else:
        ctx = multiprocessing.get_context("spawn")
        ready, out, go = ctx.Queue(), ctx.Queue(), ctx.Event()
        procs = []
        offset = 0
        for share in shares:
            proc = ctx.Process(target=_fleet_process, daemon=True,
                               args=(base, code, share, offset, interval, duration, steady, seed, ready, go, out))
            proc.start()
            procs.append(proc)
            offset += share
        for _ in procs:
            await asyncio.to_thread(ready.get, True, max(120.0, n * 0.2))
        voting_started = time.monotonic()
        go.set()
        for _ in procs:
            results.append(await asyncio.to_thread(out.get, True, duration + DRAIN_SECONDS + 120))
        for proc in procs:
            await asyncio.to_thread(proc.join, 10)
            if proc.is_alive():
                proc.kill()
    # Projector batches trail acks: wait until the projector has seen the meeting's last event (bounded),
    # then everything acked but not seen is lost.
    final_seq = int((await asyncio.to_thread(_http_json, "GET", f"{base}/api/meetings/{code}"))["seq"])
    catch_up = time.monotonic() + DRAIN_SECONDS
    while projector.last_seq < final_seq and projector.closed is None and time.monotonic() < catch_up:
        await asyncio.sleep(0.05)
    await projector.stop()
    return _figures(n, results, projector, voting_started, duration, processes, code)


def _figures(n: int, results: list[FleetResult], projector: Projector, voting_started: float, duration: float,
             processes: int, code: str) -> dict[str, Any]:
    records = sorted((r for fleet in results for r in fleet.records), key=lambda r: r[2])
    errors: Counter[str] = Counter()
    for fleet in results:
        errors.update(fleet.errors)
    to_projector: list[float] = []
    to_ack: list[float] = []
    acked = lost = 0
    for participant, statement, sent, ack in records:
        arrivals = projector.arrivals.get((participant, statement))
        arrived = arrivals.popleft() if arrivals else None
        if ack is not None:
            acked += 1
            to_ack.append((ack - sent) * 1000)
            if arrived is None:
                lost += 1
        if arrived is not None:
            to_projector.append((arrived - sent) * 1000)

    def ms(value: float | None) -> float | None:
        return None if value is None else round(value, 2)

    return {
        "participants": n,
        "connected": sum(f.connected for f in results),
        "votes_sent": len(records),
        "votes_acked": acked,
        "updates_received": projector.updates,
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
        "projector_batches": projector.batches,
        "projector_gaps": projector.gaps,
        "projector_closed": projector.closed,
        "duration_s": duration,
        "processes": processes,
        "code": code,
    }


def _print_table(figures: dict[str, Any]) -> None:
    rows = [
        ("phones connected", f"{figures['connected']} / {figures['participants']}"),
        ("votes sent / acked", f"{figures['votes_sent']} / {figures['votes_acked']}"),
        ("acked votes per second", figures["acked_per_s"]),
        ("vote -> projector p50 / p99 / max", f"{figures['p50_ms']} / {figures['p99_ms']} / {figures['max_ms']} ms"),
        ("vote -> ack p50 / p99", f"{figures['ack_p50_ms']} / {figures['ack_p99_ms']} ms"),
        ("projector updates / batches / gaps",
         f"{figures['updates_received']} / {figures['projector_batches']} / {figures['projector_gaps']}"),
        ("lost (acked, never on the projector)", figures["lost"]),
        ("errors", f"{figures['errors']} {figures['error_codes'] or ''}"),
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
