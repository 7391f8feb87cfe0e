"""Shared fixtures: a real server process on a free port with a real SQLite file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.cluster import RedisClusterServer, cluster_or_skip
from tests.support.servers import ServerProcess


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    """A running `facilitation serve` with its own SQLite file."""
    proc = ServerProcess(f"sqlite:///{tmp_path / 'meetings.db'}").start()
    try:
        yield proc
    finally:
        proc.stop()


@pytest.fixture(scope="session")
def redis_cluster() -> Iterator[RedisClusterServer]:
    """One Redis Cluster (3 masters + 3 replicas) for the whole run: the contract suites share it (each
    test uses its own meeting codes); tests that kill nodes start their own."""
    cluster = cluster_or_skip()
    try:
        yield cluster
    finally:
        cluster.stop()
