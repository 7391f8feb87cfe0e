"""A reader that leaves early (`facilitation ... | head`) ends the command quietly, with no traceback."""

from __future__ import annotations

import subprocess
import sys

from tests.support.data import polis_data_dir
from tests.support.servers import scaled


def test_closed_stdout_ends_quietly_with_sigpipe_status() -> None:
    """`facilitation analyze PATH --json | head -c 10`: status 141 (128 + SIGPIPE), nothing on stderr."""
    path = polis_data_dir() / "vtaiwan.uberx"
    proc = subprocess.Popen([sys.executable, "-m", "facilitation.tools.cli", "analyze", str(path), "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    assert len(proc.stdout.read(10)) == 10
    proc.stdout.close()  # what `head` does once it has its bytes
    stderr = proc.stderr.read().decode()
    assert proc.wait(scaled(120)) == 141, stderr
    assert "Traceback" not in stderr and "BrokenPipeError" not in stderr
