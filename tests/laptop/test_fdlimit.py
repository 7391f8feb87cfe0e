"""The open-file limit: `serve` raises it before the server starts, or says exactly why it cannot."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from facilitation.web import fdlimit
from tests.laptop.support import LimitedServer, hard_limit, limits, proc_limits, require_posix_limits, run_cli


@pytest.fixture(autouse=True)
def _posix() -> None:
    require_posix_limits()


@pytest.fixture
def store(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'meetings.db'}"


@pytest.fixture
def servers() -> Iterator[list[LimitedServer]]:
    """Servers a test starts, stopped after it."""
    started: list[LimitedServer] = []
    yield started
    for server in started:
        server.stop()


def test_capacity_leaves_room_for_the_servers_own_files() -> None:
    """A limit of 1,024 holds 1,024 minus the reserved descriptors; 1,000 phones then need 1,111 files."""
    assert fdlimit.phone_capacity(1024) == 1024 - 102, "a tenth kept back above 640 files"
    assert fdlimit.phone_capacity(256) == 256 - fdlimit.RESERVED_DESCRIPTORS
    assert fdlimit.files_needed(1000) == 1111 and fdlimit.phone_capacity(1111) == 1000 > fdlimit.phone_capacity(1110)
    assert fdlimit.phone_capacity(10) == 0


def test_shortfall_names_the_hard_limit_and_the_command() -> None:
    """Below the expected meeting, the warning gives both numbers, the cause and a runnable command."""
    limit = fdlimit.FdLimit(soft=256, hard=256, before=256)
    message = fdlimit.shortfall_message(limit, 1000)
    assert message is not None
    assert "can hold 192 phones" in message and "--expect 1,000 needs 1,111 open files" in message
    assert "the hard limit is 256" in message and "--nofile=4096:4096" in message
    assert fdlimit.shortfall_message(fdlimit.FdLimit(4096, 4096, 256), 1000) is None


def test_workers_share_the_expected_phones() -> None:
    """With 4 workers each process needs only its quarter of the phones."""
    limit = fdlimit.FdLimit(soft=400, hard=400, before=400)
    assert fdlimit.shortfall_message(limit, 1000, workers=4) is None
    assert fdlimit.shortfall_message(limit, 1000, workers=2) is not None


def test_serve_raises_a_low_soft_limit_to_the_hard_limit(store: str, servers: list[LimitedServer]) -> None:
    """Started under `ulimit -Sn 256` with a hard limit of 4,096, the running server's soft limit is 4,096."""
    hard = hard_limit()
    if hard is not None and hard < 4096:
        pytest.skip(f"this test process's hard limit is {hard}")
    server = LimitedServer(store, soft=256, hard=4096)
    servers.append(server)
    server.start()
    assert server.proc is not None
    assert proc_limits(server.proc.pid) == (4096, 4096)
    assert "open files: limit 4,096 (raised from 256): this process can hold 3,840 phones" in server.log()
    assert "warning: this process can hold" not in server.log()


def test_serve_warns_before_the_meeting_when_the_hard_limit_is_too_low(
        store: str, servers: list[LimitedServer]) -> None:
    """Under `ulimit -n 256` (soft and hard), serve still starts but says, at startup, why 1,000 phones cannot join."""
    server = LimitedServer(store, soft=256, hard=256, extra=["--expect", "1000"])
    servers.append(server)
    server.start()
    log = server.log()
    assert "open files: limit 256: this process can hold 192 phones" in log
    warning = re.search(r"^warning: this process can hold 192 phones but --expect 1,000 needs 1,111 open files "
                        r"\(the hard limit is 256\).*Fix: `sudo prlimit --pid \$\$ --nofile=4096:4096`", log, re.M)
    assert warning, log
    # The warning comes before uvicorn starts serving, i.e. before any phone can arrive.
    assert log.index("warning: this process can hold") < log.index("Uvicorn running")


def test_serve_is_quiet_when_the_expected_meeting_fits(store: str, servers: list[LimitedServer]) -> None:
    """`--expect 150` under `ulimit -n 256` fits (192 phones): no warning."""
    server = LimitedServer(store, soft=256, hard=256, extra=["--expect", "150"])
    servers.append(server)
    server.start()
    assert "can hold 192 phones" in server.log() and "warning: this process" not in server.log()


@pytest.mark.slow
def test_300_phones_join_a_server_started_under_ulimit_256(store: str, servers: list[LimitedServer]) -> None:
    """Under `ulimit -Sn 256` (hard 1,024 or more), 300 real WebSocket phones all join and vote, nothing lost."""
    hard = hard_limit()
    if hard is not None and hard < 1024:
        pytest.skip(f"the hard limit {hard} does not allow 300 phones")
    server = LimitedServer(store, soft=256, hard=min(hard or 4096, 4096))
    servers.append(server)
    server.start()
    result = run_cli("loadtest", server.url, "--participants", "300", "--duration", "4", "--vote-interval", "2",
                     "--json", timeout=240)
    assert result.returncode == 0, result.stdout + result.stderr + server.log()[-3000:]
    figures = json.loads(result.stdout)
    assert figures["connected"] == figures["participants"] == 300
    assert figures["votes_acked"] == figures["votes_sent"] > 0 and figures["lost"] == 0


def test_loadtest_raises_its_own_limit(store: str, servers: list[LimitedServer]) -> None:
    """The load generator, started under `ulimit -Sn 64`, raises its own limit so 80 phones fit in it."""
    hard = hard_limit()
    if hard is not None and hard < 1024:
        pytest.skip(f"hard limit {hard}")
    server = LimitedServer(store, soft=1024, hard=1024)
    servers.append(server)
    server.start()
    result = run_cli("loadtest", server.url, "--participants", "80", "--duration", "2", "--vote-interval", "1",
                     "--json", preexec=limits(64, 1024), timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout)["connected"] == 80
