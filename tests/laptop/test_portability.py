"""What must hold on macOS and Windows too, exercised here: no `resource`/`fcntl`, Ctrl+C, spawn everywhere."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.support.servers import free_port, scaled


def _python(code: str) -> str:
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=scaled(60))
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_without_resource_module_the_limit_is_reported_not_invented() -> None:
    """With `resource` unimportable (as on Windows), raising is a no-op and the banner says there is no limit."""
    out = _python(
        "import sys; sys.modules['resource'] = None\n"
        "from facilitation.web import fdlimit\n"
        "limit = fdlimit.raise_limit()\n"
        "print(limit.soft, limit.phones, fdlimit.shortfall_message(limit, 1000))\n"
        "print(fdlimit.capacity_message(limit))\n"
        "print(fdlimit.shortfall_message(limit, 1000, workers=2))\n")
    first, banner, workers = out.splitlines()
    assert first == "None None None"
    assert banner.startswith("open files: no per-process limit on this system")
    assert workers.startswith("warning: 2 workers hold about 896 phones on Windows")


def test_without_fcntl_the_routing_table_still_finds_the_lan_address() -> None:
    """Without `fcntl` (Windows) no interface is enumerated, yet the routed addresses are still found."""
    from facilitation.web import network

    out = _python(
        "import sys; sys.modules['fcntl'] = None\n"
        "from facilitation.web import network\n"
        "print(len(network._interface_addresses()))\n"
        "print(','.join(network.lan_addresses()))\n")
    interfaces, found = [*out.splitlines(), ""][:2]
    assert interfaces == "0"
    routed = network._routed_addresses()
    assert [a for a in found.split(",") if a] == (routed or network._hostname_addresses())


def test_process_pools_use_spawn_on_every_system() -> None:
    """The analysis pool and the loadtest phones start with `spawn`, the only method Windows and macOS share."""
    root = Path(__file__).resolve().parents[2] / "facilitation"
    for path in (root / "analysis" / "scheduler.py", root / "tools" / "loadtest.py"):
        text = path.read_text()
        assert 'get_context("spawn")' in text, path


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="process groups are POSIX")
def test_ctrl_c_stops_the_server_and_its_analysis_pool_without_a_traceback(tmp_path: Path) -> None:
    """SIGINT to the whole process group (what Ctrl+C does) after the analysis pool started: a clean stop."""
    log_path = tmp_path / "serve.log"
    port = free_port()
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "facilitation.tools.cli", "serve", "--port", str(port), "--store",
             f"sqlite:///{tmp_path / 'm.db'}", "--demo"],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            env={**os.environ, "FACILITATION_ANALYSIS": "1"})
    try:
        deadline = time.monotonic() + scaled(60)
        # The demo votes at once; a published analysis means the pool's worker has started and run a job.
        while not _analysis_published(port, log_path.read_text()) and time.monotonic() < deadline:
            assert proc.poll() is None, log_path.read_text()
            time.sleep(0.2)
        assert "spawn_main" in _children(proc.pid), log_path.read_text()
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(scaled(30))
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
    output = log_path.read_text()
    assert "Finished server process" in output
    assert "Traceback" not in output and "KeyboardInterrupt" not in output, output[-3000:]


def _children(pid: int) -> str:
    """Full command lines of the processes in ``pid``'s process group (a pool worker runs ``spawn_main``)."""
    return subprocess.run(["ps", "-ww", "-o", "args=", "-g", str(pid)], capture_output=True, text=True).stdout


def _analysis_published(port: int, log: str) -> bool:
    match = re.search(r"^projector: \S+/projector/(\w+)$", log, re.M)
    if match is None:
        return False
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/meetings/{match.group(1)}/analysis", timeout=2):
            return True
    except OSError:  # 404 until the first run is published
        return False
