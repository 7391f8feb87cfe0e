"""Chromium: a phone reads its data and erases itself, and disappears from the map, the console and every
export; the host deletes a meeting from the console after typing its code."""

from __future__ import annotations

import io
import json
import time
import urllib.error
import urllib.request
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import DESKTOP, PHONE, api, create_meeting, launch_chromium, new_page, start_collecting
from tests.support.servers import ServerProcess, scaled

pytestmark = pytest.mark.browser

TEXT = "手機上寫的秘密意見：東門應該加裝夜燈"
NICKNAME = "林秘密暱稱"
FORMATS = ("md", "html", "json", "record", "polis", "opendata")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from launch_chromium()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    tmp = tmp_path_factory.mktemp("erasure")
    proc = ServerProcess(f"sqlite:///{tmp / 'm.db'}").start()
    try:
        yield proc
    finally:
        proc.stop()


def stored_bytes(server: ServerProcess) -> bytes:
    db = Path(server.store.removeprefix("sqlite:///"))
    return b"".join(p.read_bytes() for p in (db, db.with_name(db.name + "-wal")) if p.exists())


def vote_as(base: str, code: str, votes: dict[int, str]) -> None:
    """A participant over a plain WebSocket (as any client following docs/protocol.md): join, vote, leave."""
    from websockets.sync.client import connect

    with connect(base.replace("http://", "ws://") + f"/ws/{code}", open_timeout=scaled(10)) as ws:
        ws.send(json.dumps({"v": 1, "type": "hello", "role": "participant"}))
        while json.loads(ws.recv(timeout=scaled(10)))["type"] != "snapshot":
            pass
        for statement, value in votes.items():
            op = uuid.uuid4().hex[:12]
            ws.send(json.dumps({"v": 1, "type": "vote", "op": op, "statement": statement, "value": value}))
            while json.loads(ws.recv(timeout=scaled(10))).get("op") != op:
                pass


def download(base: str, code: str, key: str, fmt: str) -> str:
    query = f"format={fmt}" + ("&agency=%E6%B8%AC%E8%A9%A6" if fmt == "opendata" else "")
    request = urllib.request.Request(f"{base}/api/meetings/{code}/export?{query}", headers={"x-host-key": key})
    with urllib.request.urlopen(request, timeout=scaled(60)) as response:
        body: bytes = response.read()
    if body[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(body)) as z:
            return "\n".join(z.read(n).decode("utf-8", "replace") for n in z.namelist())
    return body.decode("utf-8", "replace")


def map_points(base: str, code: str) -> list[int] | None:
    try:
        found = api(base, f"/api/meetings/{code}/analysis")
    except urllib.error.HTTPError:
        return None
    return list(found["points"]["participants"])


def wait_for(check: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + scaled(timeout)
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_phone_erases_itself_and_disappears_from_map_console_and_exports(browser: Any,
                                                                           server: ServerProcess) -> None:
    """A phone reads its receipt and erases itself: it is left with the meeting's title and the word that its
    data is gone (no panel or control of the meeting, the badge not saying a connection failed), and it is
    gone from the console, the re-run map, every export and the SQLite file."""
    created = create_meeting(server.url, ask_nickname=True, seeds=["第一則起始意見。", "第二則起始意見。"])
    code, key = created["code"], created["host_key"]
    start_collecting(server.url, created)
    phone = new_page(browser, PHONE)
    phone.goto(f"{server.url}/m/{code}")
    phone.fill("#nickname", NICKNAME)
    phone.click("#join-form button[type=submit]")
    for _ in range(2):
        expect(phone.locator("#vote-buttons [data-value=disagree]")).to_be_visible()
        phone.click("#vote-buttons [data-value=disagree]")
    phone.fill("#write-text", TEXT)
    phone.click("#write-submit")
    expect(phone.locator("#my-statements li")).to_have_count(1)
    mine = 2  # the two seeds are 0 and 1
    for i in range(5):
        vote_as(server.url, code, {0: "agree", 1: ("agree", "disagree")[i % 2], mine: ("disagree", "agree")[i % 2]})
    wait_for(lambda: 0 in (map_points(server.url, code) or []), 60, "the phone on the map")
    console = new_page(browser, DESKTOP)
    console.goto(f"{server.url}/host/{code}#key={key}")
    expect(console.locator("#all-statements li", has_text=TEXT)).to_be_visible()
    assert all(NICKNAME in download(server.url, code, key, f) or TEXT in download(server.url, code, key, f)
               for f in FORMATS), "the scan must see the planted words in every export first"

    # the receipt: what the meeting holds about this phone
    expect(phone.locator("#my-data")).to_be_visible()
    phone.click("#my-data-show")
    expect(phone.locator("#my-data-profile")).to_contain_text(f"暱稱：{NICKNAME}")  # a Chinese colon in Chinese
    expect(phone.locator("#my-data-statements li")).to_have_count(1)
    expect(phone.locator("#my-data-statements")).to_contain_text(TEXT)
    expect(phone.locator("#my-data-votes li")).to_have_count(3)  # two seeds, and the implicit agree on its own
    phone.click("#my-data-erase")
    expect(phone.locator("#my-data-confirm")).to_be_visible()
    phone.click("#my-data-confirm-yes")
    expect(phone.locator("#erased")).to_be_visible(timeout=scaled(60) * 1000)
    expect(phone.locator("#vote")).to_be_hidden()
    shown = phone.evaluate("[...document.querySelectorAll('#main > *')].filter((n) => n.checkVisibility())"
                           ".map((n) => n.id || n.className)")
    assert shown == ["intro", "erased"]
    expect(phone.locator("#conn")).to_have_attribute("data-state", "idle")
    assert phone.evaluate("code => Object.keys(localStorage).filter((k) => k.includes(code))", code) == []

    # the console was told to reload: the statement is gone from it, the counters follow
    expect(console.locator("#all-statements li", has_text=TEXT)).to_have_count(0)
    expect(console.locator("#all-statements li", has_text="第一則起始意見")).to_be_visible()
    points = wait_for(lambda: (p := map_points(server.url, code)) is not None and len(p) == 5 and p, 60,
                      "the map to run again without the phone")
    assert 0 not in points
    leftovers = {f: [w for w in (TEXT, NICKNAME) if w in download(server.url, code, key, f)] for f in FORMATS}
    assert leftovers == {f: [] for f in FORMATS}
    assert TEXT.encode() not in stored_bytes(server) and NICKNAME.encode() not in stored_bytes(server)
    assert phone.errors == [] and console.errors == []


def test_the_host_deletes_the_meeting_from_the_console(browser: Any, server: ServerProcess) -> None:
    """The console's 刪除會議 works once the code is typed; the phone is told the meeting no longer exists."""
    created = create_meeting(server.url, ask_nickname=True)
    code, key = created["code"], created["host_key"]
    start_collecting(server.url, created)
    phone = new_page(browser, PHONE)
    phone.goto(f"{server.url}/m/{code}")
    phone.fill("#nickname", NICKNAME)
    phone.click("#join-form button[type=submit]")
    expect(phone.locator("#vote-buttons [data-value=agree]")).to_be_visible()
    console = new_page(browser, DESKTOP)
    console.goto(f"{server.url}/host/{code}#key={key}")
    expect(console.locator("#conn")).to_have_attribute("data-state", "online")
    button = console.locator("#delete-meeting")
    expect(button).to_be_disabled()
    console.fill("#delete-confirm", "XYZ")
    expect(button).to_be_disabled()
    console.fill("#delete-confirm", f"{code[:3]}-{code[3:]}".lower())
    expect(button).to_be_enabled()
    button.click()
    expect(console.locator("#fatal")).to_contain_text("已刪除")
    expect(phone.locator("#fatal")).to_be_visible()
    with pytest.raises(urllib.error.HTTPError) as gone:
        api(server.url, f"/api/meetings/{code}")
    assert gone.value.code == 404
    assert NICKNAME.encode() not in stored_bytes(server)
    assert phone.errors == [] and console.errors == []
