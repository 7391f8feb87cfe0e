"""Prometheus metrics for ``GET /metrics``: connections, commands, votes, errors, latencies.

prometheus_client does the text format and histogram bookkeeping correctly; we only name the series.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

__all__ = ["COMMANDS", "COMMAND_SECONDS", "CONNECTIONS", "ERRORS", "REGISTRY", "VOTES", "render"]

REGISTRY = CollectorRegistry(auto_describe=True)

CONNECTIONS = Gauge(
    "facilitation_connections", "Open WebSocket connections", ["role"], registry=REGISTRY
)
COMMANDS = Counter("facilitation_commands_total", "Commands received", ["type"], registry=REGISTRY)
VOTES = Counter("facilitation_votes_total", "Votes acknowledged", registry=REGISTRY)
ERRORS = Counter("facilitation_errors_total", "Errors sent to clients", ["code"], registry=REGISTRY)
COMMAND_SECONDS = Histogram(
    "facilitation_command_seconds",
    "Time from a command's arrival to its durable acknowledgement",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
    registry=REGISTRY,
)
ANALYSIS_SECONDS = Histogram(
    "facilitation_analysis_seconds",
    "Time of one live analysis run",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0),
    registry=REGISTRY,
)


def render() -> bytes:
    return generate_latest(REGISTRY)
