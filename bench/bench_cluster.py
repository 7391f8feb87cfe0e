"""The deployed shape under load: nginx, N workers and a Redis Cluster (scripts/stack.sh), 2,000 phones.

Three parts, each on a fresh stack (``scripts/stack.sh up N --cluster``, analysis off: the vote path):

1. **steady**: ``facilitation loadtest``'s generator through nginx (phones vote on average every 3 s, a
   projector through nginx): vote -> projector p50/p99, vote -> ack p50/p99, lost (acked, never on the
   projector; must be 0), and the server's CPU per acknowledged vote from /proc, summed over every process
   of the stack (nginx, workers, Redis nodes) and split by part. Run with 4 workers and with 1 worker
   (same cluster, same nginx), and once embedded (one process, SQLite, no nginx) for the ack figure.
   And on one Redis node with one worker and no nginx, the shape the issue's ack figures were taken on.
2. **worker kill**: reconnecting phones (they resume with ``since`` and resend their unacknowledged vote
   with the same op, as the phone page does) vote through nginx; the meeting's owner worker is killed -9
   ``--kill-at`` seconds in. Reported: the longest time in which no phone got an ack (the room's outage),
   each phone's longest wait for an ack (p50/p99/max), votes acknowledged and lost (acked, not in the
   log: must be 0), votes applied twice (must be 0).
3. **master kill**: the same, with the Redis master that holds the meeting's shard killed -9 instead.
   Both kills report ``outage_parts`` (seconds after the kill): when a live node served the meeting's slot
   as master (``promoted_s``: the cluster's failure detection, bounded by ``cluster-node-timeout``, plus
   the replica's election), the first ack after that (our clients found the new master and replayed),
   the ack rate back to half its rate before the kill, and each worker's ``/readyz`` going 503 and 200.
4. **failover** (``--parts failover --trials N``): the cluster's part alone, without load: N fresh stacks
   (one worker), a master killed in each; promotion time and the worker's readiness after it.
   ``--node-timeout MS`` runs any part with another ``cluster-node-timeout`` (scripts/stack.sh's
   ``REDIS_CLUSTER_NODE_TIMEOUT``).

On this 2-core machine the stack is pinned to CPU 0 and the load generator to CPU 1 (``taskset``), so the
server's CPU per vote is not inflated by the generator; other engineers' processes may share the machine:
the load average before and after each part is in the JSON.

    python bench/bench_cluster.py --out bench/results/cluster.json                  # everything, 2,000 phones
    python bench/bench_cluster.py --phones 500 --duration 20 --parts steady --out /tmp/c.json
    python bench/bench_cluster.py --parts failover --trials 5 --node-timeout 1000 --out /tmp/f.json
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import multiprocessing
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import websockets

from bench import children
from bench.children import start_stack  # registers the stack's `down` for SIGTERM/SIGINT
from facilitation.storage import redis_keys as keys
from facilitation.tools import loadtest
from tests.deploy.stack import Stack
from tests.support.servers import RedisServer, ServerProcess

SERVER_CPU = 0
CLIENT_CPU = 1
VALUES = ("agree", "disagree", "pass", "acceptable")
STATEMENTS = 40


def _pin(pids: list[int], cpu: int) -> None:
    taskset = shutil.which("taskset")
    if taskset and (os.cpu_count() or 1) > cpu:
        for pid in pids:
            for p in loadtest._proc_tree(pid):
                subprocess.run([taskset, "-a", "-cp", str(cpu), str(p)], capture_output=True, check=False)


def _cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def _stack_pids(stack: Stack) -> dict[str, list[int]]:
    parts: dict[str, list[int]] = {"nginx": [], "workers": [], "redis": []}
    for pidfile in sorted((stack.dir / "pids").glob("*.pid")):
        name = pidfile.stem
        part = "nginx" if name == "nginx" else "workers" if name.startswith("app") else "redis"
        parts[part] += loadtest._proc_tree(int(pidfile.read_text()))
    return parts


def _cpu_by_part(parts: dict[str, list[int]]) -> dict[str, float]:
    return {part: sum(_cpu(p) for p in pids) for part, pids in parts.items()}


# ---------------------------------------------------------------- part 1: steady load through nginx


def steady(workers: int, phones: int, duration: float, embedded: bool = False, single: bool = False
           ) -> dict[str, Any]:
    """The loadtest's generator against a fresh stack (or one process, embedded or on one Redis node, without
    nginx), CPU from /proc."""
    load_before = [round(x, 2) for x in os.getloadavg()]
    stack = None
    server = None
    redis = None
    if single:
        redis = RedisServer().start()
        server = ServerProcess(redis.url, redis=redis.url, env={"FACILITATION_ANALYSIS": "0"}).start(timeout=60)
        assert server.proc is not None and redis.proc is not None
        parts = {"workers": loadtest._proc_tree(server.proc.pid), "redis": [redis.proc.pid]}
        url = server.url
    elif embedded:
        tmp = tempfile.mkdtemp(prefix="bench-cluster-")
        server = ServerProcess(f"sqlite:///{tmp}/bench.db", env={"FACILITATION_ANALYSIS": "0"}).start(timeout=60)
        assert server.proc is not None
        parts = {"workers": loadtest._proc_tree(server.proc.pid)}
        url = server.url
    else:
        stack = start_stack(workers, cluster=True, **_node_timeout_env())
        parts = _stack_pids(stack)
        url = stack.url
    try:
        _pin([p for pids in parts.values() for p in pids], SERVER_CPU)
        args = argparse.Namespace(
            url=url, code=None, host_key=None, participants=phones, duration=duration, vote_interval=3.0,
            processes=0, steady=False, seed=1, post_rate=0.0, moderation="post", source_addresses=0,
            client_cpus=str(CLIENT_CPU), server_pid=None, observe_pids=[], json=True)
        before = _cpu_by_part(parts)
        started = time.monotonic()
        figures: dict[str, Any] = asyncio.run(loadtest._run(args))
        wall = time.monotonic() - started
        after = _cpu_by_part(parts)
    finally:
        if stack is not None:
            stack.down()
        if server is not None:
            server.stop()
        if redis is not None:
            redis.kill()
            redis.stop()
    acked = max(1, int(figures.get("votes_acked", 0)))
    cpu = {part: round(after[part] - before[part], 2) for part in parts}
    keep = ("participants", "connected", "votes_acked", "acked_per_s", "lost", "p50_ms", "p99_ms",
            "ack_p50_ms", "ack_p99_ms", "errors", "error_codes", "projector_gaps")
    return {
        "mode": ("embedded (SQLite), 1 worker, direct" if embedded else "one Redis node, 1 worker, direct" if single
                 else f"cluster, {workers} worker(s) behind nginx"),
        "workers": workers,
        **{k: figures[k] for k in keep if k in figures},
        "server_cpu_s": cpu,
        "server_cpu_us_per_vote": {part: round(s / acked * 1e6, 1) for part, s in cpu.items()},
        "server_cpu_us_per_vote_total": round(sum(cpu.values()) / acked * 1e6, 1),
        "window_s_incl_setup": round(wall, 1),
        "load_average_before": load_before,
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
    }


# ---------------------------------------------------------------- parts 2 and 3: reconnecting phones


async def _phone(base: str, code: str, index: int, plan: dict[str, Any], log: dict[str, Any]) -> None:
    """Vote every ``interval`` s (jittered) on statement after statement; on an error or a closed socket,
    reconnect through nginx with the token and resend the same op until acked."""
    ws_url = base.replace("http", "ws", 1) + f"/ws/{code}"
    token: str | None = None
    loop = asyncio.get_running_loop()
    start = plan["start"]
    interval = plan["interval"]
    rng = (index * 7919) % 1000 / 1000
    statement = 0
    acks: list[list[float]] = []
    waits: list[float] = []
    ws: Any = None
    participant = None

    async def connect() -> Any:
        nonlocal token, participant
        while True:
            try:
                sock = await websockets.connect(ws_url, compression=None, open_timeout=10)
                hello = {"v": 1, "type": "hello", "role": "participant"}
                if token:
                    hello["token"] = token
                await sock.send(json.dumps(hello))
                while True:
                    message = json.loads(await asyncio.wait_for(sock.recv(), 10))
                    if message.get("type") == "welcome":
                        token = message["token"]
                        participant = message.get("participant")
                        return sock
                    if message.get("type") == "error":
                        raise ConnectionError(message)
            except (OSError, TimeoutError, ConnectionError, websockets.WebSocketException):
                log["reconnect_failures"] += 1
                await asyncio.sleep(0.2)
                if loop.time() > plan["end"] + 30:
                    raise

    ws = await connect()
    await asyncio.sleep(max(0.0, start - loop.time()) + rng * interval)
    while loop.time() < plan["end"] and statement < STATEMENTS:
        op = f"b{index}-{statement}"
        value = VALUES[(index + statement) % 4]
        frame = json.dumps({"v": 1, "type": "vote", "op": op, "statement": statement, "value": value})
        sent = loop.time()
        while True:
            try:
                await ws.send(frame)
                while True:
                    message = json.loads(await asyncio.wait_for(ws.recv(), 15))
                    if message.get("op") == op and message.get("type") in ("ack", "error"):
                        break
                if message["type"] == "ack":
                    break
                log["refused"][message["error"]["code"]] = log["refused"].get(message["error"]["code"], 0) + 1
                await asyncio.sleep(0.2)
            except (OSError, TimeoutError, websockets.WebSocketException):
                log["resends"] += 1
                with contextlib.suppress(Exception):
                    await ws.close()
                ws = await connect()
        now = loop.time()
        acks.append([now, statement, participant, value])
        waits.append(now - sent)
        statement += 1
        await asyncio.sleep(interval * (0.5 + rng))
    with contextlib.suppress(Exception):
        await ws.close()
    log["acks"] += acks
    log["waits"] += waits


def _fleet(base: str, code: str, first: int, count: int, plan: dict[str, Any], cpu: int,
           out: multiprocessing.Queue[dict[str, Any]]) -> None:
    with contextlib.suppress(OSError):
        os.sched_setaffinity(0, {cpu})
    log: dict[str, Any] = {"acks": [], "waits": [], "resends": 0, "reconnect_failures": 0, "refused": {}}

    async def main() -> None:
        loop = asyncio.get_running_loop()
        offset = time.time() - loop.time()
        local = {**plan, "start": plan["start"] - offset, "end": plan["end"] - offset}
        await asyncio.gather(*(_phone(base, code, i, local, log) for i in range(first, first + count)),
                             return_exceptions=True)
        for ack in log["acks"]:
            ack[0] += offset

    asyncio.run(main())
    out.put(log)


def _http(method: str, url: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    request = urllib.request.Request(url, method=method, data=None if body is None else json.dumps(body).encode(),
                                     headers={"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        answer: dict[str, Any] = json.loads(response.read())
    return answer


async def _open_meeting(base: str) -> str:
    created = _http("POST", base + "/api/meetings",
                    {"title": "bench", "seeds": [f"statement {i}" for i in range(STATEMENTS)]})
    host = await websockets.connect(base.replace("http", "ws", 1) + f"/ws/{created['code']}", compression=None)
    await host.send(json.dumps({"v": 1, "type": "hello", "role": "host", "host_key": created["host_key"]}))
    await host.send(json.dumps({"v": 1, "type": "phase", "op": "open", "phase": "collecting"}))
    while True:
        message = json.loads(await host.recv())
        if message.get("op") == "open":
            break
    await host.close()
    return str(created["code"])


def _owner_app(stack: Stack, code: str) -> str:
    import redis as syncredis

    client = syncredis.RedisCluster.from_url(stack.redis_url, decode_responses=True)
    try:
        token = str(client.get(keys.owner(code)))
        master = int(client.get_node_from_key(keys.log(code)).port)  # type: ignore[no-untyped-call]
    finally:
        client.close()
    workers = [_http("GET", stack.app_url(i) + "/readyz")["worker"] for i in range(len(stack.app_ports))]
    app = f"app{workers.index(token.split(':', 1)[1]) + 1}"
    return f"{app} redis{stack.redis_ports.index(master) + 1}"


async def _log_votes(stack: Stack, code: str, alive_port: int) -> list[Any]:
    from facilitation.storage.redis_store import RedisStore

    store = RedisStore(f"redis://127.0.0.1:{alive_port}/0")
    await store.start()
    try:
        return await store.load(code) or []
    finally:
        await store.close()


class Watch:
    """Polls, from the kill on, what each part of an outage is waiting for: a live Redis node serving the
    meeting's slot as a master (the replica promoted: cluster failure detection plus election), and each
    worker's ``/readyz`` (503 once it noticed, 200 again once it can write). Times are ``time.time()``."""

    EVERY = 0.05

    def __init__(self, stack: Stack, code: str, dead_port: int | None) -> None:
        self.stack = stack
        self.code = code
        self.dead_port = dead_port
        self.stop = threading.Event()
        self.promoted_at: float | None = None
        self.unready: dict[int, float] = {}
        self.ready_again: dict[int, float] = {}
        self.threads = [threading.Thread(target=self._ready, args=(i,), daemon=True)
                        for i in range(len(stack.app_ports))]
        if dead_port is not None:
            self.threads.append(threading.Thread(target=self._promotion, daemon=True))

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def close(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(5)

    def _promotion(self) -> None:
        import redis as syncredis

        alive = next(p for p in self.stack.redis_ports if p != self.dead_port)
        client = syncredis.Redis(port=alive, decode_responses=True, socket_timeout=2)
        try:
            slot = int(client.execute_command("CLUSTER", "KEYSLOT", keys.log(self.code)))  # type: ignore[no-untyped-call]
            while not self.stop.is_set():
                with contextlib.suppress(OSError, syncredis.RedisError):
                    for line in str(client.execute_command("CLUSTER", "NODES")).splitlines():  # type: ignore[no-untyped-call]
                        fields = line.split()
                        port = int(fields[1].split("@")[0].rsplit(":", 1)[1])
                        if "master" not in fields[2] or "fail" in fields[2] or port == self.dead_port:
                            continue
                        for span in fields[8:]:
                            low, _, high = span.partition("-")
                            if low.isdigit() and int(low) <= slot <= int(high or low):
                                self.promoted_at = time.time()
                                return
                time.sleep(self.EVERY)
        finally:
            client.close()

    def _ready(self, index: int) -> None:
        url = self.stack.app_url(index) + "/readyz"
        while not self.stop.is_set():
            try:
                with urllib.request.urlopen(url, timeout=1) as response:
                    ok = response.status == 200
            except OSError:  # 503, or a killed worker's refused connection
                ok = False
            now = time.time()
            if not ok:
                self.unready.setdefault(index, now)
            elif index in self.unready and index not in self.ready_again:
                self.ready_again[index] = now
            time.sleep(self.EVERY)


def _parts(watch: Watch, killed_at: float, times: list[float], before_rate: float) -> dict[str, Any]:
    """Where the outage went, in seconds from the kill: the promotion (``cluster-node-timeout`` plus the
    replicas' election), the first ack after it (our clients found the new master), the ack rate back to
    half the rate before the kill, and every worker's readiness back."""
    after = [t for t in times if t > killed_at]

    def since(at: float | None) -> float | None:
        return None if at is None else round(at - killed_at, 2)

    first_ack = next((t for t in after if watch.promoted_at is None or t >= watch.promoted_at), None)
    recovered = None
    window: list[float] = []
    for t in after:
        window.append(t)
        while window[0] < t - 1.0:
            window.pop(0)
        if len(window) >= 0.5 * before_rate and (watch.promoted_at is None or t >= watch.promoted_at):
            recovered = t
            break
    stalled = [t for t in after if watch.promoted_at is None or t < watch.promoted_at]
    return {
        "promoted_s": since(watch.promoted_at),
        "first_ack_after_promotion_s": since(first_ack),
        "acks_between_kill_and_promotion": len(stalled),
        "ack_rate_half_back_s": since(recovered),
        "ack_rate_before_per_s": round(before_rate, 1),
        "workers_unready_s": {f"app{i + 1}": since(at) for i, at in sorted(watch.unready.items())},
        "workers_ready_again_s": {f"app{i + 1}": since(at) for i, at in sorted(watch.ready_again.items())},
    }


NODE_TIMEOUT: list[int | None] = [None]
"""``--node-timeout``: the cluster's ``cluster-node-timeout`` (ms) for this run, else deploy/redis-cluster.conf's."""


def _node_timeout_env() -> dict[str, str]:
    return {} if NODE_TIMEOUT[0] is None else {"REDIS_CLUSTER_NODE_TIMEOUT": str(NODE_TIMEOUT[0])}


def _config(port: int, name: str) -> int | None:
    import redis as syncredis

    client = syncredis.Redis(port=port, decode_responses=True, socket_timeout=5)
    try:
        value = client.config_get(name).get(name)
        return None if value is None else int(value)
    finally:
        client.close()


def kill(what: str, workers: int, phones: int, duration: float, kill_at: float) -> dict[str, Any]:
    """Reconnecting phones through nginx; the owner worker (``what='worker'``) or the meeting's Redis master
    (``'master'``) killed -9 ``kill_at`` s into the voting."""
    load_before = [round(x, 2) for x in os.getloadavg()]
    stack = start_stack(workers, cluster=True, **_node_timeout_env())
    try:
        _pin([p for pids in _stack_pids(stack).values() for p in pids], SERVER_CPU)
        node_timeout = _config(stack.redis_ports[0], "cluster-node-timeout")
        code = asyncio.run(_open_meeting(stack.url))
        processes = 2 if phones >= 400 else 1
        start = time.time() + 10 + phones / 200  # time for every phone to connect first
        plan = {"start": start, "end": start + duration, "interval": 3.0}
        ctx = multiprocessing.get_context("spawn")
        out: multiprocessing.Queue[dict[str, Any]] = ctx.Queue()
        shares = [phones // processes + (1 if i < phones % processes else 0) for i in range(processes)]
        procs = []
        first = 0
        for share in shares:
            proc = ctx.Process(target=_fleet, args=(stack.url, code, first, share, plan, CLIENT_CPU, out), daemon=True)
            proc.start()
            procs.append(proc)
            first += share
        owner_app, master = _owner_app(stack, code).split()
        time.sleep(max(0.0, start + kill_at - time.time()))
        victim = owner_app if what == "worker" else master
        victim_port = None if what == "worker" else stack.redis_ports[int(master.removeprefix("redis")) - 1]
        killed_at = time.time()
        watch = Watch(stack, code, victim_port)
        watch.start()
        stack.kill(victim)
        logs = [out.get(True, duration + 300) for _ in procs]
        watch.close()
        for proc in procs:
            proc.join(10)
        alive = next(p for p in stack.redis_ports if p != victim_port)
        events = asyncio.run(_log_votes(stack, code, alive))
    finally:
        stack.down()
    acks = sorted(a for log in logs for a in log["acks"])
    waits = sorted(w for log in logs for w in log["waits"])
    times = [a[0] for a in acks]
    around = [t for t in times if t >= killed_at - 2.0]
    gaps = [b - a for a, b in itertools.pairwise(around)]
    in_log: dict[tuple[int, int], list[str]] = {}
    for event in events:
        if getattr(event, "type", "") == "vote":
            in_log.setdefault((event.participant, event.statement), []).append(event.value)
    lost = sum(1 for _, statement, participant, value in acks
               if value not in in_log.get((participant, statement), []))
    doubled = sum(1 for values in in_log.values() if len(values) > 1)

    def pct(values: list[float], q: float) -> float | None:
        return round(values[min(len(values) - 1, int(q * len(values)))] * 1000, 1) if values else None

    before = [t for t in times if killed_at - 5.0 <= t < killed_at]
    parts = _parts(watch, killed_at, times, len(before) / 5.0)
    return {
        "outage_parts": parts,
        "cluster_node_timeout_ms": node_timeout,
        "killed": f"{victim} ({'the meeting owner worker' if what == 'worker' else 'the Redis master of the meeting'})",
        "workers": workers,
        "phones": phones,
        "votes_acked": len(acks),
        "lost": lost,
        "doubled": doubled,
        "room_outage_s": round(max(gaps, default=0.0), 2),
        "ack_wait_ms": {"p50": pct(waits, 0.5), "p99": pct(waits, 0.99), "max": pct(waits, 1.0)},
        "resends": sum(log["resends"] for log in logs),
        "refused": {k: sum(log["refused"].get(k, 0) for log in logs) for log in logs for k in log["refused"]},
        "reconnect_failures": sum(log["reconnect_failures"] for log in logs),
        "load_average_before": load_before,
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
    }


def failover(trials: int) -> dict[str, Any]:
    """The cluster's own part of a master's loss, without load: a fresh stack (one worker, no phones), a
    master killed -9, the time until a live node serves its slots as master (failure detection, which
    ``cluster-node-timeout`` bounds, plus the replica's election: Redis waits 500-1,000 ms before asking
    for votes) and until the worker is ready again. ``trials`` stacks, one kill each."""
    rows = []
    for _ in range(trials):
        stack = start_stack(1, cluster=True, **_node_timeout_env())
        try:
            _pin([p for pids in _stack_pids(stack).values() for p in pids], SERVER_CPU)
            code = "FAILOVER"
            port = _master_port(stack, keys.log(code))
            watch = Watch(stack, code, port)
            time.sleep(1.0)
            killed_at = time.time()
            watch.start()
            stack.kill(f"redis{stack.redis_ports.index(port) + 1}")
            deadline = time.time() + 60
            while time.time() < deadline and (watch.promoted_at is None or 0 not in watch.ready_again):
                time.sleep(0.05)
            watch.close()
            ready = watch.ready_again.get(0)
            rows.append({
                "promoted_s": None if watch.promoted_at is None else round(watch.promoted_at - killed_at, 2),
                "worker_ready_s": None if ready is None else round(ready - killed_at, 2),
                "worker_unready_s": None if 0 not in watch.unready else round(watch.unready[0] - killed_at, 2),
                "load_average": [round(x, 2) for x in os.getloadavg()],
            })
            node_timeout = _config(stack.redis_ports[0 if port != stack.redis_ports[0] else 1], "cluster-node-timeout")
        finally:
            stack.down()
    promoted = sorted(r["promoted_s"] for r in rows if r["promoted_s"] is not None)
    ready = sorted(r["worker_ready_s"] - r["promoted_s"] for r in rows
                   if r["worker_ready_s"] is not None and r["promoted_s"] is not None)
    return {
        "cluster_node_timeout_ms": node_timeout,
        "trials": rows,
        "promoted_s_min_median_max": [promoted[0], promoted[len(promoted) // 2], promoted[-1]] if promoted else None,
        "worker_ready_after_promotion_s_min_median_max":
            [round(ready[0], 2), round(ready[len(ready) // 2], 2), round(ready[-1], 2)] if ready else None,
    }


def _master_port(stack: Stack, key: str) -> int:
    import redis as syncredis

    client = syncredis.RedisCluster.from_url(stack.redis_url, decode_responses=True)
    try:
        return int(client.get_node_from_key(key).port)  # type: ignore[no-untyped-call]
    finally:
        client.close()


# ---------------------------------------------------------------- report


def _table(results: dict[str, Any]) -> str:
    lines = ["steady load (phones vote every 3 s on average):",
             f"{'mode':42} {'acked/s':>8} {'ack p50':>8} {'proj p50':>9} {'proj p99':>9} {'lost':>5} "
             f"{'CPU us/vote (total; workers)':>30}"]
    for run in results.get("steady", []):
        lines.append(f"{run['mode']:42} {run.get('acked_per_s', 0):>8} {run.get('ack_p50_ms', '-'):>8} "
                     f"{run.get('p50_ms', '-'):>9} {run.get('p99_ms', '-'):>9} {run.get('lost', '-'):>5} "
                     f"{run['server_cpu_us_per_vote_total']:>14} ; {run['server_cpu_us_per_vote'].get('workers'):>8}")
    if results.get("failover"):
        run = results["failover"]
        lines.append(f"failover (no load, cluster-node-timeout {run['cluster_node_timeout_ms']} ms, "
                     f"{len(run['trials'])} kills): promoted after min/median/max "
                     f"{run['promoted_s_min_median_max']} s, the worker ready again "
                     f"{run['worker_ready_after_promotion_s_min_median_max']} s after that")
    for name in ("worker_kill", "master_kill"):
        run = results.get(name)
        if run:
            lines.append(f"{name}: parts (s after the kill): {run.get('outage_parts')}")
            lines.append(f"{name}: killed {run['killed']}: outage {run['room_outage_s']} s, ack wait "
                         f"p50/p99/max {run['ack_wait_ms']['p50']}/{run['ack_wait_ms']['p99']}/"
                         f"{run['ack_wait_ms']['max']} ms, acked {run['votes_acked']}, lost {run['lost']}, "
                         f"doubled {run['doubled']}, resends {run['resends']}")
    return "\n".join(lines)


def main() -> int:
    children.install()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--phones", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of voting per part")
    parser.add_argument("--kill-at", type=float, default=10.0, help="seconds into the voting of a kill")
    parser.add_argument("--parts", default="steady,worker_kill,master_kill")
    parser.add_argument("--trials", type=int, default=5, help="kills of the 'failover' part (a stack each)")
    parser.add_argument("--node-timeout", type=int, default=None, metavar="MS",
                        help="cluster-node-timeout for the stack (default: deploy/redis-cluster.conf's)")
    args = parser.parse_args()
    NODE_TIMEOUT[0] = args.node_timeout
    parts = set(args.parts.split(","))
    results: dict[str, Any] = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "load_average_at_start": [round(x, 2) for x in os.getloadavg()]},
        "pinning": f"stack on CPU {SERVER_CPU}, load generator on CPU {CLIENT_CPU}",
    }
    runs: list[tuple[str, Callable[[], dict[str, Any]]]] = []
    if "steady" in parts:
        runs += [("steady", lambda: steady(args.workers, args.phones, args.duration)),
                 ("steady", lambda: steady(1, args.phones, args.duration)),
                 ("steady", lambda: steady(1, args.phones, args.duration, single=True)),
                 ("steady", lambda: steady(1, args.phones, args.duration, embedded=True))]
    if "worker_kill" in parts:
        runs.append(("worker_kill", lambda: kill("worker", args.workers, args.phones, args.duration, args.kill_at)))
    if "failover" in parts:
        runs.append(("failover", lambda: failover(args.trials)))
    if "master_kill" in parts:
        runs.append(("master_kill", lambda: kill("master", args.workers, args.phones, args.duration, args.kill_at)))
    for name, run in runs:
        print(f"running {name} ...", flush=True)
        result = run()
        if name == "steady":
            results.setdefault("steady", []).append(result)
        else:
            results[name] = result
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(results, indent=1, ensure_ascii=False))
    if "steady" in results and len(results["steady"]) >= 2:
        many, one = results["steady"][0], results["steady"][1]
        results["cpu_per_vote_per_worker"] = {
            f"{many['workers']} workers (workers' CPU / vote)": many["server_cpu_us_per_vote"]["workers"],
            "1 worker (workers' CPU / vote)": one["server_cpu_us_per_vote"]["workers"],
            "ratio": round(many["server_cpu_us_per_vote"]["workers"]
                           / max(1e-9, one["server_cpu_us_per_vote"]["workers"]), 2),
        }
    Path(args.out).write_text(json.dumps(results, indent=1, ensure_ascii=False))
    print(_table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
