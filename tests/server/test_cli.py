"""The `facilitation serve` command: refusing unsafe worker counts, and the demo meeting."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from facilitation.tools.client import MeetingClient
from tests.server.conftest import NO_ANALYSIS
from tests.support.servers import ServerProcess, free_port, scaled


def test_workers_without_redis_refused(tmp_path: Path) -> None:
    """`serve --workers 2` without --redis exits non-zero, saying --redis is needed, and serves nothing."""
    env = {k: v for k, v in os.environ.items() if k != "FACILITATION_REDIS"}
    result = subprocess.run(
        [sys.executable, "-m", "facilitation.tools.cli", "serve", "--workers", "2", "--port", str(free_port()),
         "--store", f"sqlite:///{tmp_path / 'x.db'}"],
        capture_output=True, text=True, timeout=scaled(30), env=env,
    )
    assert result.returncode != 0
    assert "--redis" in result.stderr and "workers" in result.stderr


@pytest.mark.slow
@pytest.mark.asyncio
async def test_demo_prints_urls_and_projector_gets_votes(tmp_path: Path) -> None:
    """`serve --demo` prints host, projector and join lines; that projector receives simulated vote batches."""
    server = ServerProcess(f"sqlite:///{tmp_path / 'demo.db'}", env=NO_ANALYSIS, extra=["--demo"]).start()
    try:
        lines: dict[str, str] = {}
        deadline = time.monotonic() + scaled(10)
        while len(lines) < 3 and time.monotonic() < deadline:
            for name in ("host", "projector", "join"):
                match = re.search(rf"^{name}: (\S+)$", server.log(), re.MULTILINE)
                if match:
                    lines[name] = match.group(1)
            await asyncio.sleep(0.1)
        assert set(lines) == {"host", "projector", "join"}, server.log()
        code = lines["projector"].rsplit("/", 1)[1]
        assert lines["join"] == f"{server.url}/m/{code}"
        assert re.fullmatch(rf"{re.escape(server.url)}/host/{code}#key=\S+", lines["host"])
        projector = MeetingClient(server.url, code, "projector")
        await projector.connect()
        snapshot = await projector.next_message("snapshot")
        assert snapshot["meeting"]["phase"] == "collecting" and len(snapshot["meeting"]["statements"]) >= 10
        batch = await projector.next_message(
            "batch", timeout=scaled(5), where=lambda m: any(e["type"] == "vote" for e in m["events"]))
        assert batch["counters"]["votes"] > 0
        await projector.close()
    finally:
        server.stop()


def test_the_protocols_ping_is_the_only_heartbeat() -> None:
    """uvicorn sends no WebSocket-level pings: clients ping every 20 s and silence closes a connection at 75 s
    (docs/protocol.md), so a second heartbeat would only double what 10,000 idle phones cost the loop."""
    from facilitation.live.session import IDLE_TIMEOUT
    from facilitation.settings import Settings
    from facilitation.tools.cli import uvicorn_options

    options = uvicorn_options(Settings.from_env())
    assert options["ws_ping_interval"] is None and options["ws_ping_timeout"] is None
    assert IDLE_TIMEOUT == 75.0  # what finds a dead client instead
