"""Live analysis: run the clustering library on every busy meeting, off the event loop, and publish.

Per meeting, a vote (or a role change, a new or moderated statement) marks the meeting *dirty*. A dirty
meeting becomes ready :data:`DEBOUNCE` seconds later (a burst of votes coalesces into one run) and never
sooner than a cool-down after its previous run ended (at least :data:`MIN_GAP`, and as long as that run
took: a meeting spends at most half a worker's time). Ready meetings wait in one FIFO queue, oldest first;
a meeting is in the queue or running at most once, so votes that arrive during a run are coalesced into
the next one. With one worker a 30-person meeting therefore waits at most one run of a 20,000-person
meeting, never a series of them. Quiet meetings cost nothing: no timer, no task, no process until the
first vote.

Runs happen in a :class:`~concurrent.futures.ProcessPoolExecutor` (``spawn``, BLAS pinned to one thread):
the event loop only copies the meeting's vote arrays (:class:`~facilitation.analysis.votelog.VoteLog`) and
later concatenates ready-made JSON text, so heartbeats, votes and broadcasts never wait for the math.

Publication goes through the normal path: the result is saved with ``store.save_analysis`` and an
``analysis_published`` event is appended with the next sequence number, so a reconnecting projector, an
export or a timelapse sees exactly what the room saw. What is saved is data: the clustering
library's result as versioned JSON with its warm-start state, beside the map message as sent
(:func:`~facilitation.analysis.worker.stored_text`, no pickle); the wire messages after a restart or on a
following worker and the export summary (:func:`facilitation.export.summary.from_stored_analysis`) are derived
from the result, a replayed run (``?run=N``) is the message itself. A failed run keeps the last good map, sets
the meeting's analysis error, tells the host console, and is retried after a back-off.

Test hook: ``FACILITATION_ANALYSIS_FAIL_RUNS="2,5"`` makes the 2nd and 5th run attempts of this server
process raise inside the worker (a real failure through the real path, not a mock); see
tests/analysis/test_failures.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import multiprocessing
import os
from collections import deque
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

import numpy as np

from clustering.quality import reading_seconds
from clustering.steady import HOLD_SECONDS, settle
from facilitation import metrics
from facilitation.analysis.messages import PhoneParts, phone_parts, shown_message
from facilitation.analysis.votelog import VoteLog
from facilitation.analysis.worker import Job, Outcome, init_worker, is_slim, rebuild, run_job, warm_up
from facilitation.core.commands.exclusion import excluded
from facilitation.core.errors import ClientError
from facilitation.core.events import AnalysisPublished, Event, PhaseChanged, SettingsChanged
from facilitation.core.meeting import Meeting, Phase, StatementState, UpdateSettings
from facilitation.core.protocol import PROTOCOL_VERSION, dumps
from facilitation.live.connection import Connection
from facilitation.live.fanout import Build
from facilitation.live.room import RoomParts

__all__ = ["DEBOUNCE", "AnalysisScheduler", "results_shown"]

log = logging.getLogger("facilitation.analysis")

DEBOUNCE = 0.25
"""Seconds from a meeting's first unanalysed change to its run: a burst of votes becomes one run."""
MIN_GAP = 0.25
"""Seconds at least between the end of a meeting's run and the start of its next."""
COOLDOWN_FACTOR = 1.0
"""A meeting waits this many times its last run's duration before the next: at most ~50% of a worker."""
PHONE_INTERVAL = 5.0
"""Phones get an analysis message at most every 5 s (the projector gets every run): at 1,000 phones
that is 200 messages a second, a fifth of what the 1 s counters already cost."""
PHONE_BUDGET = 1_000
"""Phone analysis messages a room sends per second at most, on average: past 5,000 phones the interval
grows with the room (10 s at 10,000), where 2,000 messages a second were a tenth of the event loop."""


def phone_interval(phones: int) -> float:
    """Seconds between two analysis messages to the phones of a room with ``phones`` connections."""
    return max(PHONE_INTERVAL, phones / PHONE_BUDGET)
RETRY_DELAYS = (2.0, 5.0, 15.0, 60.0)
"""Back-off after consecutive failed runs, so a broken run neither freezes the map nor spins."""
DEFAULT_WORKERS = 1
"""Worker processes (``FACILITATION_ANALYSIS_WORKERS``): one leaves the other core of a 2-core machine to
the event loop."""


def results_shown(meeting: Meeting) -> bool:
    """Phones see the results summary while the host shows results: phase reviewing/closed, or the
    ``results_visible`` setting during collecting and voting."""
    return meeting.phase in (Phase.REVIEWING, Phase.CLOSED) or meeting.results_visible


class _Meeting:
    """Everything the live analysis knows of one meeting: its state (the last map, the priorities, the last
    error) and the scheduler's bookkeeping."""

    def __init__(self, parts: RoomParts) -> None:
        self.parts = parts
        self.code = parts.code
        self.map: dict[str, Any] | None = None
        """The last published map (what ``/analysis`` serves), None before the first run."""
        self.shown: dict[str, Any] | None = None
        """The map the room is shown (`clustering.steady`): what projectors, the console and phones get."""
        self.steady: Any = None
        """The steady map's state (`clustering.steady.SteadyState`); starts afresh after a restart."""
        self.settle_timer: asyncio.TimerHandle | None = None
        """Shows a held run once no newer run contradicted it for HOLD_SECONDS (votes stopped)."""
        self.priorities: dict[int, float] = {}
        """Priority per statement from the last run, which the next statement follows."""
        self.error: str | None = None
        """Why the last run failed, None once a run succeeds."""
        self.log = VoteLog.from_meeting(parts.writer.meeting)
        self.previous: Any = None
        self.whole: tuple[int, int, float, str] | None = None
        """The last run this process stored with its result, and its slim payload (run, seq, at, text): it
        is stored again slim once a newer run is stored (`worker.slim_text`)."""
        self.run = 0
        self.dirty = False
        self.dirty_since = 0.0
        self.forced = False
        self.paused = parts.writer.meeting.analysis_paused
        self.queued = False
        self.running = False
        self.timer: asyncio.TimerHandle | None = None
        self.last_end = -1e9
        self.last_elapsed = 0.0
        self.failures = 0
        self.retry_at = 0.0
        self.job_rows = 0
        self.job_filtered = False
        self.flags: list[dict[str, Any]] = []
        """The last run's voting-quality flags (`clustering.quality`), for the host only."""
        """The last job left excluded participants' votes out: its compacted rows cannot replace the log's."""
        self.phone: PhoneParts | None = None
        self.phone_at = -1e9
        self.phone_timer: asyncio.TimerHandle | None = None
        self.loaded = asyncio.Event()
        self.closed = False

    @property
    def meeting(self) -> Meeting:
        return self.parts.writer.meeting

    def show(self, analysis: dict[str, Any], priorities: dict[int, float]) -> None:
        self.map = analysis
        self.priorities = priorities

    def set_error(self, message: str | None) -> bool:
        """Record (or clear, with None) the failure; True when that changed what the host sees."""
        changed = message != self.error
        self.error = message
        return changed

    def broadcast(self, build: Build, *, phones: bool = True) -> None:
        self.parts.fanout.broadcast(build, phones=phones)

    def status(self) -> dict[str, Any]:
        return {"paused": self.paused, "running": self.running, "queued": self.queued or self.timer is not None,
                "run": self.run, "error": self.error}


def _fail_runs(env: Mapping[str, str]) -> frozenset[int]:
    raw = env.get("FACILITATION_ANALYSIS_FAIL_RUNS", "")
    return frozenset(int(x) for x in raw.replace(" ", "").split(",") if x)


class _RoomAnalysis:
    """One room's part of the live analysis: the :class:`~facilitation.live.room.RoomAnalysis` the room calls."""

    def __init__(self, scheduler: AnalysisScheduler, state: _Meeting) -> None:
        self._scheduler = scheduler
        self._state = state

    @property
    def map(self) -> dict[str, Any] | None:
        return self._state.map

    @property
    def shown(self) -> dict[str, Any] | None:
        return self._state.shown if self._state.shown is not None else self._state.map

    @property
    def priorities(self) -> dict[int, float]:
        return self._state.priorities

    @property
    def error(self) -> str | None:
        return self._state.error

    def on_events(self, events: Sequence[Event]) -> None:
        self._scheduler._on_events(self._state, events)

    async def control(self, action: str) -> dict[str, Any]:
        return await self._scheduler._control(self._state, action)

    def view(self, conn: Connection) -> dict[str, Any] | None:
        return self._scheduler._view(self._state, conn)

    def close(self) -> None:
        self._scheduler._forget(self._state)


class AnalysisScheduler:
    """Live analysis for every room of a :class:`~facilitation.live.hub.Hub` (one per server process); the hub is
    made with :meth:`attach` as its analysis factory, so each room gets its part at construction."""

    def __init__(self, *, workers: int | None = None, env: Mapping[str, str] | None = None) -> None:
        env = os.environ if env is None else env
        self.workers = workers or int(env.get("FACILITATION_ANALYSIS_WORKERS", DEFAULT_WORKERS))
        self.fail_runs = _fail_runs(env)
        self.attempts = 0
        self._meetings: dict[str, _Meeting] = {}
        self._ready: deque[_Meeting] = deque()
        self._busy = 0
        self._wakeup = asyncio.Event()
        self._pool: ProcessPoolExecutor | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._dispatcher: asyncio.Task[None] | None = None

    # ------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        self._dispatcher = asyncio.get_running_loop().create_task(self._dispatch(), name="analysis-dispatch")

    async def stop(self) -> None:
        """Stop dispatching, abandon runs in flight and terminate the workers (a run may take seconds)."""
        tasks = [t for t in (self._dispatcher, *self._tasks) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for state in self._meetings.values():
            self._detach(state)
        self._meetings.clear()
        self._shutdown_pool()

    def _shutdown_pool(self) -> None:
        pool, self._pool = self._pool, None
        if pool is None:
            return
        processes = list(getattr(pool, "_processes", {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            with contextlib.suppress(Exception):
                process.terminate()
        for process in processes:
            with contextlib.suppress(Exception):
                process.join(2)

    def _ensure_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                self.workers, mp_context=multiprocessing.get_context("spawn"), initializer=init_worker,
                initargs=(os.getpid(),),
            )
        return self._pool

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ------------------------------------------------------------ rooms

    def attach(self, parts: RoomParts) -> _RoomAnalysis:
        """The hub's analysis factory: this room's part of the live analysis."""
        state = _Meeting(parts)
        self._meetings[parts.code] = state
        parts.writer.watch_ownership(lambda owner: self._ownership_changed(state, owner))
        self._spawn(self._restore(state))
        return _RoomAnalysis(self, state)

    def _detach(self, state: _Meeting) -> None:
        state.closed = True
        for handle in (state.timer, state.phone_timer, state.settle_timer):
            if handle is not None:
                handle.cancel()

    def _forget(self, state: _Meeting) -> None:
        self._detach(state)
        if self._meetings.get(state.code) is state:
            del self._meetings[state.code]

    async def _restore(self, state: _Meeting) -> None:
        """Load the last published analysis, so stable group ids and the map survive a restart."""
        stored = None
        try:
            stored = await state.parts.record.analysis()
            if stored is not None:
                await self._adopt(state, stored)
        except Exception:
            log.exception("could not restore the last analysis of meeting %s; starting afresh", state.code)
        finally:
            state.loaded.set()
        meeting = state.meeting
        behind = stored is None or meeting.seq > int(stored["seq"]) + 1
        # a closed meeting is re-run only when it has no stored map at all (after an erasure dropped them)
        if meeting.vote_count and (meeting.phase is not Phase.CLOSED or stored is None) and behind:
            self._mark_dirty(state)

    async def _adopt(self, state: _Meeting, stored: dict[str, Any]) -> None:
        """Make a stored run this process's current map (after a restart, or one the meeting's owner made):
        the messages and the next warm start are rebuilt from the stored result, in a thread (a big
        meeting's result takes tens of milliseconds to decode)."""
        payload = stored["result"]
        roles = {p.id: p.role for p in state.meeting.participants.values() if p.role}
        rebuilt = await asyncio.to_thread(rebuild, payload, run=int(stored["run"]), upto_seq=int(stored["seq"]),
                                          at=float(stored["at"]), roles=roles)
        if state.closed:
            return
        text: str | None
        if rebuilt is None:  # a version 1 payload: its wire message, no warm start
            text = str(payload["message"])
            state.show(json.loads(text), {int(k): float(v) for k, v in payload.get("priority", {}).items()})
            state.shown = state.map
            state.previous = None
        else:
            state.show(rebuilt.map, rebuilt.priorities)
            state.previous = rebuilt.previous
            if rebuilt.shown is not None:  # the room was shown this run
                text = rebuilt.shown_text
                state.shown, state.phone = rebuilt.shown, rebuilt.shown_phone
            elif state.shown is None:  # held, or stored before the steady map: nothing older to keep showing
                text = rebuilt.map_text
                state.shown, state.phone = rebuilt.map, rebuilt.phone
            else:  # held: the screens keep the run they show
                text = None
        state.run = int(stored["run"])
        if text is not None:
            shown_text = text
            state.broadcast(lambda c: shown_text if c.role in ("projector", "host") else None, phones=False)

    async def _follow(self, state: _Meeting, run: int) -> None:
        """Another worker owns the meeting and published run ``run``: show it here too."""
        try:
            stored = await state.parts.record.analysis(run)
            if stored is not None and is_slim(stored["result"]):  # a newer run was stored meanwhile
                stored = await state.parts.record.analysis()
        except Exception:
            log.exception("could not load analysis run %s of meeting %s", run, state.code)
            return
        if stored is not None and not state.closed and int(stored["run"]) > state.run:
            try:
                await self._adopt(state, stored)
            except Exception:
                log.exception("could not show analysis run %s of meeting %s", run, state.code)
                return
            state.dirty = False
            self._phones_soon(state)

    def _ownership_changed(self, state: _Meeting, owner: bool) -> None:
        """Ownership moved: the new owner runs the analysis from now on (a dead owner's pending work too)."""
        if owner and not state.closed:
            self._arm(state)

    def _on_events(self, state: _Meeting, events: Sequence[Event]) -> None:
        if state.closed:
            return
        changed = state.log.feed(events)
        owner = state.parts.writer.is_owner()
        for event in events:
            if isinstance(event, AnalysisPublished) and not owner and event.run > state.run:
                self._spawn(self._follow(state, event.run))
            elif isinstance(event, SettingsChanged):
                if "analysis_paused" in event.changes:
                    state.paused = bool(event.changes["analysis_paused"])
                    self._arm(state)
                if "results_visible" in event.changes:
                    self._phones_now(state)
            elif isinstance(event, PhaseChanged):
                if event.to_phase in (Phase.REVIEWING.value, Phase.CLOSED.value):
                    self._settle(state)  # the room's final map is the last run, as the exports have it
                self._phones_now(state)
        if changed:
            self._mark_dirty(state)

    # ------------------------------------------------------------ host controls

    async def _control(self, state: _Meeting, action: str) -> dict[str, Any]:
        """The host's ``analysis`` command. Pause and resume go through the log (``analysis_paused``)."""
        if action in ("pause", "resume"):
            paused = action == "pause"
            if state.meeting.analysis_paused != paused:
                await state.parts.writer.submit(UpdateSettings({"analysis_paused": paused}))
            return state.status()
        if action == "recompute":
            state.forced = True
            if state.timer is not None:
                state.timer.cancel()
                state.timer = None
            self._arm(state)
            return state.status()
        raise ClientError("invalid_action", f"unknown analysis action {action!r} (pause, resume or recompute)")

    # ------------------------------------------------------------ scheduling

    def _mark_dirty(self, state: _Meeting) -> None:
        if not state.dirty:
            state.dirty = True
            state.dirty_since = asyncio.get_running_loop().time()
            if self._pool is None:
                self._ensure_pool().submit(warm_up)  # spawn and import during the debounce
        self._arm(state)

    def _arm(self, state: _Meeting) -> None:
        """Schedule a meeting's next run if it needs one and has none pending."""
        if state.closed or state.running or state.queued or state.timer is not None:
            return
        if not state.parts.writer.is_owner():
            return  # with Redis, one worker (the meeting's owner) analyses; the others follow its runs
        if not (state.forced or (state.dirty and not state.paused)):
            return
        loop = asyncio.get_running_loop()
        now = loop.time()
        at = now if state.forced else max(
            state.dirty_since + DEBOUNCE,
            state.last_end + max(MIN_GAP, COOLDOWN_FACTOR * state.last_elapsed),
            state.retry_at,
        )
        if at <= now:
            self._enqueue(state)
        else:
            state.timer = loop.call_at(at, self._fire, state)

    def _fire(self, state: _Meeting) -> None:
        state.timer = None
        if not state.closed:
            self._enqueue(state)

    def _enqueue(self, state: _Meeting) -> None:
        state.queued = True
        self._ready.append(state)
        metrics.ANALYSIS_QUEUE.set(len(self._ready))
        self._wakeup.set()

    async def _dispatch(self) -> None:
        """Hand ready meetings to free workers, oldest-waiting first, one run per meeting at a time."""
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._ready and self._busy < self.workers:
                state = self._ready.popleft()
                state.queued = False
                metrics.ANALYSIS_QUEUE.set(len(self._ready))
                if state.closed or not (state.forced or (state.dirty and not state.paused)):
                    continue
                self._busy += 1
                state.running = True
                self._spawn(self._run(state))

    # ------------------------------------------------------------ a run

    def _job(self, state: _Meeting) -> Job:
        meeting = state.meeting
        participants, statements, values, roles = state.log.snapshot()
        cast = (participants, statements, values, state.log.timestamps())
        left_out = excluded(meeting)  # the host excluded them (issue 24): their votes stay in the log, not here
        state.job_filtered = bool(left_out)
        if left_out:
            keep = ~np.isin(participants, np.fromiter(left_out, dtype=np.int32, count=len(left_out)))
            participants, statements, values = participants[keep], statements[keep], values[keep]
        known = tuple(s.id for s in meeting.statements.values() if s.state is StatementState.ACCEPTED)
        reading = {s: reading_seconds(meeting.statements[s].text) for s in known}
        authors = {s.id: s.author for s in meeting.statements.values() if s.author is not None}
        out = tuple(s.id for s in meeting.statements.values()
                    if s.state in (StatementState.REJECTED, StatementState.HIDDEN))
        self.attempts += 1
        state.dirty = state.forced = False
        state.job_rows = state.log.size
        return Job(
            code=state.code, run=state.run + 1, upto_seq=state.log.seen_seq, participants=participants,
            statements=statements, values=values, roles=roles, role_names=state.log.role_names, known=known,
            moderated_out=out, previous=state.previous, fail=self.attempts in self.fail_runs, steady=state.steady,
            cast=cast, reading=reading, authors=authors,
        )

    async def _run(self, state: _Meeting) -> None:
        loop = asyncio.get_running_loop()
        started = loop.time()
        run = state.run + 1
        compute: float | None = None
        try:
            await state.loaded.wait()
            asked = state.forced  # the host's recompute: its map is shown at once (`_publish`)
            job = self._job(state)
            run = job.run
            outcome: Outcome = await loop.run_in_executor(self._ensure_pool(), run_job, job)
            compute = outcome.elapsed
            metrics.ANALYSIS_SECONDS.observe(outcome.elapsed)
            metrics.ANALYSIS_CPU_SECONDS.inc(outcome.cpu)
            await self._publish(state, outcome, show_now=asked)
            await self._slim_the_older_run(state, outcome)
            metrics.ANALYSIS_RUNS.labels("ok").inc()
            state.failures = 0
            state.retry_at = 0.0
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if isinstance(exc, BrokenProcessPool):
                self._shutdown_pool()  # a worker died (killed, out of memory): start a fresh pool next run
            self._failed(state, run, exc)
        finally:
            state.running = False
            self._busy -= 1
            state.last_end = loop.time()
            state.last_elapsed = state.last_end - started if compute is None else compute
            self._wakeup.set()
            if not state.closed:
                self._arm(state)

    async def _publish(self, state: _Meeting, outcome: Outcome, show_now: bool = False) -> None:
        """Store and announce a run, then show it, or keep the shown run while a re-formed map waits to
        hold. A run the host asked for (``recompute``) is shown at once, like the move to reviewing: the
        host pressed the button to see the votes so far, not the map of ten seconds ago."""
        if state.closed:  # the room was evicted or closed meanwhile: its writer may not append any more, and a
            return        # reloaded room reruns the analysis itself (`_restore` finds the stored run behind)
        if outcome.compacted is not None and not state.job_filtered:  # a filtered job's rows are not the log's
            state.log.replace_prefix(state.job_rows, *outcome.compacted)
        state.previous = outcome.previous
        payload = outcome.stored  # the payload's JSON text, serialised in the worker
        writer = state.parts.writer
        await writer.save_analysis(outcome.run, outcome.upto_seq, outcome.at, payload)
        await writer.append_server_event(lambda seq, at: AnalysisPublished(seq, at, outcome.run, outcome.upto_seq))
        state.run = outcome.run
        state.show(outcome.map, outcome.priorities)
        state.flags = outcome.flags
        flagged = {"v": PROTOCOL_VERSION, "type": "quality_flags", "run": outcome.run, "flags": outcome.flags}
        state.broadcast(lambda c: flagged if c.role == "host" else None, phones=False)  # never phones or screens
        state.steady = outcome.steady
        if state.set_error(None):
            cleared = {"v": PROTOCOL_VERSION, "type": "analysis_error", "run": outcome.run, "error": None}
            state.broadcast(lambda c: cleared if c.role == "host" else None, phones=False)
        if state.settle_timer is not None:
            state.settle_timer.cancel()
            state.settle_timer = None
        if outcome.shown_text is None and show_now:
            self._settle(state)
            return
        if outcome.shown_text is None:  # a re-formed map waiting to hold: the screens keep the shown run
            state.settle_timer = asyncio.get_running_loop().call_later(HOLD_SECONDS, self._settle, state)
            return
        state.shown, state.phone = outcome.shown, outcome.shown_phone
        text = outcome.shown_text
        state.broadcast(lambda c: text if c.role in ("projector", "host") else None, phones=False)
        self._phones_soon(state)

    async def _slim_the_older_run(self, state: _Meeting, outcome: Outcome) -> None:
        """Keep the result with the latest run only: the run stored before this one is stored again without
        it (its messages stay, so ``?run=N`` still answers). A failure costs disk, never the run."""
        older, state.whole = state.whole, (outcome.run, outcome.upto_seq, outcome.at, outcome.slim)
        if older is None or state.closed:
            return
        run, seq, at, slim = older
        try:
            await state.parts.writer.save_analysis(run, seq, at, slim)
        except Exception as exc:
            log.warning("meeting %s: run %d kept whole (%s)", state.code, run, exc)

    def _settle(self, state: _Meeting) -> None:
        """Show the last computed run now, under steady letters (`clustering.steady.settle`): no newer run
        came to contradict it, or the meeting moved to reviewing. Runs on the loop: rare, and O(people)."""
        state.settle_timer = None
        computed = state.map
        if state.closed or computed is None or (state.shown is not None and state.shown.get("run") == computed["run"]):
            return
        if "points" not in computed:  # a version 1 message: nothing to re-letter
            return
        members: list[set[int]] = [set() for _ in computed["groups"]]
        for participant, group in zip(computed["points"]["participants"], computed["points"]["group"], strict=True):
            if group >= 0:
                members[group].add(participant)
        state.steady, decision = settle(state.steady, [frozenset(m) for m in members], computed["at"],
                                        int(computed["counts"]["clustered"]))
        shown = shown_message(computed, decision.letters, forming=decision.forming)
        state.shown, state.phone = shown, phone_parts(None, shown)
        text = dumps(shown)
        state.broadcast(lambda c: text if c.role in ("projector", "host") else None, phones=False)
        self._phones_now(state)

    def _failed(self, state: _Meeting, run: int, exc: BaseException) -> None:
        """Keep the last good map, tell the host, retry after a back-off."""
        metrics.ANALYSIS_RUNS.labels("failed").inc()
        message = f"analysis run {run} failed: {exc}" if str(exc) else f"analysis run {run} failed: {exc!r}"
        log.warning("meeting %s: %s", state.code, message)
        state.set_error(message)
        error = {"v": PROTOCOL_VERSION, "type": "analysis_error", "run": run,
                 "error": {"code": "analysis_failed", "message": message}}
        state.broadcast(lambda c: error if c.role == "host" else None, phones=False)
        delay = RETRY_DELAYS[min(state.failures, len(RETRY_DELAYS) - 1)]
        state.failures += 1
        state.retry_at = asyncio.get_running_loop().time() + delay
        if not state.dirty:
            state.dirty = True
            state.dirty_since = asyncio.get_running_loop().time()

    # ------------------------------------------------------------ phones

    def _phones_soon(self, state: _Meeting) -> None:
        if state.phone is None or state.phone_timer is not None or state.closed:
            return
        loop = asyncio.get_running_loop()
        wait = state.phone_at + phone_interval(state.parts.fanout.connected) - loop.time()
        if wait <= 0:
            self._send_phones(state)
        else:
            state.phone_timer = loop.call_later(wait, self._send_phones, state)

    def _phones_now(self, state: _Meeting) -> None:
        """The host changed what phones may see (phase, results_visible): tell them without waiting."""
        if state.phone_timer is not None:
            state.phone_timer.cancel()
        self._send_phones(state)

    def _send_phones(self, state: _Meeting) -> None:
        state.phone_timer = None
        parts = state.phone
        if parts is None or state.closed:
            return
        state.phone_at = asyncio.get_running_loop().time()
        shown = results_shown(state.meeting)

        def build(conn: Connection) -> str | None:
            if conn.role != "participant" or conn.participant is None:
                return None
            return parts.text(conn.participant, shown)

        state.broadcast(build)

    def _view(self, state: _Meeting, conn: Connection) -> dict[str, Any] | None:
        """The analysis part of a snapshot or a resume: the map for screens, the phone view for phones."""
        if conn.role == "host" and state.flags:  # the host's copy also names the flagged voters
            shown = state.shown if state.shown is not None else state.map
            return None if shown is None else {**shown, "quality_flags": state.flags}
        if conn.role != "participant":
            return state.shown if state.shown is not None else state.map
        if state.phone is None or conn.participant is None:
            return None
        parsed: dict[str, Any] = json.loads(state.phone.text(conn.participant, results_shown(state.meeting)))
        return parsed
