"""The web pages: static HTML/JS/CSS from ``static/``, no build step.

The pages carry no secrets: the host console reads its key from the URL fragment (``#key=...``), which
browsers never send to the server or in a Referer header.
"""

from __future__ import annotations

import io
from urllib.parse import quote

import segno
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response

from facilitation.core.codes import normalize_code
from facilitation.paths import STATIC_DIR
from facilitation.web import api

__all__ = ["STATIC_DIR", "favicon", "host_qr", "page"]



_PAGES = {"m": "participant.html", "host": "host.html", "projector": "projector.html",
          "accessibility": "accessibility.html"}


async def page(request: Request) -> Response:
    """Serve a page; a code typed in lower case or with a dash is redirected to its canonical form."""
    kind = request.url.path.strip("/").split("/")[0]
    raw = request.path_params.get("code")
    if raw is not None:
        code = normalize_code(raw)
        if code is not None and code != raw:
            return RedirectResponse(f"/{kind}/{code}", status_code=308)
    name = _PAGES.get(kind, "index.html")
    return FileResponse(STATIC_DIR / name, headers={"cache-control": "no-cache"})


async def favicon(request: Request) -> Response:
    """``/favicon.ico``, which browsers and bookmarks ask for whatever the page links: the SVG icon.

    Every browser in use reads an SVG served under that name by its media type; the pages link the
    same file (``/static/favicon.svg``) directly.
    """
    return FileResponse(STATIC_DIR / "favicon.svg", media_type="image/svg+xml",
                        headers={"cache-control": "max-age=86400"})


async def host_qr(request: Request) -> Response:
    """A QR code of the host link (the console's page with the key in its fragment), for the host to open
    the console on a phone or tablet by scanning their laptop's screen.

    Host-only like the exports: the key comes in the ``X-Host-Key`` header, never in this URL, and the
    answer is not cached. The console shows it only when the host asks for it, never on the projector.
    """
    room = await api.room_for(request)
    api.require_host(request, room, header_only=True)
    key = api.host_key_header(request)
    link = f"{api.meeting_urls(request, room.code)['host']}#key={quote(key, safe='')}"
    buffer = io.BytesIO()
    # The standard quiet zone (4 modules): the console shows this code without the projector's white
    # padding, and a thinner margin beside the page's border line defeats some scanners.
    segno.make(link, error="m").save(buffer, kind="svg", xmldecl=False, nl=False, scale=8, border=4,
                                     dark="#000", light="#fff")
    return Response(buffer.getvalue(), media_type="image/svg+xml", headers={"cache-control": "no-store"})
