"""The connection limits' arithmetic and bookkeeping (facilitation/web/server.py), without sockets; the same
limits against a real uvicorn are in tests/security/test_slowloris.py."""

from __future__ import annotations

import logging

from facilitation.settings import Settings
from facilitation.web.server import (
    LOG_BURST,
    LOG_WINDOW,
    ConnectionGuard,
    ConnectionLimits,
    RateLimitedLog,
    connection_limits,
    per_address_cap,
)


def test_total_cap_stays_below_the_open_file_limit() -> None:
    assert connection_limits(Settings(), 1024).max_connections == 1024 - 102
    assert connection_limits(Settings(), 256).max_connections == 256 - 64
    assert connection_limits(Settings(), 65536).max_connections == 65536 - 256
    assert connection_limits(Settings(max_connections=5000), 1024).max_connections == 922, "lowered to the ceiling"
    assert connection_limits(Settings(max_connections=100), 1024).max_connections == 100


def test_limits_come_from_settings_and_environment() -> None:
    settings = Settings.from_env({"FACILITATION_REQUEST_TIMEOUT": "3.5", "FACILITATION_BODY_TIMEOUT": "1",
                                  "FACILITATION_MAX_CONNECTIONS_PER_ADDRESS": "7"})
    limits = connection_limits(settings, 4096)
    assert limits.request_timeout == 3.5 and limits.max_per_address == 7
    assert limits.body_timeout == 3.5, "a body deadline shorter than the header deadline is raised to it"
    assert Settings.from_env(settings.to_env()).max_connections_per_address == 7, "workers get the same limits"


def test_guard_counts_per_address_and_in_total_and_releases_once() -> None:
    guard = ConnectionGuard(ConnectionLimits(max_connections=4, max_per_address=2, request_timeout=1,
                                             body_timeout=1), "127.0.0.1")
    a1, a2, a3, b1, p1, p2, p3 = (object() for _ in range(7))
    assert guard.admit(a1, "10.0.0.1") is None and guard.admit(a2, "10.0.0.1") is None
    refusal = guard.admit(a3, "10.0.0.1")
    assert refusal is not None and refusal[:2] == (429, "too_many_connections")
    assert guard.admit(b1, "10.0.0.2") is None
    assert guard.admit(p1, "127.0.0.1") is None, "a trusted proxy is not capped per address"
    for conn in (a1, a2, b1, p1):
        guard.proven(conn)  # each finished a request: none may be shed
    full = guard.admit(p2, "127.0.0.1")
    assert full is not None and full[:2] == (503, "server_full") and guard.open == 4
    guard.release(a1)
    guard.release(a1)
    assert guard.open == 3
    assert guard.admit(a3, "10.0.0.1") is None
    guard.proven(a3)
    assert guard.admit(p3, "127.0.0.1") is not None and guard.refused == 3


def test_a_full_server_sheds_the_oldest_connection_that_never_finished_a_request() -> None:
    """Sockets held open without a request, from any address (a trusted loopback too), give way to new ones;
    connections that finished a request are never shed, and only then is a newcomer refused 503."""
    closed: list[str] = []
    guard = ConnectionGuard(ConnectionLimits(max_connections=3, max_per_address=3, request_timeout=1,
                                             body_timeout=1), "127.0.0.1")
    idle1, idle2, phone, newcomer, late = "idle1", "idle2", "phone", "newcomer", "late"
    for name in (idle1, idle2, phone):
        assert guard.admit(name, "127.0.0.1", lambda name=name: closed.append(name)) is None  # type: ignore[misc]
    guard.proven(phone)
    assert guard.admit(newcomer, "10.0.0.9", lambda: closed.append("newcomer")) is None
    assert closed == ["idle1"] and guard.open == 3 and guard.shed == 1
    guard.release(idle1)  # its close arrives later: already counted out, nothing changes
    assert guard.open == 3
    guard.proven(newcomer)
    assert guard.admit(late, "10.0.0.8", lambda: closed.append("late")) is None
    assert closed == ["idle1", "idle2"]
    guard.proven(late)
    refusal = guard.admit("last", "10.0.0.7")
    assert refusal is not None and refusal[0] == 503, "everyone left has finished a request"


def test_one_address_never_holds_every_connection() -> None:
    """The per-address cap stays below the total whatever is configured: at 1,024 open files (922
    connections) one address holds at most 830."""
    limits = connection_limits(Settings(), 1024)
    assert limits.max_connections == 922 and limits.max_per_address == 830
    assert connection_limits(Settings(max_connections_per_address=100), 1024).max_per_address == 100
    assert connection_limits(Settings(), 65536).max_per_address == 2000, "the configured cap, when lower"
    assert per_address_cap(5000, 10) == 9 and per_address_cap(5000, 1) == 1


def test_repeated_log_messages_are_rate_limited_and_counted() -> None:
    now = [0.0]
    limiter = RateLimitedLog(clock=lambda: now[0])

    def record(message: str) -> logging.LogRecord:
        return logging.LogRecord("uvicorn.error", logging.WARNING, __file__, 1, message, None, None)

    passed = [limiter.filter(record("socket.accept() out of system resource")) for _ in range(100)]
    assert passed == [True] * LOG_BURST + [False] * (100 - LOG_BURST)
    assert limiter.filter(record("another message")), "each message has its own budget"
    now[0] += LOG_WINDOW + 1
    summary = record("socket.accept() out of system resource")
    assert limiter.filter(summary) and "95 like this suppressed" in str(summary.msg)
