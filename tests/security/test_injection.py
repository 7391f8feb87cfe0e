"""Injection, end to end: markup, script, Markdown and spreadsheet formulas typed into a live meeting (title,
nickname, statements, a rejection reason) come out inert in every export downloaded over HTTP.

The export engineer's tests/export/ checks each writer on a built summary, and the page engineer's
tests/e2e/ checks the three pages in Chromium; this test follows the text from the WebSocket to the
download, headers included.
"""

from __future__ import annotations

import csv
import io
import json
import re
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator
from typing import Any

import pytest

from facilitation.tools.client import MeetingClient
from tests.security.wire import new_meeting, start_server
from tests.support.servers import ServerProcess

SCRIPT = "<script>window.__pwned=1</script>"
IMG = "<img src=x onerror=alert(1)>"
MARKDOWN = "[點我](javascript:alert(1)) **粗體** # 標題"
FORMULA = "=cmd|' /C calc'!A0"
FORMULAS = [FORMULA, "+SUM(1,2)", "-2+3", "@SUM(A1)", "=HYPERLINK(\"http://evil\",\"x\")"]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    proc = start_server(tmp_path_factory.mktemp("injection"))
    try:
        yield proc
    finally:
        proc.stop()


@pytest.fixture(scope="module")
def hostile_meeting(server: ServerProcess) -> dict[str, Any]:
    """A meeting whose every text field a participant or host can type carries an attack."""
    import asyncio

    meeting = new_meeting(server, title=f"會議 {SCRIPT}", topic=IMG, description=MARKDOWN, moderation="pre",
                          max_statement_chars=200)

    async def fill() -> None:
        host = MeetingClient(server.url, meeting["code"], "host", host_key=meeting["host_key"])
        await host.connect()
        host.on_message = lambda message: None
        await host.command("phase", phase="collecting")
        phone = MeetingClient(server.url, meeting["code"], nickname=FORMULA + IMG[:18])
        await phone.connect()
        phone.on_message = lambda message: None
        for text in [f"{SCRIPT} 危險", f"{IMG} 圖片", MARKDOWN, *FORMULAS]:
            posted = await phone.post(text)
            await host.command("moderate", statement=posted["result"]["statement"], action="accept")
        rejected = await phone.post("要被拒絕的發言")
        await host.command("moderate", statement=rejected["result"]["statement"], action="reject",
                           reason=f"{SCRIPT}{FORMULA}")
        await host.command("seed", text=f"{FORMULA} 主持人")
        for statement in range(len(FORMULAS) + 3):
            await phone.vote(statement, "agree")
        await host.command("phase", phase="voting")
        await host.command("phase", phase="reviewing")
        await phone.close()
        await host.close()

    asyncio.run(fill())
    return meeting


def download(server: ServerProcess, meeting: dict[str, Any], fmt: str) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(server.url + f"/api/meetings/{meeting['code']}/export?format={fmt}",
                                     headers={"X-Host-Key": meeting["host_key"]})
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, {k.lower(): v for k, v in exc.headers.items()}, exc.read()


def test_html_export_is_inert_and_served_as_a_download(server: ServerProcess, hostile_meeting: dict[str, Any]) -> None:
    """The HTML report escapes every attack, has no script or event handler, and comes as an attachment with CSP."""
    status, headers, body = download(server, hostile_meeting, "html")
    assert status == 200, body[:300]
    html = body.decode()
    assert "attachment" in headers.get("content-disposition", ""), headers
    assert "script-src 'self'" in headers.get("content-security-policy", ""), headers
    assert headers.get("x-content-type-options") == "nosniff"
    assert "<script" not in html.lower() and not re.search(r"<[^>]+\son\w+\s*=", html, re.IGNORECASE)
    assert "javascript:" not in re.sub(r">[^<]*<", "><", html), "no javascript: URL inside a tag"
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


def test_markdown_export_is_inert(server: ServerProcess, hostile_meeting: dict[str, Any]) -> None:
    """The Markdown report shows the markup as text: no raw HTML tag, no live javascript: link."""
    status, _, body = download(server, hostile_meeting, "md")
    assert status == 200, body[:300]
    md = body.decode()
    assert "<script" not in md and "<img" not in md
    assert "](javascript:" not in md
    assert "&lt;script&gt;window" in md, "the text itself is kept, escaped"


def test_csv_exports_neutralise_formulas(server: ServerProcess, hostile_meeting: dict[str, Any]) -> None:
    """No cell of any Pol.is CSV starts with =, +, -, @ (except plain numbers), whatever was typed."""
    status, _, body = download(server, hostile_meeting, "polis")
    assert status == 200, body[:300]
    checked = 0
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        for name in archive.namelist():
            if not name.endswith(".csv"):
                continue
            for row in csv.reader(io.StringIO(archive.read(name).decode("utf-8-sig"))):
                for cell in row:
                    checked += 1
                    if re.fullmatch(r"-?\d+(\.\d+)?(e-?\d+)?", cell):
                        continue
                    assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), f"{name}: {cell!r}"
    assert checked > 50


def test_json_export_keeps_the_text_exactly(server: ServerProcess, hostile_meeting: dict[str, Any]) -> None:
    """The JSON export is data, not markup: the attacks are there verbatim, inside JSON strings."""
    status, headers, body = download(server, hostile_meeting, "json")
    assert status == 200
    assert "json" in headers.get("content-type", "")
    text = json.dumps(json.loads(body), ensure_ascii=False)
    assert "window.__pwned" in text and "calc" in text


def test_pdf_export_renders_despite_the_attacks(server: ServerProcess, hostile_meeting: dict[str, Any]) -> None:
    """The PDF renders (markup is laid out as text by the HTML-to-PDF step, which runs no script)."""
    status, headers, body = download(server, hostile_meeting, "pdf")
    assert status == 200 and body.startswith(b"%PDF"), body[:200]
    assert "attachment" in headers.get("content-disposition", "")
