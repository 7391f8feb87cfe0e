"""Helpers shared by the security tests: servers, meetings, raw sockets, memory and metrics readings.

Everything here talks to a real ``facilitation serve`` process over real sockets; nothing is mocked.
"""

from __future__ import annotations

import importlib
import json
import re
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from tests.support.servers import ServerProcess

__all__ = [
    "DOCUMENTED_CLOSE_CODES",
    "DOCUMENTED_ERROR_CODES",
    "http_json",
    "metric",
    "new_meeting",
    "rss_kib",
    "server_env",
    "start_server",
    "ws_url",
]

PROTOCOL_DOC = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"


def _documented_error_codes() -> frozenset[str]:
    text = PROTOCOL_DOC.read_text()
    paragraph = text.split("Error codes a client can meet:", 1)[1].split("\n\n", 1)[0]
    return frozenset(re.findall(r"`([a-z_]+)`", paragraph)) - {"internal"}


DOCUMENTED_ERROR_CODES = _documented_error_codes()
"""docs/protocol.md's list of error codes, minus ``internal``: a fuzzed input must never cause a server bug."""

DOCUMENTED_CLOSE_CODES = frozenset({1007, 1009, 4000, 4003, 4004, 4008, 4029, 4400})
"""Close codes docs/protocol.md and docs/security.md promise (1007 bad UTF-8, 1009 frame over 1 MiB)."""


def server_env(**extra: str) -> dict[str, str]:
    """Environment for a test server: live analysis only when its module has landed."""
    try:
        importlib.import_module("facilitation.analysis").AnalysisScheduler  # noqa: B018
        analysis = "1"
    except (ImportError, AttributeError):
        analysis = "0"
    return {"FACILITATION_ANALYSIS": analysis, **extra}


def start_server(directory: Path, **extra_env: str) -> ServerProcess:
    return ServerProcess(f"sqlite:///{directory / 'meetings.db'}", env=server_env(**extra_env)).start()


def ws_url(server: ServerProcess, code: str) -> str:
    return server.url.replace("http://", "ws://") + f"/ws/{code}"


def http_json(method: str, url: str, body: dict[str, Any] | None = None,
              headers: dict[str, str] | None = None) -> tuple[int, Any]:
    """One HTTP request; returns (status, parsed JSON or raw text) for error statuses too."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"content-type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode(errors="replace")


def new_meeting(server: ServerProcess, **settings: Any) -> dict[str, Any]:
    """Create a meeting over HTTP; returns the 201 body (code, host_key, urls)."""
    status, body = http_json("POST", server.url + "/api/meetings", {"title": "安全測試", **settings})
    assert status == 201, body
    return dict(body)


def rss_kib(pid: int) -> int:
    """Resident memory of a process, from /proc (what the kernel charges it)."""
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
    assert match is not None
    return int(match.group(1))


def metric(server: ServerProcess, name: str, **labels: str) -> float:
    """The sum of the Prometheus samples from /metrics that carry ``labels`` (0 when absent)."""
    with urllib.request.urlopen(server.url + "/metrics", timeout=10) as response:
        text = response.read().decode()
    wanted = {f'{k}="{v}"' for k, v in labels.items()}
    total = 0.0
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        head, _, value = line.rpartition(" ")
        sample, _, label_text = head.partition("{")
        if sample != name:
            continue
        have = set(label_text.rstrip("}").split(",")) if label_text else set()
        if wanted <= have:  # every series also carries worker=<name>: match on the labels asked for
            total += float(value)
    return total
