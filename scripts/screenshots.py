"""Screenshots of a realistic meeting, to look at as the back row and a cheap phone would (issue 22).

    python scripts/screenshots.py [--out /work/team/shots] [--chromium /usr/bin/chromium]

Serves a fresh meeting (SQLite in a temporary folder, live analysis on, join links naming a venue LAN
address) in Traditional Chinese: 12 statements, 14 phones in three camps and three roles voting by
script over the WebSocket (docs/protocol.md), plus one real phone page in Chromium. Shoots the projector
in every phase (lobby, collecting, voting, reviewing with every page of its deck, closed) and on the
spotlight and round screens, in both themes at 1920x1080 and 1280x720, and the phone at 360x640 in
collecting, voting and reviewing. Files are named ``<screen>-<phase>-<theme>-<WxH>.png`` (a deck page
after the first adds ``-p<n>``). The votes are scripted, so the same command makes the same meeting;
the map's exact figures depend on when the live analysis runs.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from websockets.sync.client import ClientConnection, connect

ROOT = Path(__file__).resolve().parents[1]
PROJECTOR_SIZES = {"1920x1080": (1920, 1080), "1280x720": (1280, 720)}
PHONE_SIZE = (360, 640)
THEMES = ("dark", "light")
PUBLIC_URL = "http://192.168.1.23:8000"
"""What a venue's laptop would name (the server binds loopback; the QR and address show this)."""

TITLE = "夜市周邊交通與行人安全"
TOPIC = "如何讓夜市周邊的街道對行人、住戶和攤商都更安全、更方便？"
ROLES = ["住戶", "攤商", "遊客"]
STATEMENTS = [
    "夜市周邊應該增設有人管理的機車停車區。",
    "應該設置行人專用時相的紅綠燈。",
    "救護車與消防車的通道必須隨時保持暢通。",
    "夜市營業時段應該全面禁止機車進入攤位街道。",
    "週末應該實施交通管制，平日維持現狀。",
    "住戶的車輛進出權利應該優先於夜市人潮。",
    "夜市結束後的清潔應由市府統一負責，攤商按攤位面積分攤費用。",
    "夜間噪音管制應該更嚴格執行，尤其是凌晨十二點以後。",
    "應該增加公車班次，並在夜市入口設置臨時候車亭，減少開車到夜市的人。",
    "攤商應該自行負責攤位前的人行空間淨空。",
    "不應該為了夜市而限制一般道路通行。",
    "夜市應該提早一小時收攤。",
]
A, K, D, P = "agree", "acceptable", "disagree", "pass"
CAMPS: dict[str, tuple[str, int, list[str]]] = {
    # camp: (role, phones, a vote per statement above): residents, vendors, visitors
    "residents": ("住戶", 6, [A, A, A, A, K, A, K, A, K, A, D, A]),
    "vendors": ("攤商", 5, [A, K, A, D, K, D, D, D, A, K, A, D]),
    "visitors": ("遊客", 3, [K, A, A, K, A, D, K, K, A, A, K, D]),
}
NOISE = 0.12
"""The share of a scripted phone's votes that stray from its camp (to a neighbouring value or a pass)."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def api(base: str, path: str, body: dict[str, Any] | None = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base + path, data=data, headers={"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


class Socket:
    """One WebSocket client following docs/protocol.md: a host (with its key) or a phone (with a role)."""

    def __init__(self, base: str, code: str, hello: dict[str, Any]) -> None:
        self._stack = contextlib.ExitStack()
        self.ws: ClientConnection = self._stack.enter_context(
            connect(base.replace("http://", "ws://") + f"/ws/{code}", open_timeout=10, ping_interval=None,
                    close_timeout=1))
        self.ws.send(json.dumps({"v": 1, "type": "hello", **hello}))
        while json.loads(self.ws.recv(timeout=10))["type"] != "snapshot":
            pass

    def send(self, message: dict[str, Any]) -> dict[str, Any]:
        op = f"{message['type']}-{uuid.uuid4().hex[:12]}"
        self.ws.send(json.dumps({"v": 1, "op": op, **message}))
        while True:
            reply: dict[str, Any] = json.loads(self.ws.recv(timeout=10))
            if reply.get("op") == op:
                if reply["type"] != "ack":
                    raise RuntimeError(f"{message} refused: {reply}")
                return reply

    def close(self) -> None:
        self._stack.close()


def stray(value: str, rng: random.Random) -> str:
    if rng.random() >= NOISE:
        return value
    return rng.choice({A: [K, P], K: [A, D, P], D: [K, P], P: [A, D]}[value])


class Meeting:
    """The server, the meeting, its host socket and the scripted phones."""

    def __init__(self, tmp: Path) -> None:
        port = free_port()
        self.base = f"http://127.0.0.1:{port}"
        env = {**os.environ, "FACILITATION_PUBLIC_URL": PUBLIC_URL}
        self.log = (tmp / "server.log").open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "facilitation.tools.cli", "serve", "--port", str(port),
             "--store", f"sqlite:///{tmp / 'shots.db'}"], stdout=self.log, stderr=subprocess.STDOUT, env=env,
            cwd=ROOT)
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(self.base + "/healthz", timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError("the server did not start: see " + str(tmp / "server.log")) from None
                time.sleep(0.1)
        created = api(self.base, "/api/meetings", {
            "title": TITLE, "topic": TOPIC, "roles": ROLES, "seeds": STATEMENTS, "ask_nickname": False,
            "language": "zh-TW"})
        self.code: str = created["code"]
        self.host = Socket(self.base, self.code, {"role": "host", "host_key": created["host_key"]})
        self.phones: list[tuple[Socket, list[str]]] = []

    def command(self, message: dict[str, Any]) -> dict[str, Any]:
        return self.host.send(message)

    def join_phones(self) -> None:
        rng = random.Random(22)
        for role, count, votes in CAMPS.values():
            for _ in range(count):
                phone = Socket(self.base, self.code, {"role": "participant", "stakeholder": role})
                self.phones.append((phone, [stray(v, rng) for v in votes]))

    def vote(self, statements: range) -> None:
        """Every scripted phone votes on ``statements``, phone after phone, as a room does over minutes."""
        for phone, votes in self.phones:
            for sid in statements:
                phone.send({"type": "vote", "statement": sid, "value": votes[sid]})

    def stop(self) -> None:
        for phone, _ in self.phones:
            phone.close()
        self.host.close()
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


SETTLED = """() => Promise.all(document.getAnimations()
  .filter((a) => a.effect && a.effect.getComputedTiming().iterations !== Infinity)
  .map((a) => a.finished.catch(() => null)))"""


def settle(page: Page) -> None:
    page.wait_for_timeout(400)
    page.evaluate(SETTLED)
    page.wait_for_timeout(300)


class Camera:
    """The projector at both sizes and one phone, each a page in Chromium; shoots them by name."""

    def __init__(self, browser: Any, meeting: Meeting, out: Path) -> None:
        self.meeting = meeting
        self.out = out
        self.projectors: dict[str, Page] = {}
        for name, (width, height) in PROJECTOR_SIZES.items():
            page = browser.new_context(viewport={"width": width, "height": height}, locale="zh-TW").new_page()
            page.goto(f"{meeting.base}/projector/{meeting.code}")
            page.wait_for_selector("#conn[data-state=online]", state="attached")
            self.projectors[name] = page
        context = browser.new_context(viewport={"width": PHONE_SIZE[0], "height": PHONE_SIZE[1]}, locale="zh-TW",
                                      device_scale_factor=2, is_mobile=True, has_touch=True)
        self.phone = context.new_page()
        self.phone.goto(f"{meeting.base}/m/{meeting.code}")
        self.shot_names: list[str] = []

    def theme(self, theme: str) -> None:
        self.meeting.command({"type": "settings", "changes": {"projector_theme": theme}})
        for page in self.projectors.values():
            page.wait_for_selector(f"body[data-theme={theme}]", state="attached")

    def wait_screen(self, screen: str) -> None:
        for page in self.projectors.values():
            page.wait_for_selector(f"body[data-screen={screen}]", state="attached", timeout=20000)

    def projector(self, phase: str) -> None:
        for theme in THEMES:
            self.theme(theme)
            for size, page in self.projectors.items():
                settle(page)
                self.save(page, f"projector-{phase}-{theme}-{size}")

    def deck(self) -> None:
        """Every page of the results deck, turned by hand (PageDown) as a presenter's clicker does."""
        for theme in THEMES:
            self.theme(theme)
            for size, page in self.projectors.items():
                page.reload()  # the deck turns by itself: start each pass at its first page
                page.wait_for_selector(f"body[data-screen=results][data-theme={theme}]", state="attached")
                page.wait_for_selector(".deck-page", state="attached")
                count = page.locator(".deck-page").count()
                for n in range(1, count + 1):
                    settle(page)
                    self.save(page, f"projector-reviewing-{theme}-{size}" + (f"-p{n}" if n > 1 else ""))
                    page.keyboard.press("PageDown")

    def phone_shot(self, phase: str) -> None:
        """What the phone shows at the top of its page, and the whole page (``-full``) below it."""
        self.phone.evaluate("window.scrollTo(0, 0)")
        settle(self.phone)
        self.save(self.phone, f"phone-{phase}-light-360x640")
        self.phone.screenshot(path=str(self.out / f"phone-{phase}-light-360x640-full.png"), full_page=True)
        self.shot_names.append(f"phone-{phase}-light-360x640-full")

    def save(self, page: Page, name: str) -> None:
        page.screenshot(path=str(self.out / f"{name}.png"))
        self.shot_names.append(name)


def wait_for_map(camera: Camera) -> None:
    """Until the live analysis has drawn the room's opinion groups on every projector."""
    for page in camera.projectors.values():
        page.wait_for_function("() => document.querySelectorAll('#map .dots .dot').length >= 12", timeout=60000)


def wait_for_consensus(camera: Camera) -> None:
    """Until the map on screen counts the votes just cast: its acceptable lane fills once every camp voted on
    the common statements. The steady map may hold an older exact run up to HOLD_SECONDS after a re-formed
    map (docs/method.md 7b); after 60 s the screens are shot as they are."""
    for page in camera.projectors.values():
        try:
            page.wait_for_function("() => document.querySelectorAll('#lane-acceptable li').length > 0", timeout=60000)
        except PlaywrightTimeout:
            print("the acceptable lane stayed empty for 60 s; shooting it as it is", file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "artifacts" / "shots")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="facilitation-shots-") as folder:
        meeting = Meeting(Path(folder))
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=args.chromium)
                try:
                    shoot(browser, meeting, args.out)
                finally:
                    browser.close()
        finally:
            meeting.stop()


def shoot(browser: Any, meeting: Meeting, out: Path) -> None:
    camera = Camera(browser, meeting, out)
    phone = camera.phone
    phone.wait_for_selector("#join-form", state="visible")
    phone.check("input[name=role][value=住戶]", force=True)
    phone.click("#join-form button[type=submit]")

    meeting.join_phones()
    camera.wait_screen("join")
    camera.projector("lobby")

    meeting.command({"type": "phase", "phase": "collecting"})
    meeting.command({"type": "timer_start", "seconds": 15 * 60})
    meeting.vote(range(0, 8))
    # a new phone's practice card first (static/js/practice.js): one tap, then 開始表態
    phone.wait_for_selector("#practice-label", state="visible")
    phone.click("#vote-buttons button[data-value=acceptable]")
    phone.click("#practice-start")
    phone.wait_for_selector("#practice-label", state="hidden")
    for value in (A, K, A):
        phone.click(f"#vote-buttons button[data-value={value}]")
        phone.wait_for_timeout(600)
    phone.fill("#write-text", "夜市入口應該設置明顯的行人穿越道，並由志工在尖峰時段協助引導")
    camera.wait_screen("live")
    wait_for_map(camera)
    camera.projector("collecting")
    camera.phone_shot("collecting")

    meeting.command({"type": "phase", "phase": "voting"})
    meeting.vote(range(8, len(STATEMENTS)))
    camera.wait_screen("live")
    phone.wait_for_selector("#vote-buttons button[data-value=agree]", state="visible")
    wait_for_consensus(camera)
    camera.projector("voting")
    camera.phone_shot("voting")
    for _ in STATEMENTS:  # the phone votes on the rest, as its camp (residents) would
        phone.wait_for_function("() => document.querySelector('#done').offsetParent !== null"
                                " || /^#\\d+$/.test(document.querySelector('#statement-number').textContent)")
        if phone.locator("#done").is_visible():
            break
        number = phone.locator("#statement-number").inner_text()
        value = CAMPS["residents"][2][int(number.lstrip("#")) - 1]
        phone.click(f"#vote-buttons button[data-value={value}]")
        phone.wait_for_function("(n) => document.querySelector('#statement-number').textContent !== n"
                                " || document.querySelector('#done').offsetParent !== null", arg=number)

    meeting.command({"type": "spotlight", "statement": 3, "seconds": 180})
    camera.wait_screen("spotlight")
    camera.projector("spotlight")
    meeting.command({"type": "spotlight_end"})

    meeting.command({"type": "round_open", "statements": [3, 5]})
    camera.wait_screen("round")
    for size, page in camera.projectors.items():
        settle(page)
        camera.save(page, f"projector-round-opened-light-{size}")
    for n, (socket_, votes) in enumerate(meeting.phones[:9]):
        socket_.send({"type": "vote", "statement": 3, "value": K if votes[3] == D and n % 2 == 0 else votes[3]})
    camera.projector("round")
    meeting.command({"type": "round_close"})

    meeting.command({"type": "phase", "phase": "reviewing"})
    camera.wait_screen("results")
    camera.deck()
    phone.reload()
    phone.wait_for_selector("#conn[data-state=online]", state="attached")
    camera.phone_shot("reviewing")

    meeting.command({"type": "phase", "phase": "closed"})
    camera.wait_screen("closed")
    camera.projector("closed")
    print(json.dumps({"out": str(out), "shots": camera.shot_names}, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
