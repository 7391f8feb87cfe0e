"""The Starlette application: routes, error handlers, and the lifespan that opens store, bus and hub."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route, WebSocketRoute

from facilitation import metrics
from facilitation.core.errors import ClientError, error_body
from facilitation.live.hub import Hub
from facilitation.live.writer import WriterFactory
from facilitation.paths import STATIC_DIR
from facilitation.settings import Settings
from facilitation.storage import open_event_log
from facilitation.web import api, erasure, health, privacy, record, runtime, similar
from facilitation.web import exports as export_routes
from facilitation.web.assets import CompressedStaticFiles
from facilitation.web.pages import favicon, host_qr, page
from facilitation.web.security import SecurityHeaders
from facilitation.web.state import AppParts
from facilitation.web.ws import meeting_socket

__all__ = ["create_app"]


async def _client_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ClientError)
    return JSONResponse(error_body(exc.code, exc.message), status_code=exc.status)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return JSONResponse(error_body(code, str(exc.detail)), status_code=exc.status_code)


def _lifespan(settings: Settings, saved_notice: dict[str, Any] | None
              ) -> Callable[[Starlette], AbstractAsyncContextManager[dict[str, AppParts]]]:
    """The app's lifespan: open the storage, the ownership coordinator (Redis) and the live analysis, make the
    hub and the per-process limiters, hand them to every request as ``state.parts``, and close all on exit."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, AppParts]]:
        if settings.redis and settings.store_url != settings.redis:
            raise ValueError("with --redis the meetings live in Redis: several processes share them; "
                             "--store names the SQLite file of a single process and cannot be combined with it")
        event_log = open_event_log(settings.store_url)
        await event_log.start()
        writers: WriterFactory | None = None
        coordinator = None
        if settings.redis:  # several processes may serve a meeting: elect one writer per meeting
            from facilitation.live.ownership import Coordinator

            coordinator = Coordinator(settings.redis, event_log)
            await coordinator.start()
            writers = coordinator.writer
        scheduler = None
        if settings.analysis:
            from facilitation.analysis import AnalysisScheduler  # type: ignore[import-not-found,unused-ignore]

            scheduler = AnalysisScheduler()
            await scheduler.start()
        hub = Hub(event_log, writers, analysis=None if scheduler is None else scheduler.attach)
        made = AppParts.make(settings, hub, coordinator, privacy_default=saved_notice)
        loop_monitor = asyncio.get_running_loop().create_task(metrics.monitor_loop_lag(), name="loop-lag")
        metrics.watch_gc()
        runtime.tune_gc()
        thawing = asyncio.get_running_loop().create_task(runtime.thaw_periodically(), name="gc-thaw")
        young = asyncio.get_running_loop().create_task(runtime.collect_young_periodically(), name="gc-young")
        evicting = (asyncio.get_running_loop().create_task(hub.evict_periodically(settings.room_idle_seconds),
                                                           name="room-eviction")
                    if settings.room_idle_seconds > 0 else None)
        from facilitation.live.erasure import purge_periodically  # retention (docs/agencies.md)

        purging = asyncio.get_running_loop().create_task(purge_periodically(hub), name="retention-purge")
        demo = None
        if settings.demo:
            from facilitation.web.demo import start_demo

            demo = await start_demo(hub, settings)
        try:
            yield {"parts": made}
        finally:
            if demo is not None:
                await demo.stop()
            if scheduler is not None:
                await scheduler.stop()
            loop_monitor.cancel()
            thawing.cancel()
            young.cancel()
            purging.cancel()
            if evicting is not None:
                evicting.cancel()
            await hub.close()
            if coordinator is not None:
                await coordinator.close()
            await event_log.close()

    return lifespan


def create_app(settings: Settings | None = None) -> Starlette:
    """Build the app; ``settings`` default to the environment (how uvicorn workers get them)."""
    settings = settings or Settings.from_env()
    saved_notice = privacy.load_default(settings.privacy_notice)  # a bad file stops the server here
    routes = [
        Route("/", page),
        Route("/new", page),
        Route("/accessibility", page),
        Route("/m/{code}", page),
        Route("/host/{code}", page),
        Route("/projector/{code}", page),
        Route("/record/{code}", record.public_record),
        Route("/favicon.ico", favicon),
        Route("/api/meetings", api.create_meeting, methods=["POST"]),
        Route("/api/privacy-default", privacy.privacy_default),
        Route("/api/meetings/{code}", api.meeting_info),
        Route("/api/meetings/{code}", erasure.delete_meeting, methods=["DELETE"]),
        Route("/api/meetings/{code}/mine", erasure.my_data),
        Route("/api/meetings/{code}/erase", erasure.erase_me, methods=["POST"]),
        Route("/api/meetings/{code}/qr.svg", api.meeting_qr),
        Route("/api/meetings/{code}/host-qr.svg", host_qr),
        Route("/api/meetings/{code}/log", api.meeting_log),
        Route("/api/meetings/{code}/similar", similar.near_duplicates),
        Route("/api/meetings/{code}/analysis", api.meeting_analysis),
        Route("/api/meetings/{code}/export", export_routes.export_meeting),
        Route("/api/meetings/{code}/follow-ups", export_routes.set_follow_up, methods=["POST"]),
        Route("/api/meetings/{code}/analysis/runs", api.meeting_analysis_runs),
        Route("/livez", health.livez),
        Route("/readyz", health.readyz),
        Route("/healthz", health.readyz),
        Route("/metrics", api.metrics_endpoint),
        WebSocketRoute("/ws/{code}", meeting_socket),
        Mount("/static", CompressedStaticFiles(directory=STATIC_DIR, check_dir=False), name="static"),
    ]
    app = Starlette(
        routes=routes,
        lifespan=_lifespan(settings, saved_notice),
        middleware=[Middleware(SecurityHeaders, frame_ancestors=settings.frame_ancestors)],
        exception_handlers={ClientError: _client_error, HTTPException: _http_error},
    )
    return app
