"""The pages' static files (scripts, styles, translations), gzip-compressed once and kept in memory.

A phone joining on a crowded venue Wi-Fi downloads the participant page's scripts, styles and strings:
about 85 KB as they are, under 30 KB gzipped, for every one of hundreds of phones scanning the QR code
at once on one access point. Compressing per request (Starlette's ``GZipMiddleware``) would spend the
event loop's time on each of those phones; here each file is compressed once (level 9: the files are
few and small) and cached with the file's size and modification time, so an edited file is compressed
again. Clients that do not accept gzip, range requests and HEAD get the file as it is, through
Starlette's :class:`~starlette.staticfiles.StaticFiles` (which also keeps paths inside the folder).
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path

from starlette.datastructures import Headers
from starlette.responses import FileResponse, Response
from starlette.staticfiles import NotModifiedResponse, StaticFiles
from starlette.types import Scope

__all__ = ["CompressedStaticFiles", "accepts_gzip"]

COMPRESSIBLE = frozenset({".js", ".css", ".json", ".svg", ".html", ".txt"})
"""Text formats worth compressing (images such as PNG are compressed already)."""

MIN_SIZE = 512
"""Smaller files are sent as they are: gzip's header and the extra header lines would eat the gain."""


def accepts_gzip(accept_encoding: str) -> bool:
    """Whether an ``Accept-Encoding`` value allows gzip (``gzip`` or ``*``, not with ``q=0``)."""
    for part in accept_encoding.split(","):
        name, _, params = part.strip().partition(";")
        if name.strip().lower() not in ("gzip", "*"):
            continue
        quality = params.strip().lower()
        if quality.startswith("q="):
            try:
                return float(quality[2:]) > 0
            except ValueError:
                return False
        return True
    return False


class CompressedStaticFiles(StaticFiles):
    """`StaticFiles` that answers with a cached gzip body where the client accepts one."""

    def __init__(self, *, directory: str | os.PathLike[str], check_dir: bool = True) -> None:
        super().__init__(directory=directory, check_dir=check_dir)
        self._gzipped: dict[str, tuple[int, int, bytes]] = {}

    def file_response(self, full_path: str | os.PathLike[str], stat_result: os.stat_result, scope: Scope,
                      status_code: int = 200) -> Response:
        request = Headers(scope=scope)
        suffix = Path(full_path).suffix.lower()
        if suffix not in COMPRESSIBLE:
            return super().file_response(full_path, stat_result, scope, status_code)
        if (status_code != 200 or scope.get("method") != "GET" or "range" in request
                or stat_result.st_size < MIN_SIZE or not accepts_gzip(request.get("accept-encoding", ""))):
            response = super().file_response(full_path, stat_result, scope, status_code)
            response.headers["vary"] = "Accept-Encoding"
            return response
        plain = FileResponse(full_path, stat_result=stat_result)  # its content type, validators
        headers = {
            "content-type": plain.headers["content-type"],
            "etag": plain.headers["etag"].rstrip('"') + '-gzip"',  # another body, another validator
            "last-modified": plain.headers["last-modified"],
            "content-encoding": "gzip",
            "vary": "Accept-Encoding",
        }
        if self.is_not_modified(Headers(headers), request):
            return NotModifiedResponse(Headers(headers))
        return Response(self._compressed(os.fspath(full_path), stat_result), status_code, headers=headers)

    def _compressed(self, path: str, stat_result: os.stat_result) -> bytes:
        cached = self._gzipped.get(path)
        if cached is not None and cached[:2] == (stat_result.st_mtime_ns, stat_result.st_size):
            return cached[2]
        body = gzip.compress(Path(path).read_bytes(), compresslevel=9, mtime=0)
        self._gzipped[path] = (stat_result.st_mtime_ns, stat_result.st_size, body)
        return body
