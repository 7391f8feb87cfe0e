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
