"""Prometheus metrics for ``GET /metrics``: connections, commands, votes, errors, latencies.

prometheus_client does the text format and histogram bookkeeping correctly; we only name the series.
The three series touched by every vote (commands, votes, command latency) are plain Python counts read at
scrape time (:class:`HotCounter`, :class:`HotHistogram`): prometheus_client takes a lock per increment,
and four of them were a tenth of the Python time of a durable vote.
"""

from __future__ import annotations

import asyncio
import bisect
import gc
import os
import socket
import time
from collections.abc import Iterator, Sequence

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

__all__ = [
    "ANALYSIS_CPU_SECONDS",
    "ANALYSIS_QUEUE",
    "ANALYSIS_RUNS",
    "ANALYSIS_SECONDS",
    "COMMANDS",
    "COMMAND_SECONDS",
    "CONNECTIONS",
    "ERRORS",
    "GC_SECONDS",
    "LOOP_LAG",
    "LOOP_LAG_MAX",
    "REGISTRY",
    "STORE_COMMIT_SECONDS",
    "STORE_HEALTHY",
    "STORE_REFUSED",
    "STORE_UNREPLICATED",
    "STORE_WRITER_RESTARTS",
    "VOTES",
    "VOTE_TO_PROJECTOR_SECONDS",
    "WORKER",
    "monitor_loop_lag",
    "render",
    "watch_gc",
]

REGISTRY = CollectorRegistry(auto_describe=True)

WORKER = os.environ.get("FACILITATION_WORKER_NAME") or f"{socket.gethostname()}-{os.getpid()}"
"""This process's name in every series it exports (label ``worker``): behind nginx, or with ``--workers N``
on one port, successive scrapes reach different processes, and their counters only add up when each series
says whose it is. scripts/stack.sh names them app1..appN; otherwise host and pid."""


class HotCounter(Collector):
    """A counter, optionally by one label, incremented without a lock: only the event loop's thread
    touches it (integer increments of a dict entry), and scrapes run on that thread too."""

    def __init__(self, name: str, documentation: str, label: str | None = None) -> None:
        self.name = name
        self.documentation = documentation
        self.label = label
        self.counts: dict[str, int] = {}
        REGISTRY.register(self)

    def inc(self, key: str = "") -> None:
        self.counts[key] = self.counts.get(key, 0) + 1

    def value(self, key: str = "") -> int:
        return self.counts.get(key, 0)

    def collect(self) -> Iterator[Metric]:
        family = CounterMetricFamily(self.name, self.documentation, labels=[self.label] if self.label else None)
        for key, count in sorted(self.counts.items()):
            family.add_metric([key] if self.label else [], count)
        yield family


class HotHistogram(Collector):
    """A histogram with a bisect and two additions per observation (no lock, see :class:`HotCounter`)."""

    def __init__(self, name: str, documentation: str, buckets: Sequence[float]) -> None:
        self.name = name
        self.documentation = documentation
        self.bounds = list(buckets)
        self.counts = [0] * (len(self.bounds) + 1)
        self.total = 0.0
        REGISTRY.register(self)

    def observe(self, value: float) -> None:
        self.counts[bisect.bisect_left(self.bounds, value)] += 1
        self.total += value

    def collect(self) -> Iterator[Metric]:
        cumulative, running = [], 0
        for bound, count in zip([*map(str, self.bounds), "+Inf"], self.counts, strict=True):
            running += count
            cumulative.append((bound, running))
        family = HistogramMetricFamily(self.name, self.documentation)
        family.add_metric([], cumulative, sum_value=self.total)
        yield family


CONNECTIONS = Gauge(
    "facilitation_connections", "Open WebSocket connections", ["role"], registry=REGISTRY
)
COMMANDS = HotCounter("facilitation_commands", "Commands received", "type")
VOTES = HotCounter("facilitation_votes", "Votes acknowledged")
ERRORS = Counter("facilitation_errors_total", "Errors sent to clients", ["code"], registry=REGISTRY)
COMMAND_SECONDS = HotHistogram(
    "facilitation_command_seconds",
    "Time from a command's arrival to its durable acknowledgement",
    (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)
ANALYSIS_SECONDS = Histogram(
    "facilitation_analysis_seconds",
    "Time of one live analysis run",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0),
    registry=REGISTRY,
)


ANALYSIS_RUNS = Counter(
    "facilitation_analysis_runs_total", "Live analysis runs by outcome (ok, failed)", ["outcome"], registry=REGISTRY
)
ANALYSIS_CPU_SECONDS = Counter(
    "facilitation_analysis_cpu_seconds_total", "CPU time the analysis workers spent in runs", registry=REGISTRY
)
ANALYSIS_QUEUE = Gauge(
    "facilitation_analysis_queue", "Meetings waiting for an analysis worker", registry=REGISTRY
)
ROOMS_EVICTED = Counter(
    "facilitation_rooms_evicted_total",
    "Meetings closed in memory after standing idle (reloaded from the store on their next use)", registry=REGISTRY,
)
STORE_REFUSED = Counter(
    "facilitation_store_refused_total",
    "Writes the store refused alone (an item it cannot represent); the writer went on", registry=REGISTRY,
)
STORE_WRITER_RESTARTS = Counter(
    "facilitation_store_writer_restarts_total",
    "Times a store writer (SQLite thread, Redis write task) had ended unexpectedly and was restarted",
    registry=REGISTRY,
)
STORE_UNREPLICATED = Counter(
    "facilitation_store_unreplicated_acks_total",
    "Appends acknowledged on the Redis master's fsynced AOF alone: no replica confirmed them in time "
    "(a failover to that replica could lose them; docs/scaling.md)", registry=REGISTRY,
)
STORE_COMMIT_SECONDS = HotHistogram(
    "facilitation_store_commit_seconds",
    "One group commit of the store, from sending the batch to its answer (SQLite: the transaction and its "
    "fsync; Redis: the pipeline per shard, AOF fsync and WAIT included); its count is the commits",
    (0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
)
STORE_HEALTHY = Gauge(
    "facilitation_store_healthy", "1 when the last /healthz write probe succeeded, else 0", registry=REGISTRY
)
LOOP_LAG = Histogram(
    "facilitation_event_loop_lag_seconds",
    "How late the event loop woke a timer: a stall blocks every heartbeat, vote and broadcast",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.015, 0.02, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0),
    registry=REGISTRY,
)
LOOP_LAG_MAX = Gauge(
    "facilitation_event_loop_lag_max_seconds", "Longest event-loop stall seen since start", registry=REGISTRY
)
VOTE_TO_PROJECTOR_SECONDS = HotHistogram(
    "facilitation_vote_to_projector_seconds",
    "From a vote's arrival in this process to the projector batch carrying it being written to the "
    "projector's socket (the server's part of vote -> projector)",
    (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5),
)
GC_SECONDS = HotHistogram(
    "facilitation_gc_pause_seconds",
    "Pauses of Python's cyclic garbage collector in the server process (each one stalls the event loop)",
    (0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0),
)
LOOP_PROBE_INTERVAL = 0.02
"""The loop monitor wakes every 20 ms; a stall shows as the extra delay of its wake-up."""


async def monitor_loop_lag() -> None:
    """Run forever on the server's loop, measuring its stalls into :data:`LOOP_LAG` (cancel to stop)."""
    loop = asyncio.get_running_loop()
    worst = 0.0
    while True:
        before = loop.time()
        await asyncio.sleep(LOOP_PROBE_INTERVAL)
        lag = max(0.0, loop.time() - before - LOOP_PROBE_INTERVAL)
        LOOP_LAG.observe(lag)
        if lag > worst:
            worst = lag
            LOOP_LAG_MAX.set(lag)


class _GcTimer:
    """Times every collection through ``gc.callbacks`` into :data:`GC_SECONDS` (a collection may run in
    the SQLite writer thread too: an increment lost to a thread switch there is acceptable for a pause
    histogram)."""

    def __init__(self) -> None:
        self.started = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self.started = time.perf_counter()
        else:
            GC_SECONDS.observe(time.perf_counter() - self.started)


def watch_gc() -> None:
    """Start timing garbage collections (idempotent)."""
    if not any(isinstance(callback, _GcTimer) for callback in gc.callbacks):
        gc.callbacks.append(_GcTimer())


class _Labelled:
    """The registry as seen by a scrape: every sample carries ``worker`` (:data:`WORKER`)."""

    def collect(self) -> Iterator[Metric]:
        for family in REGISTRY.collect():
            family.samples = [sample._replace(labels={"worker": WORKER, **sample.labels})
                              for sample in family.samples]
            yield family


def render() -> bytes:
    return generate_latest(_Labelled())  # type: ignore[arg-type,unused-ignore]
