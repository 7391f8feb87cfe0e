"""Browser fixtures: Debian's Chromium driven by Playwright, and a demo server to point it at.

Playwright cannot download browsers here, so the tests launch ``/usr/bin/chromium``. Without it the
tests skip locally and FAIL under ``CI=true``, so a CI machine can never pass them by accident.
"""

from __future__ import annotations

import json
import os
import re
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.servers import ServerProcess, scaled

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
PHONE = {"width": 360, "height": 740}
PROJECTOR = {"width": 1920, "height": 1080}
DESKTOP = {"width": 1280, "height": 900}
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"


def launch_chromium() -> Iterator[Any]:
    """Debian's Chromium under Playwright, for a module-scoped fixture to yield from; a missing browser
    skips locally and FAILS under ``CI=true``."""
    if not os.path.exists(CHROMIUM):
        message = f"{CHROMIUM} is missing (apt-get install chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One Chromium per test module; each test opens its own contexts (separate storage).

    Module scope, not session: Playwright's sync API keeps an event loop running in the main thread until
    it stops, and pytest-asyncio tests collected after the browser tests cannot start their own loop.
    """
    yield from launch_chromium()


@dataclass
class Demo:
    """A running ``facilitation serve --demo`` and the URLs it printed."""

    server: ServerProcess
    host: str
    projector: str
    join: str

    @property
    def code(self) -> str:
        return self.join.rstrip("/").rsplit("/", 1)[1]


def _demo(tmp: Path, analysis: bool) -> Iterator[Demo]:
    env = {"FACILITATION_ANALYSIS": "1" if analysis else "0"}
    server = ServerProcess(f"sqlite:///{tmp / 'e2e.db'}", extra=["--demo"], env=env).start()
    try:
        urls = dict(re.findall(r"^(host|projector|join): (\S+)$", server.log_path.read_text(), re.M))
        assert set(urls) == {"host", "projector", "join"}, server.log()
        yield Demo(server, urls["host"], urls["projector"], urls["join"])
    finally:
        server.stop()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """The demo meeting with live analysis on (the projector draws a real map)."""
    yield from _demo(tmp_path_factory.mktemp("e2e"), analysis=True)


@pytest.fixture(scope="module")
def plain_demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """The demo meeting without live analysis: the pages must degrade gracefully."""
    yield from _demo(tmp_path_factory.mktemp("e2e-plain"), analysis=False)


def api(base: str, path: str, body: dict[str, Any] | None = None) -> Any:
    """A JSON call to the server's HTTP API."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, headers={"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=scaled(10)) as response:
        return json.loads(response.read())


PRACTICED = "try { window.localStorage.setItem('facilitation.practiced', '1'); } catch (e) { /* no storage here */ }"
"""A phone that has done the practice card (static/js/practice.js) goes straight to the real statements."""


def new_page(browser: Any, viewport: dict[str, int], *, practiced: bool = True, **options: Any) -> Any:
    """A page in a fresh context (its own localStorage), failing the test on any page error.

    Its browser prefers Traditional Chinese (``locale``, as the room's phones do: phones follow their
    browser's language) unless a test says otherwise, and, unless ``practiced=False``, it has done the
    phones' practice card already (tests/e2e/test_phone_record.py tests that card).
    """
    options.setdefault("locale", "zh-TW")
    context = browser.new_context(viewport=viewport, **options)
    if practiced:
        context.add_init_script(PRACTICED)
    context.set_default_timeout(scaled(10) * 1000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    def on_dialog(dialog: Any) -> None:
        errors.append(f"dialog: {dialog.message}")
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.errors = errors
    return page


def screenshot(page: Any, name: str, full_page: bool = False) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


def create_meeting(base: str, **settings: Any) -> dict[str, Any]:
    """POST /api/meetings with sensible test defaults (live results on phones, as these tests were written
    for; tests/core/test_live_results.py holds the real default, off)."""
    body: dict[str, Any] = {"title": "測試會議", "seeds": ["第一則起始意見。", "第二則起始意見。"],
                            "live_results": True, **settings}
    created: dict[str, Any] = api(base, "/api/meetings", body)
    return created


def host_command(base: str, code: str, host_key: str, message: dict[str, Any]) -> dict[str, Any]:
    """Send one host command over the WebSocket (as any script following docs/protocol.md would)."""
    from websockets.sync.client import connect

    url = base.replace("http://", "ws://") + f"/ws/{code}"
    with connect(url, open_timeout=scaled(10)) as ws:
        ws.send(json.dumps({"v": 1, "type": "hello", "role": "host", "host_key": host_key}))
        while json.loads(ws.recv(timeout=scaled(10)))["type"] != "snapshot":
            pass
        op = f"test-{uuid.uuid4().hex[:12]}"  # host ops are deduplicated across connections: never reuse one
        ws.send(json.dumps({"v": 1, "op": op, **message}))
        while True:
            reply: dict[str, Any] = json.loads(ws.recv(timeout=scaled(10)))
            if reply.get("op") == op:
                return reply


def start_collecting(base: str, created: dict[str, Any]) -> None:
    reply = host_command(base, created["code"], created["host_key"], {"type": "phase", "phase": "collecting"})
    assert reply["type"] == "ack", reply


def counters(base: str, code: str) -> dict[str, int]:
    info: dict[str, Any] = api(base, f"/api/meetings/{code}")
    return {name: int(value) for name, value in info["counters"].items()}
