"""What runs inside an analysis worker process: one job in, ready-to-send messages out.

The scheduler ships a :class:`Job` of compact numpy arrays (9 bytes a vote, never Python dicts of
votes) and gets back an :class:`Outcome` whose messages are already JSON text, so the event loop does no
serialisation of anything big. BLAS is pinned to one thread in :func:`init_worker`: on a 2-core machine a
multithreaded BLAS beside a busy event loop was measured 5-15x slower (docs: ../shared/STYLE.md).
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from facilitation.core.vocabulary import VOTE_VALUES, VOTE_WEIGHTS

__all__ = [
    "CODE_VALUES",
    "STORED_FORMAT",
    "STORED_VERSION",
    "VALUE_CODES",
    "InjectedFailure",
    "Job",
    "Outcome",
    "Rebuilt",
    "init_worker",
    "rebuild",
    "run_job",
    "stored_map_text",
    "stored_payload",
    "warm_up",
]

VALUE_CODES: dict[str, int] = {value: code for code, value in enumerate(VOTE_VALUES)}
"""Vote values as int8 codes in the vote log; :data:`CODE_VALUES` maps them to the library's numbers."""
CODE_VALUES = np.array([VOTE_WEIGHTS[value] for value in VOTE_VALUES])

_BLAS_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS",
             "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")


class InjectedFailure(RuntimeError):
    """Raised on purpose by the test hook ``FACILITATION_ANALYSIS_FAIL_RUNS`` (see scheduler.py)."""

    def __str__(self) -> str:
        return f"injected analysis failure (test hook): {self.args[0] if self.args else ''}"


@dataclass(frozen=True)
class Job:
    """One meeting's votes up to ``upto_seq``, as parallel arrays (later duplicates win)."""

    code: str
    run: int
    upto_seq: int
    participants: NDArray[np.int32]
    statements: NDArray[np.int32]
    values: NDArray[np.int8]
    roles: NDArray[np.int16]
    """Role index per participant id (-1: none), into ``role_names``."""
    role_names: tuple[str, ...]
    known: tuple[int, ...]
    """Accepted statements, so ones without votes still get a lane and a routing priority."""
    moderated_out: tuple[int, ...]
    previous: Any = None
    """The previous AnalysisResult (only its warm-start state is read), or None."""
    fail: bool = False
    steady: Any = None
    """What the room was shown so far (`clustering.steady.SteadyState`), or None on a fresh start."""
    cast: tuple[NDArray[np.int32], NDArray[np.int32], NDArray[np.int8], NDArray[np.float64]] | None = None
    """Every vote with when it was cast (NaN when unknown: votes loaded from the store), excluded
    participants' included (the host sees why they were flagged): for the quality flags. The same arrays
    as the job's when nobody is excluded (pickled once)."""
    reading: dict[int, float] = field(default_factory=dict)
    """Seconds each accepted statement takes to read (`clustering.quality.reading_seconds`)."""
    authors: dict[int, int] = field(default_factory=dict)
    """Statement -> its author: an author's own vote is not an answer to a card."""


@dataclass(frozen=True)
class Outcome:
    run: int
    upto_seq: int
    at: float
    map: dict[str, Any]
    map_text: str
    phone: Any
    """messages.PhoneParts."""
    priorities: dict[int, float]
    previous: Any
    """AnalysisResult holding only the warm-start state, for the next run."""
    stored: str
    """The payload the store keeps, as JSON text (:func:`stored_text`): the whole result with its warm-start
    state (``AnalysisResult.to_dict(digits=None, warm=True)``), from which a restarted or following server
    rebuilds the messages and the next warm start (see :func:`rebuild`), and the map message as sent."""
    slim: str
    """What the store keeps of this run once a newer run is stored (:func:`slim_text`)."""
    elapsed: float
    cpu: float
    compacted: tuple[NDArray[np.int32], NDArray[np.int32], NDArray[np.int8]] | None = field(default=None)
    """The job's vote arrays without superseded votes, when they had many: the scheduler swaps them in."""
    shown: dict[str, Any] | None = None
    """The map message as the room sees it (`messages.shown_message`), or None when this run is not shown:
    the screens keep the last shown run while a re-formed map waits to hold (`clustering.steady`)."""
    shown_text: str | None = None
    shown_phone: Any = None
    """messages.PhoneParts of the shown message (phones see the room's letters), or None."""
    steady: Any = None
    """The display state for the next run (`clustering.steady.SteadyState`)."""
    stages: dict[str, float] = field(default_factory=dict)
    """Milliseconds per step of :func:`run_job` (``table``, ``analyze``, ``messages``, ``stored``,
    ``compact``): where a live run's time goes (bench/bench_worker.py)."""
    flags: list[dict[str, Any]] = field(default_factory=list)
    """Voting-quality flags (:func:`quality_flags`): for the host only, never stored in the public map."""


PARENT_CHECK_INTERVAL = 1.0
"""Seconds between checks that the server process is still alive."""


def _exit_with_parent(parent: int) -> None:
    """A server killed with SIGKILL cannot stop its pool: each worker leaves when it is orphaned."""
    while True:
        if os.getppid() != parent:
            os._exit(0)
        time.sleep(PARENT_CHECK_INTERVAL)


def init_worker(server: int | None = None) -> None:
    """Process-pool initializer: one BLAS thread, exit with the server, import the library up front.

    ``server`` is the server's process id, passed by the pool: read here with ``os.getppid()`` it was
    already 1 when the server was killed while this worker was still starting (importing numpy takes a
    second), and the worker then waited for a parent change that never came, alive for good.

    Ctrl+C in a terminal reaches every process of the console (POSIX process group, Windows console), so a
    worker ignores SIGINT: the server shuts its pool down in order instead of each worker dumping a
    KeyboardInterrupt traceback.

    The worker also steps back in the CPU's queue (:func:`yield_to_the_live_loop`).
    """
    import signal
    import threading

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    yield_to_the_live_loop()

    parent = os.getppid() if server is None else server
    threading.Thread(target=_exit_with_parent, args=(parent,), name="parent-watch", daemon=True).start()
    for name in _BLAS_ENV:
        os.environ[name] = "1"
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)
    except ImportError:  # pragma: no cover - threadpoolctl ships with scikit-learn
        pass
    warm_up()


ANALYSIS_NICENESS = 19
"""How far an analysis worker steps back when it shares a core with the server's event loop."""


def yield_to_the_live_loop() -> None:
    """Lower this process's CPU priority to :data:`ANALYSIS_NICENESS`.

    Why: where the server has fewer cores than busy processes (one core, or a worker per core), a run of the
    clustering holds the core for its whole time slice while the event loop waits, and every vote, ack and
    projector update behind it waits too: at 10,000 phones on one core, most loop stalls over 20 ms were
    the loop waiting for its core, not working (bench/stallwatch: wall time twice the loop's CPU time). A
    low-priority worker is preempted as soon as the loop has work, and still gets every cycle the loop
    leaves idle; on a machine with a free core nothing changes. The map is the projector's picture of
    the last seconds; the ack is a phone waiting: the phone goes first.
    """
    with contextlib.suppress(OSError, AttributeError):  # not on this platform, or not allowed: run as is
        os.setpriority(os.PRIO_PROCESS, 0, max(ANALYSIS_NICENESS, os.getpriority(os.PRIO_PROCESS, 0)))


def warm_up() -> bool:
    """Import the clustering library (numpy, scipy, scikit-learn: ~1 s) so the first run is fast."""
    import clustering

    assert tuple(CODE_VALUES) == (clustering.AGREE, clustering.ACCEPTABLE, clustering.PASS, clustering.DISAGREE)
    return True


COMPACT_RATIO = 1.25
"""Return compacted arrays when the log holds 25% more entries than distinct (participant, statement)."""


STORED_FORMAT = "facilitation-analysis"
STORED_VERSION = 2
"""The analysis payload kept by ``store.save_analysis``: ``{"format", "version", "analysis", "message"}``
where ``analysis`` is the clustering library's result as JSON *text* (``clustering.result.RESULT_VERSION``;
its fields are listed in docs/method.md, "Output") and ``message`` the projector's map message exactly as
it was sent (what ``GET /api/meetings/{code}/analysis?run=N`` returns; older version 2 payloads lack it
and the message is rebuilt). The worker serialises the whole payload (:func:`stored_text`), so the event
loop hands the store one finished string: escaping a 4.5 MB result inside another JSON document took
~14 ms of the loop per run at 20,000 participants. Version 1 was the wire message plus a pickled warm
state; it is still read (the map, without a warm start), never written.

Only the meeting's latest run keeps ``analysis``: once a newer run is stored, the scheduler stores the
older one again as its *slim* payload (:func:`slim_text`: the messages, no result), which still answers
``?run=N`` byte for byte. The result is what a restart and the exports read, and they read the latest run;
kept with every run it made the store grow by the whole result 2-3 times a second in a busy meeting (a
20-minute soak of 1,000 phones: 787 MB of 857)."""


def stored_payload(analysis: str, message: str | None = None, shown: str | None = None) -> dict[str, Any]:
    """The payload saved with ``store.save_analysis``, as a dict. ``shown``: the room's view of this run
    (`messages.shown_message`) when the room was shown it; absent when the screens kept an older run."""
    payload: dict[str, Any] = {"format": STORED_FORMAT, "version": STORED_VERSION, "analysis": analysis}
    if message is not None:
        payload["message"] = message
    if shown is not None:
        payload["shown"] = shown
    return payload


def slim_text(message: str, shown: str | None = None) -> str:
    """What the store keeps of a run once a newer run is stored: its messages without the result."""
    from facilitation.core.protocol import dumps

    payload: dict[str, Any] = {"format": STORED_FORMAT, "version": STORED_VERSION, "message": message}
    if shown is not None:
        payload["shown"] = shown
    return dumps(payload)


def is_slim(payload: Any) -> bool:
    """A stored run of this format without its result (:func:`slim_text`): a newer run was stored."""
    return (isinstance(payload, dict) and payload.get("format") == STORED_FORMAT
            and not isinstance(payload.get("analysis"), str))


def stored_text(analysis: str, message: str, shown: str | None = None) -> str:
    """The payload as the JSON text the store keeps (built in the worker process)."""
    from facilitation.core.protocol import dumps

    return dumps(stored_payload(analysis, message, shown))


@dataclass(frozen=True)
class Rebuilt:
    """A stored result turned back into what a server needs to show it and to continue from it."""

    map: dict[str, Any]
    map_text: str
    phone: Any
    priorities: dict[int, float]
    previous: Any
    shown: dict[str, Any] | None = None
    """The room's view of the run as stored (`Outcome.shown`), None when the room was not shown it."""
    shown_text: str | None = None
    shown_phone: Any = None


def rebuild(payload: dict[str, Any], *, run: int, upto_seq: int, at: float, roles: dict[int, str]) -> Rebuilt | None:
    """The messages and warm start of a stored run (after a restart, or one another worker published).
    None for a payload without a stored result (version 1: the caller falls back to its message)."""
    from clustering import AnalysisResult
    from facilitation.analysis.messages import map_message, phone_parts
    from facilitation.core.protocol import dumps

    if not isinstance(payload.get("analysis"), str):
        return None
    if payload.get("format") != STORED_FORMAT or int(payload.get("version", 0)) != STORED_VERSION:
        raise ValueError(f"unknown analysis payload {payload.get('format')!r} version {payload.get('version')!r}")
    result = AnalysisResult.from_dict(json.loads(payload["analysis"]))
    msg = map_message(result, run=run, upto_seq=upto_seq, at=at, roles=roles)
    message = payload.get("message")
    if isinstance(message, str):  # what still needs votes came from the run's vote table: kept in its message
        needs = json.loads(message).get("needs")
        if isinstance(needs, list):
            msg["needs"] = needs
    shown_text = payload.get("shown")
    shown = json.loads(shown_text) if isinstance(shown_text, str) else None
    return Rebuilt(msg, dumps(msg), phone_parts(result, msg),
                   {int(s): float(v) for s, v in result.priority.items()},  # type: ignore[call-overload]
                   AnalysisResult(state=result.state), shown, shown_text if shown is not None else None,
                   phone_parts(result, shown) if shown is not None else None)


def stored_map_text(stored: dict[str, Any], roles: dict[int, str]) -> str | None:
    """The projector's ``analysis`` message of a stored run (``store.load_analysis`` output): as it was sent
    when the payload kept it (version 1, and version 2 since it keeps the message), else rebuilt from the
    stored result; None when neither is there."""
    payload = stored.get("result")
    if not isinstance(payload, dict):
        return None
    message = payload.get("message")
    if isinstance(message, str):  # byte for byte what the projector received, roles as they were then
        return message
    rebuilt = rebuild(payload, run=int(stored["run"]), upto_seq=int(stored["seq"]), at=float(stored["at"]),
                      roles=roles)
    return rebuilt.map_text if rebuilt is not None else None


def run_job(job: Job) -> Outcome:
    """Analyse one meeting and build every message; runs in a worker process.

    The cyclic garbage collector is paused for the job, as `clustering.analyze` pauses it for the
    analysis: the messages and the stored form are tens of thousands of small acyclic dicts and lists,
    whose creation set off collections that traversed the whole heap again and again (measured at
    20,000 x 2,000: the stored form took 107 ms with collections, 30 without). Everything a job builds
    is freed by reference counting once the outcome is sent."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _run_job(job)
    finally:
        if collecting:
            gc.enable()


NEEDS_SHOWN = 20
"""Unsettled statements the map message names with what each still needs (the closest to settled first)."""


def needs_votes(table: Any, result: Any, roles: dict[Any, str]) -> list[dict[str, Any]]:
    """What still needs votes (issue 24, `clustering.readiness.shortfalls`): for the unsettled statements,
    which opinion groups and stakeholder roles lack votes and the fewest more votes that settle each, so
    the console can say "needs 3 more 攤商 votes". The closest to settled first, at most NEEDS_SHOWN."""
    from clustering.readiness import shortfalls

    group_of = {member: str(group.id) for group in result.groups for member in group.members}
    found = shortfalls(table, result.lanes, group_of, roles)
    ranked = sorted(found.values(), key=lambda s: (not s.reachable, s.votes, str(s.statement)))
    return [s.to_dict() for s in ranked[:NEEDS_SHOWN]]


def quality_flags(job: Job) -> list[dict[str, Any]]:
    """Voting-quality flags (issue 24, `clustering.quality.flags`) over the job's votes whose time this
    server saw (a restarted server has no times for the votes it loaded: those are not counted, and each
    flag's counts say how many were). A question for the host, never a verdict."""
    from clustering.quality import flags

    if job.cast is None:
        return []
    participants, statements, values, times = job.cast
    known = ~np.isnan(times)
    if not known.any():
        return []
    found = flags(participants[known], statements[known], CODE_VALUES[values[known]], times[known], job.reading,
                  job.authors)
    return [f.to_dict() for f in found]


def _run_job(job: Job) -> Outcome:
    from clustering import AnalysisResult, VoteTable, analyze
    from clustering.steady import decide
    from facilitation.analysis.messages import map_message, phone_parts, shown_message
    from facilitation.core.protocol import dumps

    started, cpu_started = time.perf_counter(), time.process_time()
    laps = _Laps(started)
    if job.fail:
        raise InjectedFailure(f"run {job.run} of meeting {job.code}")
    table = VoteTable.from_arrays(job.participants, job.statements, CODE_VALUES[job.values])
    has_role = np.flatnonzero(job.roles >= 0)
    roles: dict[Any, str] = {int(p): job.role_names[int(job.roles[p])] for p in has_role.tolist()}
    laps.lap("table")
    result = analyze(table, moderated_out=frozenset(job.moderated_out), roles=roles, previous=job.previous,
                     random_state=0, statements=job.known)
    laps.lap("analyze")
    at = time.time()
    msg = map_message(result, run=job.run, upto_seq=job.upto_seq, at=at, roles=roles)
    msg["needs"] = needs_votes(table, result, roles)
    phone = phone_parts(result, msg)
    map_text = dumps(msg)
    steady, decision = decide(job.steady, [frozenset(g.members) for g in result.groups], at, result.clustered)
    shown = shown_text = shown_phone = None
    if decision.show:
        shown = shown_message(msg, decision.letters, forming=decision.forming)
        shown_text = dumps(shown)
        shown_phone = phone_parts(result, shown)
    quality = quality_flags(job)  # the host's message: timed with the messages
    laps.lap("messages")
    stored = stored_text(dumps(result.to_dict(digits=None, warm=True)), map_text, shown_text)
    slim = slim_text(map_text, shown_text)
    laps.lap("stored")
    compacted = None
    if len(job.participants) > COMPACT_RATIO * len(table) + 1024:
        p = np.asarray(table.participant_ids, dtype=np.int32)[table.rows]
        s = np.asarray(table.statement_ids, dtype=np.int32)[table.cols]
        codes = np.searchsorted(-CODE_VALUES, -table.values).astype(np.int8)
        compacted = (p, s, codes)
    laps.lap("compact")
    return Outcome(
        run=job.run, upto_seq=job.upto_seq, at=at, map=msg, map_text=map_text, phone=phone,
        priorities={int(s): float(v) for s, v in result.priority.items()},  # type: ignore[call-overload]
        previous=AnalysisResult(state=result.state), stored=stored, slim=slim,
        elapsed=time.perf_counter() - started, cpu=time.process_time() - cpu_started, compacted=compacted,
        shown=shown, shown_text=shown_text, shown_phone=shown_phone, steady=steady, stages=laps.laps,
        flags=quality,
    )


class _Laps:
    """Milliseconds between successive marks."""

    def __init__(self, started: float) -> None:
        self.last = started
        self.laps: dict[str, float] = {}

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = (now - self.last) * 1000.0
        self.last = now
