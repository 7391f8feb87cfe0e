"""`run_job` as a worker process calls it: stage times reported, the garbage collector restored."""

from __future__ import annotations

import gc

import numpy as np
import pytest

from facilitation.analysis.worker import CODE_VALUES, InjectedFailure, Job, run_job

AGREE_CODE, DISAGREE_CODE = int(np.flatnonzero(CODE_VALUES == 1.0)[0]), int(np.flatnonzero(CODE_VALUES == -1.0)[0])


def _job(fail: bool = False) -> Job:
    """Two camps of ten over six statements."""
    people = np.repeat(np.arange(20, dtype=np.int32), 6)
    statements = np.tile(np.arange(6, dtype=np.int32), 20)
    camp = people < 10
    codes = np.where(camp == (statements < 3), AGREE_CODE, DISAGREE_CODE).astype(np.int8)
    roles = np.full(20, -1, dtype=np.int16)
    return Job("T", 1, len(people), people, statements, codes, roles, (), tuple(range(6)), (), None, fail)


@pytest.mark.parametrize("enabled", [True, False])
def test_run_job_pauses_the_collector_and_restores_it(enabled: bool) -> None:
    was = gc.isenabled()
    try:
        gc.enable() if enabled else gc.disable()
        outcome = run_job(_job())
        assert gc.isenabled() is enabled
        assert set(outcome.stages) == {"table", "analyze", "messages", "stored", "compact"}
        assert all(ms >= 0 for ms in outcome.stages.values())
        assert sum(outcome.stages.values()) <= outcome.elapsed * 1000 + 1e-6
        assert len(outcome.map["groups"]) == 2
        with pytest.raises(InjectedFailure):
            run_job(_job(fail=True))
        assert gc.isenabled() is enabled
    finally:
        gc.enable() if was else gc.disable()


@pytest.mark.parametrize("orphaned", [True, False])
def test_a_worker_leaves_when_its_server_is_gone(orphaned: bool) -> None:
    """A worker is told its server's pid: when that is not (or no longer) its parent it exits. Reading the
    parent at start-up instead left a worker alive for good when the server was killed while the worker
    was still importing (found as a stray process after the kill -9 test)."""
    import os
    import subprocess
    import sys
    import time

    from tests.support.servers import scaled

    code = ("import os, sys, time\nfrom facilitation.analysis.worker import init_worker\n"
            "init_worker(int(sys.argv[1]) if sys.argv[1] != 'parent' else os.getppid())\ntime.sleep(60)\n")
    server = "999999999" if orphaned else "parent"
    proc = subprocess.Popen([sys.executable, "-c", code, server], cwd=os.getcwd())
    try:
        if orphaned:
            assert proc.wait(timeout=scaled(30)) == 0
        else:
            time.sleep(3)
            assert proc.poll() is None, "a worker whose server lives must stay"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_an_analysis_worker_steps_back_for_the_live_loop() -> None:
    """A pool worker runs at the lowest CPU priority (niceness 19), so on a shared core the event loop
    preempts a clustering run instead of waiting out its time slice (issue 21's loop stalls)."""
    import multiprocessing
    import os
    from concurrent.futures import ProcessPoolExecutor

    from facilitation.analysis.worker import ANALYSIS_NICENESS, init_worker

    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"), initializer=init_worker,
                             initargs=(os.getpid(),)) as pool:
        worker_niceness = pool.submit(os.getpriority, os.PRIO_PROCESS, 0).result(timeout=120)
    assert ANALYSIS_NICENESS == 19
    assert worker_niceness == ANALYSIS_NICENESS
    assert os.getpriority(os.PRIO_PROCESS, 0) < ANALYSIS_NICENESS  # the server itself is untouched
