"""Run `facilitation` commands as real child processes under a chosen open-file limit (``ulimit -n``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support.servers import free_port, scaled, wait_until_healthy

__all__ = ["LimitedServer", "hard_limit", "limits", "proc_limits", "run_cli"]


def hard_limit() -> int | None:
    """This test process's hard open-file limit (None where ``resource`` does not exist)."""
    try:
        import resource
    except ImportError:
        return None
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    return None if hard == resource.RLIM_INFINITY else int(hard)


def limits(soft: int, hard: int) -> Callable[[], None]:
    """A ``preexec_fn`` that starts the child as if from a shell after ``ulimit -Sn soft -Hn hard``."""
    import resource

    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))

    return apply


def proc_limits(pid: int) -> tuple[int, int]:
    """(soft, hard) open-file limit of a running process, read from /proc: what the kernel enforces."""
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max open files"):
            soft, hard = line.split()[3:5]
            return int(soft), int(hard)
    raise AssertionError(f"no open-file line in /proc/{pid}/limits")


def run_cli(*args: str, env: dict[str, str] | None = None, preexec: Callable[[], None] | None = None,
            timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "facilitation.tools.cli", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, preexec_fn=preexec, timeout=scaled(timeout))


class LimitedServer:
    """`facilitation serve` started under a given open-file limit, stdout and stderr in one log."""

    def __init__(self, store: str, *, soft: int, hard: int, extra: list[str] | None = None,
                 env: dict[str, str] | None = None, host: str = "127.0.0.1") -> None:
        self.port = free_port()
        self.cmd = [sys.executable, "-m", "facilitation.tools.cli", "serve", "--host", host, "--port", str(self.port),
                    "--store", store, *(extra or [])]
        self.env = {**os.environ, "FACILITATION_ANALYSIS": "0", **(env or {})}
        self.preexec = limits(soft, hard)
        self.log_path = Path(tempfile.mkstemp(prefix="facilitation-laptop-", suffix=".log")[1])
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> LimitedServer:
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(self.cmd, stdout=log, stderr=subprocess.STDOUT, env=self.env,
                                         preexec_fn=self.preexec)
        wait_until_healthy(self.proc, self.url, timeout, self.log)
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def post_meeting(self, via: str | None = None) -> dict[str, Any]:
        request = urllib.request.Request(f"{via or self.url}/api/meetings", data=b'{"title":"Laptop"}',
                                         method="POST", headers={"content-type": "application/json"})
        with urllib.request.urlopen(request, timeout=scaled(10)) as response:
            return dict(json.loads(response.read()))

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(scaled(15))
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.log_path.unlink(missing_ok=True)


def require_posix_limits() -> None:
    """These tests set rlimits on child processes: Linux or macOS only."""
    if sys.platform == "win32":
        pytest.skip("no open-file limit on Windows")
