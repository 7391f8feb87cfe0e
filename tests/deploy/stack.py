"""The scaled-out stack as tests (and bench/) use it: scripts/stack.sh started in a private directory with
every port free, its state read back, its processes killed one by one, and nothing left listening after."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from tests.support.processes import descendants, listening_ports
from tests.support.servers import scaled

__all__ = ["ROOT", "Stack", "need_stack_binaries", "start_stack"]

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "stack.sh"


def need_stack_binaries() -> None:
    """nginx, redis-server and redis-cli: a missing one fails under CI=true and skips elsewhere."""
    missing = [b for b in ("nginx", "redis-server", "redis-cli")
               if shutil.which(b) is None and not Path(f"/usr/sbin/{b}").exists()]
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{', '.join(missing)} not installed and CI=true (scripts/test.sh installs them)")
        pytest.skip(f"{', '.join(missing)} not installed")


class Stack:
    """A running ``scripts/stack.sh up``: its URL, worker and Redis ports, and their pids."""

    def __init__(self, directory: Path, env: dict[str, str]) -> None:
        self.dir = directory
        self.env = env
        self.state: dict[str, str] = {}
        self.printed = ""
        """What ``up`` printed on stdout (the URL to open)."""

    def run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["bash", str(SCRIPT), *args], env=self.env, capture_output=True, text=True,
                              timeout=scaled(timeout))

    def read_state(self) -> None:
        self.state = {}
        for line in (self.dir / "state.env").read_text().splitlines():
            name, _, value = line.partition("=")
            self.state[name] = value.strip('"')

    @property
    def url(self) -> str:
        return self.state["STACK_URL"]

    @property
    def redis_url(self) -> str:
        return self.state["STACK_REDIS_URL"]

    @property
    def app_ports(self) -> list[int]:
        return [int(p) for p in self.state["STACK_APP_PORTS"].split()]

    @property
    def redis_ports(self) -> list[int]:
        return [int(p) for p in self.state["STACK_REDIS_PORTS"].split()]

    def app_url(self, index: int) -> str:
        return f"http://127.0.0.1:{self.app_ports[index]}"

    def ports(self) -> list[int]:
        bus = [int(p) for p in self.state.get("STACK_REDIS_BUS_PORTS", "").split()]
        return [int(self.state["STACK_NGINX_PORT"]), *self.app_ports, *self.redis_ports, *bus]

    def pid(self, name: str) -> int:
        return int((self.dir / "pids" / f"{name}.pid").read_text())

    def pids(self) -> list[int]:
        """Every process of the stack: those ``up`` started (its pid files) and theirs (nginx's workers)."""
        started = [int(p.read_text()) for p in sorted((self.dir / "pids").glob("*.pid"))]
        return [*started, *(child for pid in started for child in descendants(pid))]

    def sockets(self) -> set[int]:
        """The TCP ports on which any of the stack's processes listens, whatever the state file says."""
        return listening_ports(self.pids())

    def kill(self, name: str) -> None:
        """SIGKILL one process of the stack (``app2``, ``redis3``): a crash, no shutdown hooks."""
        pid = self.pid(name)
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + scaled(10)
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.02)

    def listening(self) -> list[int]:
        """The stack's ports that still accept connections."""
        found = []
        for port in self.ports():
            with socket.socket() as s:
                s.settimeout(0.2)
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    found.append(port)
        return found

    def down(self) -> None:
        result = self.run("down")
        assert result.returncode == 0, result.stderr


def start_stack(workers: int, *, cluster: bool = False, directory: Path | None = None, **env: str) -> Stack:
    """``scripts/stack.sh up`` in ``directory`` (a fresh one by default), nginx on a free port, analysis off
    unless asked."""
    need_stack_binaries()
    directory = directory or Path(tempfile.mkdtemp(prefix="facilitation-stack-"))
    full_env = {**os.environ, "STACK_DIR": str(directory), "NGINX_PORT": "0", "PYTHON": sys.executable,
                "FACILITATION_ANALYSIS": "0", "STACK_READY_TIMEOUT": str(int(scaled(60))), **env}
    stack = Stack(directory, full_env)
    try:
        result = stack.run("up", str(workers), *(["--cluster"] if cluster else []), timeout=180)
    except subprocess.TimeoutExpired:
        stack.run("down")  # up was killed before it could stop what it had started
        raise
    if result.returncode != 0:
        logs = "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-1500:]}"
                         for p in sorted((directory / "logs").glob("*.log")))
        raise RuntimeError(f"stack.sh up failed:\n{result.stdout}\n{result.stderr}\n{logs}")
    stack.read_state()
    stack.printed = result.stdout
    return stack
