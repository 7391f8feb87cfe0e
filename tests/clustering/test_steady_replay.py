"""The steady map on a real conversation replayed vote by vote (bench/bench_steady_map.py --trace): the room's
k and letters change only as clustering/steady.py allows, and the runs the export keeps are untouched."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from clustering import AnalysisResult
from clustering.steady import HOLD_RUNS, HOLD_SECONDS, MAX_STALE
from facilitation.analysis.messages import map_message
from facilitation.analysis.worker import VALUE_CODES, Job, needs_votes, run_job
from tests.support.data import polis_data_dir

ROOT = Path(__file__).resolve().parents[2]
CONVERSATION = "london.youth.policing"


REPLAYED = (CONVERSATION, "scoop-hivemind.biodiversity")
"""The shared conversations whose raw runs change k most often in 3 minutes (18 and 8 times, bench/README.md):
the rule has work to do, with a margin when a loaded machine fits fewer runs in."""


def _trace(conversation: str = CONVERSATION) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "bench_steady_map.py"), "--data", str(polis_data_dir()),
         "--only", conversation, "--minutes", "3", "--trace"],
        check=True, capture_output=True, text=True, timeout=600,
        env={"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"})
    report: dict[str, Any] = json.loads(out.stdout)["conversations"][0]
    return report


@pytest.mark.parametrize("conversation", REPLAYED)
def test_replayed_conversation_shows_changes_only_as_the_rule_allows(conversation: str) -> None:
    """Every change of the shown k or letters held HOLD_RUNS runs and HOLD_SECONDS seconds (or the screen was
    MAX_STALE old), letters never skip, and the room saw fewer changes than the raw runs made."""
    report = _trace(conversation)
    trace = report["trace"]
    shown_k: int | None = None
    shown_letters: list[str] | None = None
    last_shown_at = 0.0
    streak: list[dict[str, Any]] = []  # unshown runs since the last shown one
    for run in trace:
        if not run["shown"]:
            streak.append(run)
            continue
        letters = sorted(run["letters"])
        assert letters == [chr(ord("A") + i) for i in range(len(letters))], f"letters skip: {letters}"
        if shown_letters is not None and (len(letters) != shown_k or letters != shown_letters):
            if run["reason"] == "first":
                assert shown_k == 0, "only the first map with groups is shown without waiting"
            elif run["reason"] == "stale":
                assert run["at"] - last_shown_at >= MAX_STALE
            else:
                assert run["reason"] == "held" and run["changed"], "a change was shown without having held"
                same = [r for r in streak if r["k"] == run["k"]]
                assert len(same) + 1 >= HOLD_RUNS
                assert run["at"] - same[0]["at"] >= HOLD_SECONDS - 1e-6
        shown_k, shown_letters = len(letters), letters
        last_shown_at = run["at"]
        streak = []
    before, after = report["before"], report["after"]
    assert before["k_changes"] > after["k_changes"]
    assert before["letter_changes"] > after["letter_changes"]


def _job(run: int, rows: list[tuple[int, int, int]], previous: Any, steady: Any) -> Job:
    p, s, v = (np.array(x) for x in zip(*rows, strict=True))
    n = int(p.max()) + 1
    return Job(code="REPLAY", run=run, upto_seq=len(rows), participants=p.astype(np.int32),
               statements=s.astype(np.int32), values=v.astype(np.int8), roles=np.full(n, -1, dtype=np.int16),
               role_names=(), known=(), moderated_out=(), previous=previous, steady=steady)


def test_the_kept_runs_are_the_computed_ones() -> None:
    """Through the worker, run after run of the replayed conversation: the map kept for /analysis and the
    exports is exactly the library's run (rebuilt from the same votes and warm state), and the room's
    view is that same run with only the group letters (and the groups' order) changed."""
    import csv

    codes = {1.0: VALUE_CODES["agree"], 0.0: VALUE_CODES["pass"], -1.0: VALUE_CODES["disagree"]}
    with (polis_data_dir() / CONVERSATION / "votes.csv").open(encoding="utf-8") as f:
        votes = sorted(csv.DictReader(f), key=lambda r: int(r["timestamp"]))
    rows = [(int(r["voter-id"]), int(r["comment-id"]), codes[float(r["vote"])]) for r in votes]
    previous = steady = None
    from clustering import VoteTable, analyze
    from facilitation.analysis.worker import CODE_VALUES

    for run, upto in enumerate(range(80, len(rows) + 80, 80), start=1):
        part = rows[:upto]
        outcome = run_job(_job(run, part, previous, steady))
        p, s, v = (np.array(x) for x in zip(*part, strict=True))
        again = analyze(VoteTable.from_arrays(p.astype(np.int32), s.astype(np.int32), CODE_VALUES[v]),
                        previous=previous, random_state=0)
        expected = map_message(again, run=run, upto_seq=len(part), at=outcome.at, roles={})
        # the worker adds what still needs votes (issue 24), from the same table and result
        table = VoteTable.from_arrays(p.astype(np.int32), s.astype(np.int32), CODE_VALUES[v])
        expected["needs"] = needs_votes(table, again, {})
        assert {**outcome.map, "elapsed_ms": 0} == {**expected, "elapsed_ms": 0}
        stored = json.loads(outcome.stored)
        assert stored["message"] == outcome.map_text
        if outcome.shown is not None:
            shown = outcome.shown
            assert stored["shown"] == outcome.shown_text
            assert sorted(g["size"] for g in shown["groups"]) == sorted(g["size"] for g in expected["groups"])
            assert shown["lanes"] == expected["lanes"] and shown["counts"] == expected["counts"]
            assert shown["points"]["x"] == expected["points"]["x"]
            for i, gi in enumerate(shown["points"]["group"]):
                old = expected["points"]["group"][i]
                assert (gi < 0) == (old < 0)
                if gi >= 0:
                    assert shown["groups"][gi]["size"] == expected["groups"][old]["size"]
        else:
            assert "shown" not in stored
        previous, steady = AnalysisResult(state=outcome.previous.state), outcome.steady
