"""HTTP routes for the host console: download a session summary, record a follow-up.

``GET /api/meetings/{code}/export?format=md|html|pdf|json|polis|opendata`` (host key in ``X-Host-Key`` or
``?key=``) returns the report as a download; ``polis`` and ``opendata`` (with ``agency=``, the providing
agency its attribution statement names) return a zip of the folder.
``POST /api/meetings/{code}/follow-ups`` with ``{"statement", "status", "response"}`` records an agency's
answer (any phase, closed included). Building a summary may run a full analysis and rendering a PDF takes
seconds, so both happen in a worker thread, never on the event loop that serves the live meeting.
"""

from __future__ import annotations

import asyncio
import io
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from facilitation.core.errors import ClientError
from facilitation.core.events import Event
from facilitation.core.registry import parse_http_command
from facilitation.export import FILE_FORMATS, FOLDER_FORMATS, FORMATS, render
from facilitation.export.summary import Summary, build_summary
from facilitation.web.api import _json_body, meeting_urls, require_host, room_for
from facilitation.web.state import parts

__all__ = ["export_meeting", "set_follow_up"]


def _zip_folder(summary: Summary, events: Sequence[Event], fmt: str, agency: str) -> bytes:
    """The folder format's files as a zip, under ``<CODE>-<fmt>/``."""
    buffer = io.BytesIO()
    with tempfile.TemporaryDirectory() as tmp:
        if fmt == "polis":
            from facilitation.export.polis import polis_ids, write_polis

            paths = write_polis(summary, Path(tmp), polis_ids(events))
        else:
            from facilitation.export.opendata import write_opendata

            paths = write_opendata(summary, Path(tmp), agency=agency)
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in paths:
                archive.write(path, f"{summary.code}-{fmt}/{path.name}")
    return buffer.getvalue()


async def export_meeting(request: Request) -> Response:
    room = await room_for(request)
    require_host(request, room)
    fmt = request.query_params.get("format", "html")
    if fmt not in FORMATS:
        raise ClientError("invalid_field", f"format must be one of {', '.join(FORMATS)}")
    agency = request.query_params.get("agency", "").strip()
    if fmt == "opendata" and not agency:
        raise ClientError("invalid_field", "format=opendata needs agency=NAME: the Open Government Data "
                                           "License's attribution statement names the providing agency")
    events = await room.record.history()
    analysis = await room.record.analysis()
    join_url = meeting_urls(request, room.code)["join"]
    transcript = await parts(request).hub.log.load_document(room.code, "transcript") if fmt == "record" else None

    def produce() -> tuple[bytes, str, str]:
        summary = build_summary(events, analysis, join_url=join_url)
        if transcript:  # the record with the transcript stored for the meeting (facilitation import-transcript)
            from facilitation.export.record import render_record
            from facilitation.export.transcript import parse_transcript

            text = render_record(summary, parse_transcript(transcript), published_at=summary.published_at)
            return text.encode("utf-8"), "text/markdown; charset=utf-8", f"{room.code}.record.md"
        if fmt in FOLDER_FORMATS:
            return _zip_folder(summary, events, fmt, agency), "application/zip", f"{room.code}-{fmt}.zip"
        media, ext = FILE_FORMATS[fmt]
        return render(summary, fmt), media, f"{room.code}.{ext}"

    try:
        body, media, filename = await asyncio.to_thread(produce)
    except RuntimeError as exc:  # PdfUnavailable: WeasyPrint or its Pango libraries missing on this server
        raise ClientError(getattr(exc, "code", "unavailable"), str(exc), status=503) from exc
    return Response(body, media_type=media, headers={
        "content-disposition": f'attachment; filename="{filename}"',
        "cache-control": "no-store",
    })


async def set_follow_up(request: Request) -> JSONResponse:
    room = await room_for(request)
    require_host(request, room)
    command = parse_http_command("follow_up", await _json_body(request))
    applied = await room.submit(command)
    return JSONResponse({"result": applied.result, "seq": applied.seq})
