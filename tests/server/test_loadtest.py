"""`facilitation loadtest` against a real server: the contract's JSON keys and nothing lost."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.support.servers import ServerProcess, scaled


def test_loadtest_json_reports_contract_keys_and_loses_nothing(server: ServerProcess) -> None:
    """A short loadtest prints one JSON object with the contract keys; every acked vote reached the projector."""
    result = subprocess.run(
        [sys.executable, "-m", "facilitation.tools.cli", "loadtest", server.url, "--participants", "20",
         "--duration", "3", "--vote-interval", "0.3", "--json"],
        capture_output=True, text=True, timeout=scaled(90),
    )
    assert result.returncode == 0, result.stderr + result.stdout
    figures = json.loads(result.stdout)
    assert {"participants", "connected", "votes_sent", "votes_acked", "updates_received", "lost", "p50_ms",
            "p99_ms", "errors"} <= set(figures)
    assert figures["participants"] == figures["connected"] == 20
    assert figures["votes_acked"] == figures["votes_sent"] > 50
    assert figures["lost"] == 0 and figures["errors"] == 0 and figures["projector_gaps"] == 0
    assert figures["updates_received"] >= figures["votes_acked"]
    assert 0 < figures["p50_ms"] <= figures["p99_ms"]


def test_loadtest_reports_both_map_lags_with_live_analysis(tmp_path: Path) -> None:
    """With live analysis on, the computed runs (``analysis_published``) are counted and timed apart from the
    map shown, which the steady map may hold on an older run (the two lags are over different votes: only
    those a shown map covered count for the second)."""
    live = ServerProcess(f"sqlite:///{tmp_path / 'meetings.db'}", env={"FACILITATION_ANALYSIS": "1"}).start()
    try:
        result = subprocess.run(
            [sys.executable, "-m", "facilitation.tools.cli", "loadtest", live.url, "--participants", "30",
             "--duration", "6", "--vote-interval", "0.3", "--json"],
            capture_output=True, text=True, timeout=scaled(120),
        )
    finally:
        live.stop()
    assert result.returncode == 0, result.stderr + result.stdout
    figures = json.loads(result.stdout)
    assert figures["lost"] == 0 and figures["errors"] == 0
    assert figures["analysis_runs_published"] >= 1 and figures["maps_received"] >= 1
    assert 0 < figures["analysis_lag_p50_s"] <= figures["analysis_lag_p99_s"] < 30
    assert 0 < figures["map_lag_p50_s"] <= figures["map_lag_p99_s"]
