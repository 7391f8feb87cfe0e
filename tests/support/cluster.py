"""A private Redis Cluster for tests: 3 masters + 3 replicas on free loopback ports, configured by the files
the deployed stack uses (deploy/redis.conf + deploy/redis-cluster.conf), joined with
``redis-cli --cluster create``. A missing binary fails under CI=true and skips elsewhere."""

from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from tests.support.servers import scaled

__all__ = ["RedisClusterServer", "cluster_or_skip"]

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def _free_ports(n: int) -> list[int]:
    """Distinct free loopback ports below the kernel's ephemeral range: a busy machine's outgoing connections
    and "port 0" servers take theirs from that range, so these stay free until the nodes bind them."""
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    held: list[socket.socket] = []
    while len(held) < n:
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", random.randrange(10_000, max(low, 10_001))))
        except OSError:
            s.close()
            continue
        held.append(s)
    ports = [int(s.getsockname()[1]) for s in held]
    for s in held:
        s.close()
    return ports


def _cli(port: int, *args: str) -> str:
    return subprocess.run(["redis-cli", "-p", str(port), *args], capture_output=True, text=True,
                          timeout=scaled(10)).stdout


class RedisClusterServer:
    """Six redis-server processes in cluster mode; ``kill(port)`` and ``start_node(port)`` for failovers."""

    def __init__(self, masters: int = 3, replicas: int = 1) -> None:
        self.count = masters * (1 + replicas)
        self.replicas = replicas
        ports = _free_ports(2 * self.count)
        self.ports, self.bus_ports = ports[: self.count], ports[self.count:]
        self.dir = Path(tempfile.mkdtemp(prefix="facilitation-cluster-"))
        self.procs: dict[int, subprocess.Popen[bytes]] = {}

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.ports[0]}/0"

    def start_node(self, port: int) -> None:
        bus = self.bus_ports[self.ports.index(port)]
        node_dir = self.dir / str(port)
        node_dir.mkdir(exist_ok=True)
        config = (DEPLOY / "redis.conf").read_text() + (DEPLOY / "redis-cluster.conf").read_text()
        proc = subprocess.Popen(
            ["redis-server", "-", "--port", str(port), "--cluster-port", str(bus), "--bind", "127.0.0.1",
             "--dir", str(node_dir)],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        assert proc.stdin is not None
        proc.stdin.write(config.encode())
        proc.stdin.close()
        self.procs[port] = proc
        self._wait(lambda: _cli(port, "ping").strip() == "PONG", f"node {port}")

    def start(self) -> RedisClusterServer:
        for port in self.ports:
            self.start_node(port)
        subprocess.run(["redis-cli", "--cluster", "create", *(f"127.0.0.1:{p}" for p in self.ports),
                        "--cluster-replicas", str(self.replicas), "--cluster-yes"],
                       capture_output=True, check=True, timeout=scaled(60))
        self.wait_ok()
        return self

    def wait_ok(self, timeout: float = 30) -> None:
        """Every live node says cluster_state:ok and every live replica's link to its master is up."""
        def ok() -> bool:
            for port, proc in self.procs.items():
                if proc.poll() is not None:
                    continue
                if "cluster_state:ok" not in _cli(port, "cluster", "info"):
                    return False
                replication = _cli(port, "info", "replication")
                if "role:slave" in replication and "master_link_status:up" not in replication:
                    return False
            return True

        self._wait(ok, "the cluster", timeout)

    def masters(self) -> list[int]:
        """Ports of the live masters that serve slots."""
        nodes = _cli(next(p for p, proc in self.procs.items() if proc.poll() is None), "cluster", "nodes")
        found = []
        for line in nodes.splitlines():
            fields = line.split()
            if "master" in fields[2] and "fail" not in fields[2] and len(fields) > 8:
                found.append(int(fields[1].split("@")[0].rsplit(":", 1)[1]))
        return found

    def master_of(self, key: str) -> int:
        slot = int(_cli(self.ports[0], "cluster", "keyslot", key).strip())
        nodes = _cli(self.ports[0], "cluster", "nodes")
        for line in nodes.splitlines():
            fields = line.split()
            if "master" not in fields[2] or "fail" in fields[2]:
                continue
            for span in fields[8:]:
                low, _, high = span.partition("-")
                if low.isdigit() and int(low) <= slot <= int(high or low):
                    return int(fields[1].split("@")[0].rsplit(":", 1)[1])
        raise AssertionError(f"no master serves slot {slot}")

    def replica_of(self, master: int) -> int:
        """The port of the replica that follows the master on ``master``."""
        nodes = _cli(master, "cluster", "nodes")
        ids = {f[0]: int(f[1].split("@")[0].rsplit(":", 1)[1]) for f in (line.split() for line in nodes.splitlines())}
        for fields in (line.split() for line in nodes.splitlines()):
            if "slave" in fields[2] and ids.get(fields[3]) == master:
                return int(fields[1].split("@")[0].rsplit(":", 1)[1])
        raise AssertionError(f"no replica follows {master}")

    def pause(self, port: int, on: bool) -> None:
        """SIGSTOP / SIGCONT a node: alive to its peers' sockets, answering nothing (a stalled replica)."""
        self.procs[port].send_signal(signal.SIGSTOP if on else signal.SIGCONT)

    def kill(self, port: int) -> None:
        proc = self.procs[port]
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                proc.wait(10)
        shutil.rmtree(self.dir, ignore_errors=True)

    def _wait(self, condition: object, what: str, timeout: float = 10) -> None:
        deadline = time.monotonic() + scaled(timeout)
        while time.monotonic() < deadline:
            if condition():  # type: ignore[operator]
                return
            time.sleep(0.1)
        raise RuntimeError(f"{what} did not get ready")


def cluster_or_skip() -> RedisClusterServer:
    """A private Redis Cluster; missing redis-server or redis-cli fails under CI=true and skips elsewhere."""
    missing = [b for b in ("redis-server", "redis-cli") if shutil.which(b) is None]
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{', '.join(missing)} not installed and CI=true")
        pytest.skip(f"{', '.join(missing)} not installed")
    return RedisClusterServer().start()
