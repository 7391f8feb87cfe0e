"""Static files go out gzip-compressed to clients that accept it (a phone on a crowded venue Wi-Fi
downloads a third of the bytes), exactly as they are to the others, and revalidate with their own ETag."""

from __future__ import annotations

import gzip
import re
from dataclasses import dataclass

import httpx
import pytest

from facilitation.paths import STATIC_DIR
from facilitation.web.assets import accepts_gzip
from tests.support.servers import ServerProcess, scaled


@dataclass
class Raw:
    """A response with its body as sent on the wire (httpx would otherwise decode gzip itself)."""

    status_code: int
    headers: httpx.Headers
    raw_body: bytes


def raw_get(server: ServerProcess, path: str, **headers: str) -> Raw:
    with httpx.Client(timeout=scaled(10)) as client, client.stream("GET", server.url + path, headers=headers) as r:
        return Raw(r.status_code, r.headers, b"".join(r.iter_raw()))


@pytest.mark.parametrize("path", ["/static/js/participant.js", "/static/css/base.css", "/static/i18n/zh-TW.json"])
def test_gzip_for_those_who_accept_it_and_the_same_bytes(server: ServerProcess, path: str) -> None:
    original = (STATIC_DIR / path.removeprefix("/static/")).read_bytes()
    packed = raw_get(server, path, **{"accept-encoding": "gzip, deflate, br"})
    assert packed.status_code == 200 and packed.headers["content-encoding"] == "gzip"
    assert packed.headers["vary"] == "Accept-Encoding"
    body = packed.raw_body
    assert gzip.decompress(body) == original
    assert int(packed.headers["content-length"]) == len(body) < len(original) * 0.6
    plain = raw_get(server, path, **{"accept-encoding": "identity"})
    assert "content-encoding" not in plain.headers and plain.raw_body == original
    assert plain.headers["vary"] == "Accept-Encoding" and plain.headers["etag"] != packed.headers["etag"]
    assert plain.headers["content-type"] == packed.headers["content-type"]


def test_each_body_revalidates_with_its_own_etag(server: ServerProcess) -> None:
    path = "/static/js/live.js"
    packed = raw_get(server, path, **{"accept-encoding": "gzip"})
    again = raw_get(server, path, **{"accept-encoding": "gzip", "if-none-match": packed.headers["etag"]})
    assert again.status_code == 304 and again.raw_body == b""
    plain = raw_get(server, path, **{"accept-encoding": "identity", "if-none-match": packed.headers["etag"]})
    assert plain.status_code == 200 and "content-encoding" not in plain.headers  # the gzip tag is not its tag


def test_ranges_and_refusals_get_the_file_as_it_is(server: ServerProcess) -> None:
    path = "/static/js/map.js"
    original = (STATIC_DIR / "js/map.js").read_bytes()
    part = raw_get(server, path, **{"accept-encoding": "gzip", "range": "bytes=0-99"})
    assert part.status_code == 206 and part.raw_body == original[:100]
    refused = raw_get(server, path, **{"accept-encoding": "gzip;q=0, identity"})
    assert "content-encoding" not in refused.headers and refused.raw_body == original
    missing = raw_get(server, "/static/js/../../pyproject.toml", **{"accept-encoding": "gzip"})
    assert missing.status_code == 404


@pytest.mark.parametrize(("header", "expected"), [
    ("gzip", True), ("gzip, deflate, br, zstd", True), ("br;q=1.0, gzip;q=0.8", True), ("*", True),
    ("gzip;q=0", False), ("identity", False), ("", False), ("deflate, br", False), ("gzip;q=abc", False),
])
def test_accept_encoding_is_read_as_http_says(header: str, expected: bool) -> None:
    assert accepts_gzip(header) is expected


IMPORT = re.compile(r'^import [^;]*? from "\./([\w.]+)";', re.MULTILINE)


def _imports(entry: str) -> set[str]:
    """Every module `entry` loads, directly or through others."""
    found: set[str] = set()
    todo = [entry]
    while todo:
        for module in IMPORT.findall((STATIC_DIR / "js" / todo.pop()).read_text(encoding="utf-8")):
            if module not in found:
                found.add(module)
                todo.append(module)
    return found


@pytest.mark.parametrize("page", ["participant.html", "host.html", "projector.html", "index.html"])
def test_every_page_preloads_exactly_the_modules_it_imports(page: str) -> None:
    """Without a preload a module is requested only after the one importing it was fetched and parsed:
    one more round trip (~300 ms on a phone's 3G) before the page works. The list follows the imports."""
    html = (STATIC_DIR / page).read_text(encoding="utf-8")
    entry = re.search(r'<script type="module" src="/static/js/([\w.]+)">', html)
    assert entry is not None
    preloaded = set(re.findall(r'<link rel="modulepreload" href="/static/js/([\w.]+)">', html))
    assert preloaded == _imports(entry.group(1))
