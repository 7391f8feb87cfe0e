"""``GET /record/{code}``: the meeting's public record page, once the host published it (``publish``).

No key: this is what the Freedom of Government Information Law has an agency publish, and what the
participants open from their phones after the meeting. Before publication there is no page (404
``not_published``): a draft may be withheld. The page is the record's HTML writer with the linked stylesheet
(no inline style or script under the CSP), with the transcript stored for the meeting if there is one.
"""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import HTMLResponse

from facilitation.core.commands.publication import Publication
from facilitation.core.errors import ClientError
from facilitation.web.api import meeting_urls, room_for
from facilitation.web.state import parts

__all__ = ["TRANSCRIPT", "public_record"]

TRANSCRIPT = "transcript"
"""The document name a meeting's transcript is stored under (``facilitation import-transcript``)."""


async def public_record(request: Request) -> HTMLResponse:
    room = await room_for(request)
    published_at = room.meeting.part(Publication).published_at
    if published_at is None:
        raise ClientError("not_published", "the host has not published this meeting's record yet", status=404)
    events = await room.record.history()
    analysis = await room.record.analysis()
    transcript = await parts(request).hub.log.load_document(room.code, TRANSCRIPT)
    join_url = meeting_urls(request, room.code)["join"]

    def produce() -> str:
        from facilitation.export.record import build_record, render_record_html
        from facilitation.export.summary import build_summary
        from facilitation.export.transcript import parse_transcript

        summary = build_summary(events, analysis, join_url=join_url)
        record = build_record(summary, parse_transcript(transcript) if transcript else None,
                              published_at=published_at)
        return render_record_html(record, stylesheet="/static/css/record.css")

    return HTMLResponse(await asyncio.to_thread(produce), headers={"cache-control": "no-cache"})
