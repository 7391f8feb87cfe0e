"""HTTP endpoints: create a meeting, read its public info, QR code, moderation log, health and metrics.

Errors use the one shape ``{"error": {"code", "message"}}`` (see :mod:`facilitation.core.errors`). Host-only
endpoints take the host key in the ``X-Host-Key`` header (or ``?key=`` for a download link), never in a
page a participant or projector loads.
"""

from __future__ import annotations

import asyncio
import io
import json
from typing import Any

import segno
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from facilitation import metrics
from facilitation.core.admission import CodeGate, host_key_refusal
from facilitation.core.codes import format_code
from facilitation.core.errors import ClientError
from facilitation.core.registry import parse_new_meeting
from facilitation.live.room import Room, UnknownMeeting
from facilitation.web.security import client_address
from facilitation.web.state import parts

__all__ = [
    "create_meeting",
    "meeting_analysis",
    "meeting_analysis_runs",
    "meeting_info",
    "meeting_log",
    "meeting_qr",
    "metrics_endpoint",
    "require_host",
    "room_for",
]

MAX_BODY_BYTES = 256 * 1024


def meeting_urls(request: Request, code: str) -> dict[str, str]:
    """Links phones can open: a request from the laptop itself (loopback) gets the LAN address when the
    server listens on it; ``FACILITATION_PUBLIC_URL`` wins (see :mod:`facilitation.web.network`)."""
    from facilitation.web.network import join_base

    settings = parts(request).settings
    base = join_base(str(request.base_url), settings.host, settings.public_url)
    return {
        "join": f"{base}/m/{code}",
        "projector": f"{base}/projector/{code}",
        "host": f"{base}/host/{code}",
    }


async def _json_body(request: Request) -> dict[str, Any]:
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        raise ClientError("too_large", f"request body over {MAX_BODY_BYTES} bytes", status=413)
    try:
        data = json.loads(body or b"{}")
    except (ValueError, RecursionError):  # RecursionError: a body nested thousands of levels deep
        raise ClientError("malformed", "the request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise ClientError("malformed", "the request body must be a JSON object")
    return data


async def room_for(request: Request) -> Room:
    """The room named in the path, admitted by the same policy as a WebSocket (facilitation/core/admission.py):
    unknown codes count as failed attempts for the address; a blocked address gets in only with the meeting's
    host key."""
    app = parts(request)
    gate = CodeGate(app.attempts, client_address(request), request.path_params["code"])
    key = _host_key(request)
    code = gate.look_up(has_secret=bool(key))
    try:
        room = await app.hub.room(code)
    except UnknownMeeting:
        raise gate.unknown() from None
    refusal = gate.found(proven=bool(key) and room.meeting.is_host_key(key))
    if refusal is not None:
        raise refusal
    return room


def require_host(request: Request, room: Room, *, header_only: bool = False) -> None:
    """Refuse unless the request carries this meeting's host key; wrong keys are rate-limited.
    ``header_only``: the ``X-Host-Key`` header alone counts, not ``?key=`` (an answer that itself reveals
    the key must not be reachable by a URL that ends up in logs and browser history)."""
    key = host_key_header(request) if header_only else _host_key(request)
    refusal = host_key_refusal(parts(request).attempts, client_address(request), room.meeting.is_host_key(key))
    if refusal is not None:
        raise refusal


def _host_key(request: Request) -> str:
    return host_key_header(request) or request.query_params.get("key") or ""


def host_key_header(request: Request) -> str:
    return request.headers.get("x-host-key") or ""


async def create_meeting(request: Request) -> JSONResponse:
    """``POST /api/meetings``: the body is checked field by field like a command (registry.MEETING_FIELDS);
    each address may create ``Settings.create_limit`` meetings per ``create_window`` seconds."""
    app = parts(request)
    address = client_address(request)
    if not app.creations.allowed(address):
        raise _too_many_creations()
    settings, seeds = parse_new_meeting(await _json_body(request))
    if not app.creations.take(address):  # counted only for a body that makes a meeting (docs/security.md)
        raise _too_many_creations()
    room, host_key = await app.hub.create_meeting(settings, seeds)
    urls = meeting_urls(request, room.code)
    urls["host"] += f"#key={host_key}"
    return JSONResponse(
        {"code": room.code, "display_code": format_code(room.code), "host_key": host_key, "urls": urls},
        status_code=201,
    )


def _too_many_creations() -> ClientError:
    return ClientError("rate_limited", "too many meetings created from this address: wait a minute", status=429)


async def meeting_info(request: Request) -> JSONResponse:
    room = await room_for(request)
    meeting = room.meeting
    return JSONResponse(
        {
            "code": meeting.code,
            "display_code": format_code(meeting.code),
            "settings": meeting.settings.to_dict(),
            "votes": list(meeting.settings.vote_values),
            "phase": meeting.phase.value,
            "counters": meeting.counters,
            "seq": meeting.seq,
            "urls": {k: v for k, v in meeting_urls(request, meeting.code).items() if k != "host"},
        }
    )


async def meeting_qr(request: Request) -> Response:
    room = await room_for(request)
    qr = segno.make(meeting_urls(request, room.code)["join"], error="m")
    buffer = io.BytesIO()  # a standalone file needs the SVG namespace that svg_inline() leaves out
    qr.save(buffer, kind="svg", xmldecl=False, nl=False, scale=8, border=2, dark="#000", light="#fff")
    svg = buffer.getvalue()
    return Response(svg, media_type="image/svg+xml", headers={"cache-control": "max-age=3600"})


async def meeting_log(request: Request) -> JSONResponse:
    room = await room_for(request)
    return JSONResponse({"code": room.code, "log": room.meeting.moderation_log})


async def meeting_analysis(request: Request) -> Response:
    """The last published analysis as computed, or one run of the timelapse with ``?run=N``; with
    ``?view=room`` the map the room is shown now (``clustering.steady``: an exact run under steady letters,
    possibly older than the last one while a re-formed map waits to hold)."""
    room = await room_for(request)
    run = request.query_params.get("run")
    if run is None and request.query_params.get("view") == "room" and room.analysis is not None:
        room_view = room.analysis.shown
        if room_view is not None:
            return JSONResponse(room_view)
    shown = None if room.analysis is None else room.analysis.map
    if run is None and shown is not None:
        return JSONResponse(shown)
    try:
        run_number = None if run is None else int(run)
    except ValueError:
        raise ClientError("invalid_field", "run must be an integer") from None
    stored = await room.record.analysis(run_number)
    if stored is None:
        if run_number is not None:
            raise ClientError("no_analysis", f"no analysis run {run_number} for this meeting", status=404)
        raise ClientError("no_analysis", "no analysis has been published for this meeting yet", status=404)
    from facilitation.analysis.worker import stored_map_text  # the message is rebuilt from the stored result

    roles = {p.id: p.role for p in room.meeting.participants.values() if p.role}
    message = await asyncio.to_thread(stored_map_text, stored, roles)
    if message is not None:
        return Response(message, media_type="application/json")
    return JSONResponse(stored)


async def meeting_analysis_runs(request: Request) -> JSONResponse:
    """Run number, covered sequence number and time of every published analysis: a timelapse's index."""
    room = await room_for(request)
    return JSONResponse({"code": room.code, "runs": await room.record.analysis_runs()})


async def metrics_endpoint(request: Request) -> Response:
    return Response(metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")
