"""A bench stopped with SIGTERM stops what it started (bench/children.py): its worker and redis-server (its
descendants), and a scripts/stack.sh stack (which is not one); nothing it started is left listening."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.deploy.stack import ROOT, Stack, need_stack_binaries
from tests.redis.support import redis_or_skip
from tests.support.processes import alive, descendants
from tests.support.servers import scaled

pytestmark = [pytest.mark.redis, pytest.mark.slow]


def _wait(condition: Callable[[], bool], what: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + scaled(timeout)
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} within {scaled(timeout):.0f} s")
        time.sleep(0.1)


def _cmdline(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return []


def _server_port(pid: int) -> tuple[str, int] | None:
    """("worker", port) for a ``facilitation serve``, ("redis", port) for a redis-server (whose title is
    ``redis-server 127.0.0.1:PORT``), None for anything else."""
    args = _cmdline(pid)
    if "serve" in args and "--port" in args:
        return "worker", int(args[args.index("--port") + 1])
    if args and "redis-server" in args[0] and ":" in args[0]:
        return "redis", int(args[0].rsplit(":", 1)[1].split()[0])
    return None


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


@contextlib.contextmanager
def _bench(modes: str, tmp: Path, strays: list[int]) -> Iterator[subprocess.Popen[bytes]]:
    """bench_redis_ack.py with long voting (it is stopped long before), its temporary files under ``tmp``.
    Afterwards the bench and the ``strays`` the test noted are killed if still alive (when the test failed)."""
    env = {**os.environ, "TMPDIR": str(tmp), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, str(ROOT / "bench" / "bench_redis_ack.py"), "--out",
                             str(tmp / "out.json"), "--modes", modes, "--phones", "5", "--duration", "600"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
    try:
        yield proc
    finally:
        for stray in [proc.pid, *descendants(proc.pid), *strays]:
            if alive(stray):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(stray, signal.SIGKILL)
        proc.wait(10)


def test_sigterm_stops_the_benchs_worker_and_redis(tmp_path: Path) -> None:
    """SIGTERM to a bench running a worker on a redis-server: it exits 143 and both are gone, ports closed."""
    redis_or_skip().stop()  # a missing redis-server fails under CI=true
    strays: list[int] = []
    with tempfile.TemporaryDirectory(dir=tmp_path) as tmp, _bench("redis", Path(tmp), strays) as bench:
        def started() -> list[tuple[int, int]]:
            found = {kind_port: pid for pid in descendants(bench.pid) if (kind_port := _server_port(pid))}
            workers = [port for kind, port in found if kind == "worker"]
            if len(found) == 2 and len(workers) == 1 and _answers(f"http://127.0.0.1:{workers[0]}/livez"):
                return [(pid, port) for (_, port), pid in found.items()]
            return []

        _wait(lambda: bool(started()) or bench.poll() is not None, "the bench's worker did not answer")
        children = started()
        assert children, f"the bench exited early ({bench.returncode})"
        strays += [pid for pid, _ in children]
        bench.send_signal(signal.SIGTERM)
        bench.wait(scaled(30))
        _wait(lambda: not any(alive(pid) for pid, _ in children), "the bench's processes did not end", 15)
        assert [port for _, port in children if _listening(port)] == []
        assert bench.returncode == 128 + signal.SIGTERM


def test_sigterm_stops_the_benchs_stack(tmp_path: Path) -> None:
    """SIGTERM to a bench whose scripts/stack.sh cluster is up: nginx, the worker and six Redis nodes stop too."""
    need_stack_binaries()
    with _bench("cluster", tmp_path, []) as bench:
        def state() -> Path | None:
            return next(iter(tmp_path.glob("facilitation-stack-*/state.env")), None)

        _wait(lambda: state() is not None or bench.poll() is not None, "the bench's stack did not come up", 180)
        found = state()
        assert found is not None, f"the bench exited early ({bench.returncode})"
        stack = Stack(found.parent, {**os.environ, "STACK_DIR": str(found.parent)})
        stack.read_state()
        ports = stack.ports()
        try:
            assert [p for p in ports if _listening(p)] == ports
            bench.send_signal(signal.SIGTERM)
            bench.wait(scaled(60))
            assert stack.listening() == []
            assert bench.returncode == 128 + signal.SIGTERM
        finally:
            if stack.listening():
                stack.run("down")  # the bench left its stack running: stop it for the next test
