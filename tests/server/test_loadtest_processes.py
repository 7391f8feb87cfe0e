"""The multi-process load generator against a real server: records merged once, and lost means lost.

The phones run in two processes and the projector in a third; their send, ack and arrival records meet in
the parent. These tests check that merge against what the server itself stored, and that a vote the
projector never saw (because it left, as a sleeping laptop does) is counted as lost.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import urllib.request
from typing import Any

from facilitation.tools import loadtest
from tests.support.servers import ServerProcess


def _args(server: ServerProcess, **extra: Any) -> argparse.Namespace:
    assert server.proc is not None
    options: dict[str, Any] = {
        "url": server.url, "participants": 30, "duration": 3.0, "vote_interval": 0.3, "code": None,
        "host_key": None, "json": True, "processes": 2, "steady": False, "seed": 7, "post_rate": 0.0,
        "source_addresses": 3, "client_cpus": None, "server_pid": server.proc.pid, "moderation": "post",
    }
    options.update(extra)
    return argparse.Namespace(**options)


def _stored_votes(server: ServerProcess, code: str) -> int:
    with urllib.request.urlopen(f"{server.url}/api/meetings/{code}", timeout=10) as response:
        return int(json.loads(response.read())["counters"]["votes"])


def test_two_phone_processes_merge_every_acked_vote_once(server: ServerProcess) -> None:
    """30 phones over 2 processes and 3 source addresses: each acked vote is one stored vote, none lost."""
    figures = asyncio.run(loadtest._run(_args(server)))
    assert figures["connected"] == 30, figures["error_codes"]
    assert figures["errors"] == 0, figures["error_codes"]
    assert figures["votes_sent"] == figures["votes_acked"] > 60
    # Each phone votes on fresh statements first (30 seeds, ~10 votes each), so every acked vote is a new
    # stored vote: a record merged twice or dropped in the merge would make these differ.
    assert _stored_votes(server, figures["code"]) == figures["votes_acked"]
    assert figures["votes_on_projector"] == figures["votes_acked"]
    assert figures["lost"] == 0 and figures["projector_gaps"] == 0 and figures["projector_closed"] is None
    assert figures["source_addresses"] == ["127.0.0.2", "127.0.0.3", "127.0.0.4"]
    clients = figures["load_generator"]
    roles = [p["role"] for p in clients["processes"]]
    assert roles == ["projector", "phones", "phones"]
    assert sum(p["phones"] for p in clients["processes"] if p["role"] == "phones") == 30
    assert len({p["pid"] for p in clients["processes"]}) == 3
    assert all(p["cpu_cores"] > 0 for p in clients["processes"])
    assert figures["server"]["cpu_cores"] > 0 and figures["server"]["loop_lag_probes"] > 0
    assert figures["server"]["rss_mb"] > 0
    assert 0 < figures["p50_ms"] <= figures["p99_ms"]


def test_votes_the_projector_never_sees_are_lost(server: ServerProcess) -> None:
    """The projector leaves half a second into the voting: the votes acked after that are counted lost."""
    figures = asyncio.run(loadtest._run(_args(server, projector_leaves_after=0.5)))
    assert figures["connected"] == 30 and figures["errors"] == 0, figures["error_codes"]
    assert figures["votes_sent"] == figures["votes_acked"] == _stored_votes(server, figures["code"])
    assert figures["projector_closed"] == "left"
    # Five sixths of the three seconds of votes came after the projector left (half: even if it left late).
    assert figures["votes_acked"] / 2 < figures["lost"] < figures["votes_acked"]
    assert figures["votes_on_projector"] + figures["lost"] == figures["votes_acked"]
    assert figures["votes_on_projector"] > 0
