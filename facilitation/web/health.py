"""Liveness and readiness: two questions a supervisor and a load balancer ask, answered separately.

- ``GET /livez``: does this process still answer? 200 whenever the event loop runs; never asks the store.
  A supervisor restarts a process whose liveness fails, so it must not fail because Redis is away: every
  worker would then be restarted at once, for nothing, and come back to the same Redis.
- ``GET /readyz``: can this process take commands now? A real write probe became durable (SQLite through
  the writer thread; Redis on every shard), the live feed is connected, and with Redis the ownership
  channel and lock renewals work. 503 otherwise, with the failing part ``false``: nginx's passive checks,
  compose's health check and scripts/stack.sh keep phones away from a worker that is not ready.
- ``GET /healthz``: the readiness answer under its older name (doctor and existing monitors use it).
"""

from __future__ import annotations

import os
import time

from starlette.requests import Request
from starlette.responses import JSONResponse

from facilitation import metrics
from facilitation.web.state import parts

__all__ = ["livez", "readyz"]

STARTED = time.monotonic()


async def livez(request: Request) -> JSONResponse:
    """200 while the process answers at all, with its worker name and uptime."""
    return JSONResponse({"status": "ok", "worker": metrics.WORKER, "pid": os.getpid(),
                         "uptime": round(time.monotonic() - STARTED, 1)})


async def readyz(request: Request) -> JSONResponse:
    """200 only when this process can take commands now (see the module docstring); else 503."""
    hub = parts(request).hub
    checks: dict[str, bool] = await hub.healthy()
    coordinator = parts(request).coordinator
    extra: dict[str, str] = {"name": metrics.WORKER}
    if coordinator is not None:
        checks["ownership"] = await coordinator.healthy()
        extra["worker"] = coordinator.worker  # the id in owner locks: which worker writes which meeting
    ok = all(checks.values())
    metrics.STORE_HEALTHY.set(1 if checks["store"] else 0)
    return JSONResponse(
        {"status": "ok" if ok else "unhealthy", **checks, "rooms": len(hub.rooms), **extra},
        status_code=200 if ok else 503,
    )
