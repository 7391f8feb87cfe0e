"""Shared fixtures: a real server process on a free port with a real SQLite file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.servers import ServerProcess


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    """A running `facilitation serve` with its own SQLite file."""
    proc = ServerProcess(f"sqlite:///{tmp_path / 'meetings.db'}").start()
    try:
        yield proc
    finally:
        proc.stop()
