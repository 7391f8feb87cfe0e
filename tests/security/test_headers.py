"""Security headers: a CSP without inline script on every page, nosniff, no cookies, and frame-ancestors
'none' everywhere except the projector, which the operator may open to chosen origins.
"""

from __future__ import annotations

import re
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from facilitation.paths import STATIC_DIR
from tests.security.wire import new_meeting, start_server
from tests.support.servers import ServerProcess

OVERLAY = "https://obs.example.org"


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    plain = start_server(tmp_path_factory.mktemp("headers"))
    framed = start_server(tmp_path_factory.mktemp("framed"), FACILITATION_FRAME_ANCESTORS=OVERLAY)
    try:
        yield plain, framed
    finally:
        plain.stop()
        framed.stop()


def fetch(url: str) -> tuple[dict[str, str], str, list[str]]:
    with urllib.request.urlopen(url, timeout=30) as response:
        cookies = response.headers.get_all("set-cookie") or []
        return {k.lower(): v for k, v in response.headers.items()}, response.read().decode(), cookies


def pages(server: ServerProcess) -> dict[str, str]:
    code = new_meeting(server)["code"]
    return {"index": "/", "new": "/new", "participant": f"/m/{code}", "host": f"/host/{code}",
            "projector": f"/projector/{code}"}


def directives(csp: str) -> dict[str, str]:
    return {part.strip().split(" ", 1)[0]: part.strip().partition(" ")[2] for part in csp.split(";") if part.strip()}


def test_every_page_has_a_csp_without_inline_script(servers: tuple[ServerProcess, ServerProcess]) -> None:
    """Pages carry script-src 'self' (no unsafe-inline/eval), object-src 'none', base-uri 'none', nosniff."""
    plain, _ = servers
    for name, path in pages(plain).items():
        headers, _, cookies = fetch(plain.url + path)
        csp = directives(headers["content-security-policy"])
        assert csp["script-src"] == "'self'", (name, csp)
        assert "unsafe" not in headers["content-security-policy"], name
        assert csp["object-src"] == "'none'" and csp["base-uri"] == "'none'", name
        assert headers["x-content-type-options"] == "nosniff", name
        assert headers["referrer-policy"] == "no-referrer", name
        assert cookies == [], f"{name} sets a cookie"


def test_pages_have_no_inline_script_or_handlers() -> None:
    """The shipped HTML has no inline <script> body and no on*= attribute, so the strict CSP breaks nothing."""
    for page in sorted(Path(STATIC_DIR).glob("*.html")):
        html = page.read_text()
        for match in re.finditer(r"<script\b([^>]*)>(.*?)</script>", html, re.DOTALL | re.IGNORECASE):
            attributes, body = match.groups()
            assert "src=" in attributes and not body.strip(), f"inline script in {page.name}"
        assert not re.search(r"<[^>]+\son[a-z]+\s*=", html, re.IGNORECASE), f"inline handler in {page.name}"
        assert "javascript:" not in html, page.name


def test_frame_ancestors_none_by_default(servers: tuple[ServerProcess, ServerProcess]) -> None:
    """Without configuration no page may be framed but the projector, by its own origin only (the console's
    preview, issue 23)."""
    plain, _ = servers
    for name, path in pages(plain).items():
        headers, _, _ = fetch(plain.url + path)
        expected = "'self'" if name == "projector" else "'none'"
        assert directives(headers["content-security-policy"])["frame-ancestors"] == expected, name


def test_frame_ancestors_open_only_the_projector(servers: tuple[ServerProcess, ServerProcess]) -> None:
    """FACILITATION_FRAME_ANCESTORS lets the chosen origin frame the projector and nothing else."""
    _, framed = servers
    for name, path in pages(framed).items():
        headers, _, _ = fetch(framed.url + path)
        expected = f"'self' {OVERLAY}" if name == "projector" else "'none'"
        assert directives(headers["content-security-policy"])["frame-ancestors"] == expected, name


def test_scripts_are_served_as_javascript_without_cookies(servers: tuple[ServerProcess, ServerProcess]) -> None:
    """With nosniff, scripts must come with a JavaScript type; no static file or API answer sets a cookie."""
    plain, _ = servers
    scripts = sorted(Path(STATIC_DIR).rglob("*.js"))
    assert scripts, "the pages have scripts"
    for script in scripts:
        headers, _, cookies = fetch(plain.url + "/static/" + script.relative_to(STATIC_DIR).as_posix())
        assert "javascript" in headers["content-type"], script
        assert headers["x-content-type-options"] == "nosniff" and cookies == []
    for path in ("/healthz", "/metrics"):
        assert fetch(plain.url + path)[2] == []


def test_opener_policy_only_where_browsers_apply_it(servers: tuple[ServerProcess, ServerProcess]) -> None:
    """Cross-Origin-Opener-Policy is sent for loopback hosts (and HTTPS), not for a LAN address over plain
    HTTP, where Chromium ignores it and logs a console error on every phone's page load."""
    plain, _ = servers
    port = plain.url.rsplit(":", 1)[1]
    for host, expected in ((f"127.0.0.1:{port}", "same-origin"), (f"localhost:{port}", "same-origin"),
                           (f"192.168.1.23:{port}", None), (f"10.0.0.5:{port}", None)):
        request = urllib.request.Request(plain.url + "/new", headers={"Host": host})
        with urllib.request.urlopen(request, timeout=30) as response:
            headers = {k.lower(): v for k, v in response.headers.items()}
        assert headers.get("cross-origin-opener-policy") == expected, host
        assert "content-security-policy" in headers, host
