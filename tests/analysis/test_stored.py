"""An analysis run is stored as data (the library's versioned result, warm state included, no pickle),
and the wire messages, the next warm start and the export summary are all derived from what is stored."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np

from clustering import AnalysisResult
from facilitation.analysis.worker import (
    STORED_FORMAT,
    STORED_VERSION,
    VALUE_CODES,
    Job,
    Outcome,
    rebuild,
    run_job,
    stored_map_text,
)
from facilitation.core.protocol import dumps
from facilitation.export.summary import from_stored_analysis
from facilitation.storage import open_store
from tests.support.data import polis_data_dir

ROLE_NAMES = ("resident", "business")


def _job(run: int, previous: Any = None, extra: int = 0) -> Job:
    """Two camps of 30 on 12 statements (plus `extra` late votes), roles on every third participant."""
    rng = np.random.default_rng(run)
    rows = []
    for p in range(60):
        for s in range(12):
            camp = p < 30
            agree = (s < 6) == camp if s > 1 else True
            value = "agree" if agree else "disagree"
            if rng.random() < 0.1:
                value = "pass"
            rows.append((p, s, VALUE_CODES[value]))
    rows += [(60 + i, s, VALUE_CODES["agree"]) for i in range(extra) for s in range(8)]
    participants, statements, values = (np.array(col) for col in zip(*rows, strict=True))
    roles = np.array([i % 2 if i % 3 == 0 else -1 for i in range(60 + extra)], dtype=np.int16)
    return Job(code="ABCDEF", run=run, upto_seq=100 * run, participants=participants.astype(np.int32),
               statements=statements.astype(np.int32), values=values.astype(np.int8), roles=roles,
               role_names=ROLE_NAMES, known=tuple(range(13)), moderated_out=(), previous=previous)


def _roles(job: Job) -> dict[int, str]:
    return {p: ROLE_NAMES[int(r)] for p, r in enumerate(job.roles.tolist()) if r >= 0}


def _save_and_load(tmp_path: Path, outcome: Outcome) -> dict[str, Any]:
    async def go() -> dict[str, Any]:
        store = open_store(f"sqlite:///{tmp_path / 'm.db'}")
        await store.start()
        try:
            await store.save_analysis("ABCDEF", outcome.run, outcome.upto_seq, outcome.at, outcome.stored)
            loaded = await store.load_analysis("ABCDEF")
        finally:
            await store.close()
        assert loaded is not None
        return loaded

    return asyncio.run(go())


def test_stored_run_rebuilds_the_same_messages_and_warm_start(tmp_path: Path) -> None:
    """Saved in a real SQLite store and loaded back, a run gives byte-identical projector and phone
    messages, and the next run continues from it exactly as from the live one."""
    job = _job(1)
    outcome = run_job(job)
    stored = _save_and_load(tmp_path, outcome)
    payload = stored["result"]
    assert set(payload) == {"format", "version", "analysis", "message", "shown"}, "a first map is shown at once"
    assert payload == json.loads(outcome.stored) and payload["message"] == outcome.map_text
    assert payload["format"] == STORED_FORMAT and payload["version"] == STORED_VERSION
    data = json.loads(payload["analysis"])
    assert {"warm", "version", "format", "groups", "positions"} <= set(data)
    rebuilt = rebuild(payload, run=stored["run"], upto_seq=stored["seq"], at=stored["at"], roles=_roles(job))
    assert rebuilt is not None
    assert rebuilt.map_text == outcome.map_text
    assert stored_map_text(stored, _roles(job)) == outcome.map_text
    # a replayed run is the message as sent, whatever became of the roles since (a client written from
    # docs/protocol.md saw a later role change in an earlier run's replay)
    assert stored_map_text(stored, {p: "後來改的角色" for p in _roles(job)}) == outcome.map_text
    without = {**stored, "result": {k: v for k, v in payload.items() if k != "message"}}
    # an older payload (no message) is rebuilt from the result alone: all of the message but `needs`, which
    # comes from the run's vote table (facilitation/analysis/worker.py, needs_votes)
    older = {k: v for k, v in outcome.map.items() if k != "needs"}
    assert json.loads(stored_map_text(without, _roles(job)) or "null") == json.loads(dumps(older)), \
        "older payloads: rebuilt from the result"
    for participant in (0, 35, 59, 999):
        for shown in (False, True):
            assert rebuilt.phone.text(participant, shown) == outcome.phone.text(participant, shown)
    assert rebuilt.priorities == outcome.priorities
    live_next = run_job(_job(2, outcome.previous, extra=3))
    restored_next = run_job(_job(2, rebuilt.previous, extra=3))
    assert _timeless(restored_next.map) == _timeless(live_next.map)


def _timeless(message: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in message.items() if k not in ("at", "elapsed_ms")}


def test_summary_reads_the_stored_result() -> None:
    """The export summary's analysis is the stored result itself (with every share's counts)."""
    outcome = run_job(_job(1))
    summary = from_stored_analysis(json.loads(outcome.stored))
    expected = AnalysisResult.from_dict(json.loads(json.loads(outcome.stored)["analysis"])).to_dict()
    assert summary == expected
    assert summary["groups"] and all("counts" in r for g in summary["groups"] for r in g["representative"])
    assert summary["lane_votes"] and summary["acceptance"][0]["group_counts"]


def test_version_one_payloads_still_show_their_map() -> None:
    """A run stored by the previous version (wire message plus a pickled warm state) still shows its map;
    its pickle is never read."""
    legacy: dict[str, Any] = {"run": 3, "seq": 30, "at": 1.0,
              "result": {"message": '{"type": "analysis", "run": 3}', "warm": "not base64 pickle", "priority": {}}}
    assert rebuild(legacy["result"], run=3, upto_seq=30, at=1.0, roles={}) is None
    assert stored_map_text(legacy, {}) == '{"type": "analysis", "run": 3}'


def test_analyze_piped_into_head_ends_quietly() -> None:
    """`facilitation analyze FOLDER | head -1` prints one line and no traceback; the status is 0, or 141
    (128 + SIGPIPE, as a shell reports it) when the report outgrew the pipe before `head` left."""
    folder = polis_data_dir() / "vtaiwan.uberx"
    pipeline = subprocess.run(
        f"{sys.executable} -m facilitation.tools.cli analyze {folder} | head -1; exit ${{PIPESTATUS[0]}}",
        shell=True, executable="/bin/bash", capture_output=True, text=True, timeout=120, check=False)
    assert pipeline.returncode in (0, 141), pipeline.stderr
    assert len(pipeline.stdout.splitlines()) == 1
    assert "Traceback" not in pipeline.stderr and "BrokenPipeError" not in pipeline.stderr
