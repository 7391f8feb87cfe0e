"""The projector from the back of a room (issue 22): at 1920x1080 and 1280x720, in every phase and in
both themes, every statement on screen is at least 36 px, every other text at least 28 px, every text at
least 7:1 against what it sits on (WCAG AAA), no label overlaps another or a dot, no line is cut; the
results deck shows every acceptable statement across its pages with a page count; a 360x640 phone
opening the projector's link gets a page that does not break.

Each measurement lands in artifacts/projector-legibility.json (smallest size and lowest contrast per
screen, phase and theme) and each screen in artifacts/screenshots/projector-<phase>-<theme>-<size>.png.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import DESKTOP, SCREENSHOTS, Demo, create_meeting, host_command, new_page, screenshot
from tests.e2e.deck import deck_pages, section_statements
from tests.e2e.test_lanes_and_hints import SHOW_ANALYSIS, settle, statement_ids
from tests.e2e.test_voting_card import participant_votes
from tests.support.servers import ServerProcess

pytestmark = pytest.mark.browser

SIZES = {"1920x1080": {"width": 1920, "height": 1080}, "1280x720": {"width": 1280, "height": 720}}
PHONE_SMALL = {"width": 360, "height": 640}
THEMES = ("dark", "light")
STATEMENT_PX = 36
LABEL_PX = 28
CONTRAST = 7.0
STATEMENTS = ".lane-text, .deck-text"
"""Statement text on the projector: live lanes and the results deck."""
MEASURE = (Path(__file__).parent / "legibility.js").read_text(encoding="utf-8")
REPORT = SCREENSHOTS.parent / "projector-legibility.json"

ACCEPTABLE = [
    "夜市周邊應該增設有人管理的機車停車區。",
    "應該設置行人專用時相的紅綠燈。",
    "夜市結束後的清潔應由市府統一負責，攤商按攤位面積分攤費用。",
    "應該增加公車班次，並在夜市入口設置臨時候車亭，減少開車到夜市的人。",
    "攤商應該自行負責攤位前的人行空間淨空。",
    "夜間噪音管制應該更嚴格執行，尤其是凌晨十二點以後。",
    ("住戶、攤商與市府應該每季召開一次協調會，公開討論交通、清潔與噪音的問題，會議紀錄上網公開，"
     "讓沒有出席的人也能知道決定了什麼、為什麼這樣決定，以及下一次會議要追蹤哪些事項，並且由市府指定專人負責回覆。"),
    "應該在夜市周邊設置清楚的指標，引導遊客走人行道。",
    "救護車與消防車的通道必須隨時保持暢通。",
]
DISPUTED = [
    "夜市營業時段應該全面禁止機車進入攤位街道。",
    "週末應該實施交通管制，平日維持現狀。",
    "住戶的車輛進出權利應該優先於夜市人潮。",
    "不應該為了夜市而限制一般道路通行。",
    "應該開放附近學校操場作為臨時停車場。",
]
NEEDS_VOTES = ["市府應該補助攤商改用統一規格的攤車。", "夜市應該提早一小時收攤。"]
TITLE = "夜市周邊交通與行人安全"
TOPIC = "如何讓夜市周邊的街道對行人、住戶和攤商都更安全、更方便？"
NEXT_QUESTION = "接下來誰負責哪一項改善？"
PARTICIPANTS = 30
GROUPS = {"A": (14, (-1.0, 0.3)), "B": (10, (1.1, 0.5)), "C": (6, (0.1, -1.1))}
PILES = {"A": [4, 3], "B": [2], "C": [2]}
"""People who voted exactly alike sit on one spot: these piles get a "×n" count beside them."""


def analysis_payload(ids: dict[str, int]) -> dict[str, Any]:
    """A map message (docs/protocol.md) with three groups, piles of alike voters, and the lanes above."""
    rng = random.Random(22)
    participants: list[int] = []
    xs: list[float] = []
    ys: list[float] = []
    group_of: list[int] = []
    pid = 0
    for index, (gid, (size, (cx, cy))) in enumerate(GROUPS.items()):
        spots = [(cx + rng.uniform(-0.35, 0.35), cy + rng.uniform(-0.3, 0.3)) for _ in range(size)]
        at = 0
        for pile in PILES[gid]:
            for k in range(1, pile):
                spots[at + k] = spots[at]
            at += pile
        for x, y in spots:
            participants.append(pid)
            xs.append(round(x, 4))
            ys.append(round(y, 4))
            group_of.append(index)
            pid += 1

    def rep(text: str, direction: str, count: int, seen: int) -> dict[str, Any]:
        return {"statement": ids[text], "direction": direction, "count": count, "seen": seen, "share": count / seen}

    groups = [
        {"id": "A", "size": 14, "representative": [
            rep(DISPUTED[0], "agree", 12, 14), rep(DISPUTED[2], "disagree", 11, 13),
            rep(ACCEPTABLE[1], "agree", 13, 14)]},
        {"id": "B", "size": 10, "representative": [
            rep(DISPUTED[3], "agree", 9, 10), rep(DISPUTED[0], "disagree", 8, 10)]},
        {"id": "C", "size": 6, "representative": [
            rep(DISPUTED[4], "agree", 5, 6), rep(DISPUTED[1], "disagree", 4, 6)]},
    ]
    return {
        "type": "analysis", "run": 1, "groups": groups,
        "points": {"participants": participants, "x": xs, "y": ys, "group": group_of},
        "lanes": {"acceptable": [ids[s] for s in ACCEPTABLE], "disputed": [ids[s] for s in DISPUTED],
                  "needs_votes": [ids[s] for s in NEEDS_VOTES]},
        "acceptable_to_all": [acceptable_entry(ids[s], i) for i, s in enumerate(ACCEPTABLE)],
        "counts": {"participants": PARTICIPANTS, "clustered": PARTICIPANTS},
    }


def acceptable_entry(statement: int, i: int) -> dict[str, Any]:
    """As the server sends it: 28 - i of 30 on the map accept, per group A (14), B (10), C (6), with the
    votes against counted (none for the first: its figure ends in 無人反對, the longest figures after)."""
    missing = 2 + i
    shares = {"A": (14, (missing + 2) // 3), "B": (10, (missing + 1) // 3), "C": (6, missing // 3)}
    counts = {g: {"accepted": seen - m, "seen": seen, "disagree": 0 if i == 0 else m}
              for g, (seen, m) in shares.items()}
    return {"statement": statement, "accepted": 28 - i, "seen": 30,
            "disagree": sum(c["disagree"] for c in counts.values()), "group_counts": counts}


SCREEN = {"lobby": "join", "collecting": "live", "voting": "live", "reviewing": "results", "closed": "closed"}


def move(base: str, created: dict[str, Any], *phases: str) -> None:
    """The host moves the meeting through ``phases``, in order."""
    for phase in phases:
        reply = host_command(base, created["code"], created["host_key"], {"type": "phase", "phase": phase})
        assert reply["type"] == "ack", reply


class Room:
    """One meeting and a projector per screen size, all on the same meeting."""

    def __init__(self, browser: Any, base: str) -> None:
        self.base = base
        # an agenda of two questions: the head reads "問題 1／2：<topic>", measured like the rest
        self.created = create_meeting(base, title=TITLE, topic=TOPIC, ask_nickname=False, questions=[NEXT_QUESTION],
                                      seeds=[*ACCEPTABLE, *DISPUTED, *NEEDS_VOTES])
        self.code = self.created["code"]
        self.pages = {}
        for name, viewport in SIZES.items():
            page = new_page(browser, viewport)
            page.goto(f"{base}/projector/{self.code}")
            expect(page.locator("#conn")).to_have_attribute("data-state", "online")
            self.pages[name] = page
        self.analysis: dict[str, Any] | None = None
        # a time box runs through every screen measured: its countdown is projector text like any other
        reply = host_command(base, self.code, self.created["host_key"], {"type": "timer_start", "seconds": 4 * 3600})
        assert reply["type"] == "ack", reply
        for page in self.pages.values():
            expect(page.locator("#timer")).to_be_visible()

    def phase(self, phase: str) -> None:
        move(self.base, self.created, phase)
        for page in self.pages.values():
            page.wait_for_function("(p) => document.querySelector('#phase').textContent !== '' &&"
                                   " document.body.dataset.screen === p", arg=SCREEN[phase])

    def set_theme(self, theme: str) -> None:
        """The host switches the projector's theme (the ``settings`` command); every projector follows."""
        reply = host_command(self.base, self.code, self.created["host_key"],
                             {"type": "settings", "changes": {"projector_theme": theme}})
        assert reply["type"] == "ack", reply
        for page in self.pages.values():
            expect(page.locator("body")).to_have_attribute("data-theme", theme)

    def show_analysis(self) -> None:
        self.analysis = analysis_payload(statement_ids(self.base, self.code))
        for page in self.pages.values():
            page.evaluate(SHOW_ANALYSIS, self.analysis)


def measure(page: Any) -> dict[str, Any]:
    settle(page)
    page.wait_for_timeout(1300)  # the map's dots and labels slide for 1.2 s
    result: dict[str, Any] = page.evaluate(MEASURE, STATEMENTS)
    return result


def figures(texts: list[dict[str, Any]]) -> dict[str, Any]:
    """A screen's figures for the report: how many texts, the smallest statement and label, the lowest contrast."""
    statements = [t for t in texts if t["statement"]]
    labels = [t for t in texts if not t["statement"]]
    return {
        "texts": len(texts),
        "smallest_statement_px": min((t["size"] for t in statements), default=None),
        "smallest_label_px": min((t["size"] for t in labels), default=None),
        "lowest_contrast": min(t["contrast"] for t in texts),
        "lowest_contrast_text": min(texts, key=lambda t: t["contrast"])["where"],
    }


def record(where: str, entry: dict[str, Any]) -> None:
    """Merge one screen's figures into artifacts/projector-legibility.json (other modules' screens too)."""
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    previous = json.loads(REPORT.read_text()) if REPORT.exists() else {}
    REPORT.write_text(json.dumps({**previous, where: entry}, ensure_ascii=False, indent=1) + "\n")


def check(page: Any, where: str, report: dict[str, Any]) -> dict[str, Any]:
    """Assert the back-row rules on what the page shows now; record its smallest size and contrast."""
    found = measure(page)
    texts = found["texts"]
    assert texts, f"{where}: no text measured"
    small = [t for t in texts if t["size"] < (STATEMENT_PX if t["statement"] else LABEL_PX) - 0.01]
    faint = [t for t in texts if t["contrast"] < CONTRAST]
    cut = [t for t in texts if t["cut"]]
    assert not small, f"{where}: too small: " + "; ".join(
        f"{t['where']} {t['text']!r} {t['size']}px" for t in small[:8])
    assert not faint, f"{where}: low contrast: " + "; ".join(
        f"{t['where']} {t['text']!r} {t['contrast']}:1" for t in faint[:8])
    assert not cut, f"{where}: cut off: " + "; ".join(f"{t['where']} {t['text']!r}" for t in cut[:8])
    assert found["overlaps"] == [], f"{where}: overlapping: {found['overlaps'][:8]}"
    # a lane too low for its first statement at three lines clips it shorter (map.js fitLane), "…" mid-sentence
    clipped = page.evaluate("""() => Array.from(document.querySelectorAll('.lane'))
      .filter((e) => e.getClientRects().length && e.style.getPropertyValue('--lane-lines') !== ''
        && e.style.getPropertyValue('--lane-lines') !== '3').map((e) => e.id || e.className)""")
    assert clipped == [], f"{where}: a lane shows its statements cut to fewer than three lines: {clipped}"
    report[where] = figures(texts)
    return found


@pytest.fixture(scope="module")
def lan_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server whose join links name a venue LAN address, as a real meeting's do (it binds loopback)."""
    tmp = tmp_path_factory.mktemp("projector-legibility")
    env = {"FACILITATION_ANALYSIS": "0", "FACILITATION_PUBLIC_URL": "http://192.168.100.200:8000"}
    process = ServerProcess(f"sqlite:///{tmp / 'legibility.db'}", env=env).start()
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture(scope="module")
def report() -> Iterator[dict[str, Any]]:
    measured: dict[str, Any] = {}
    yield measured
    if measured:
        REPORT.parent.mkdir(parents=True, exist_ok=True)
        previous = json.loads(REPORT.read_text()) if REPORT.exists() else {}
        REPORT.write_text(json.dumps({**previous, **measured}, ensure_ascii=False, indent=1) + "\n")


def test_every_phase_is_legible_from_the_back_row(browser: Any, lan_server: ServerProcess,
                                                   report: dict[str, Any]) -> None:
    """Lobby, collecting, voting, reviewing (every page of the deck) and closed, dark and light, at
    1920x1080 and 1280x720: sizes, contrast, no overlaps, nothing cut; reviewing pages through every
    acceptable statement with "第 i/n 頁"."""
    base = lan_server.url
    room = Room(browser, base)

    def every_screen(phase: str) -> None:
        for theme in THEMES:
            room.set_theme(theme)
            for size, page in room.pages.items():
                where = f"{phase} {theme} {size}"
                check(page, where, report)
                screenshot(page, f"projector-{phase}-{theme}-{size}")

    every_screen("lobby")
    for _ in range(PARTICIPANTS):
        participant_votes(base, room.code, {})
    room.phase("collecting")
    ids = statement_ids(base, room.code)
    for n, text in enumerate(ACCEPTABLE[:6]):
        participant_votes(base, room.code, {ids[text]: "agree", ids[DISPUTED[n % 5]]: "disagree"})
    room.show_analysis()
    every_screen("collecting")
    room.phase("voting")
    every_screen("voting")

    room.phase("reviewing")
    acceptable = {str(ids[s]) for s in ACCEPTABLE}
    for theme in THEMES:
        room.set_theme(theme)
        for size, page in room.pages.items():
            pages = deck_pages(page)
            shown = section_statements(pages, "acceptable")
            assert sorted(shown) == sorted(acceptable), f"{size} {theme}: {shown} shown, not {sorted(acceptable)}"
            sections = [p["section"] for p in pages]
            assert sections[0] == "acceptable", sections
            acceptable_pages = [p for p in pages if p["section"] == "acceptable"]
            if len(acceptable_pages) > 1:
                for i, entry in enumerate(acceptable_pages):
                    assert entry["page_no"] == [f"第 {i + 1}/{len(acceptable_pages)} 頁"], entry
            # every page of the deck, measured
            for step in range(len(pages)):
                where = f"reviewing {theme} {size} page {step + 1}/{len(pages)} ({pages[step]['section']})"
                check(page, where, report)
                screenshot(page, f"projector-reviewing-{theme}-{size}-{step + 1}")
                page.keyboard.press("PageDown")
    room.phase("closed")
    every_screen("closed")
    for page in room.pages.values():
        assert page.errors == []


def test_the_loopback_warning_is_legible_too(browser: Any, plain_demo: Demo, report: dict[str, Any]) -> None:
    """A join address phones cannot open (127.0.0.1) adds a warning beside it on the join slide and the
    live screen: it too meets the sizes and contrast, overlaps nothing and is not cut."""
    base = plain_demo.server.url
    created = create_meeting(base, title=TITLE, topic=TOPIC, ask_nickname=False, seeds=[*ACCEPTABLE, *DISPUTED])
    for size, viewport in SIZES.items():
        page = new_page(browser, viewport)
        page.goto(f"{base}/projector/{created['code']}")
        expect(page.locator("#slide-warning")).to_be_visible()
        check(page, f"lobby loopback {size}", report)
        screenshot(page, f"projector-lobby-loopback-{size}")
        page.close()
    move(base, created, "collecting")
    for size, viewport in SIZES.items():
        page = new_page(browser, viewport)
        page.goto(f"{base}/projector/{created['code']}")
        expect(page.locator("#join-warning")).to_be_visible()
        check(page, f"collecting loopback {size}", report)
        screenshot(page, f"projector-collecting-loopback-{size}")
        assert page.errors == []


def test_the_host_switches_the_theme_from_the_console_and_the_projector_follows(
        browser: Any, lan_server: ServerProcess) -> None:
    """A meeting created light opens light; the console's 深色 / 淺色 switch changes the open projector at
    once, the console shows the choice and logs it; a projector opened later starts in the chosen theme."""
    base = lan_server.url
    created = create_meeting(base, title=TITLE, ask_nickname=False, projector_theme="light")
    projector = new_page(browser, SIZES["1280x720"])
    projector.goto(f"{base}/projector/{created['code']}")
    expect(projector.locator("#conn")).to_have_attribute("data-state", "online")
    expect(projector.locator("body")).to_have_attribute("data-theme", "light")
    host = new_page(browser, DESKTOP)
    host.goto(f"{base}/host/{created['code']}#key={created['host_key']}")
    expect(host.locator("#conn")).to_have_attribute("data-state", "online")
    expect(host.locator("#theme-light")).to_be_checked()
    host.check("#theme-dark")
    expect(projector.locator("body")).to_have_attribute("data-theme", "dark")
    expect(host.locator("#log")).to_contain_text("投影畫面改用深色")
    background = projector.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(13, 13, 15)", background
    host.check("#theme-light")
    expect(projector.locator("body")).to_have_attribute("data-theme", "light")
    assert projector.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(255, 255, 255)"
    later = new_page(browser, SIZES["1280x720"])
    later.goto(f"{base}/projector/{created['code']}")
    expect(later.locator("#conn")).to_have_attribute("data-state", "online")
    expect(later.locator("body")).to_have_attribute("data-theme", "light")
    screenshot(host, "projector-theme-console")
    assert host.errors == [] and projector.errors == [] and later.errors == []


def test_a_phone_opening_the_projector_does_not_break(browser: Any, plain_demo: Demo) -> None:
    """At 360x640 every phase stays inside the screen's width and no text overlaps another."""
    base = plain_demo.server.url
    created = create_meeting(base, title=TITLE, topic=TOPIC, ask_nickname=False, seeds=[*ACCEPTABLE, *DISPUTED])
    page = new_page(browser, PHONE_SMALL)
    page.goto(f"{base}/projector/{created['code']}")
    expect(page.locator("#conn")).to_have_attribute("data-state", "online")
    ids = statement_ids(base, created["code"])
    for phase in ("lobby", "collecting", "voting", "reviewing", "closed"):
        if phase != "lobby":
            move(base, created, phase)
            page.wait_for_function("(p) => document.body.dataset.screen === p", arg=SCREEN[phase])
        if phase == "collecting":
            page.evaluate(SHOW_ANALYSIS, analysis_payload({**ids, **{s: 0 for s in NEEDS_VOTES}}))
        found = measure(page)
        assert found["overflow"]["width"] <= found["overflow"]["viewport"], (phase, found["overflow"])
        assert found["overlaps"] == [], (phase, found["overlaps"][:8])
        screenshot(page, f"projector-{phase}-phone-360x640", full_page=True)
    assert page.errors == []


def test_a_statement_longer_than_a_page_is_clamped_on_its_own(browser: Any, lan_server: ServerProcess,
                                                              report: dict[str, Any]) -> None:
    """A 1,000-character statement (the longest a meeting allows) takes a page of its own in the results
    deck, its lines whole up to the page's end; the statements around it keep their pages."""
    base = lan_server.url
    long = ("河濱公園的步道應該在夜間維持足夠照明，並且設置清楚的指標與緊急求助設施，讓大家安心使用。" * 30)[:1000]
    created = create_meeting(base, ask_nickname=False, max_statement_chars=1000,
                             seeds=[ACCEPTABLE[0], long, ACCEPTABLE[1]])
    ids = statement_ids(base, created["code"])
    page = new_page(browser, SIZES["1280x720"])
    page.goto(f"{base}/projector/{created['code']}")
    expect(page.locator("#conn")).to_have_attribute("data-state", "online")
    page.evaluate(SHOW_ANALYSIS, {
        "groups": [], "lanes": {str(i): "acceptable" for i in ids.values()},
        "acceptable_to_all": [{"statement": i, "accepted": 5, "seen": 5} for i in ids.values()]})
    move(base, created, "collecting", "voting", "reviewing")
    page.wait_for_function("() => document.body.dataset.screen === 'results'")
    pages = deck_pages(page)
    expected = [[str(ids[ACCEPTABLE[0]])], [str(ids[long])], [str(ids[ACCEPTABLE[1]])]]
    assert [p["statements"] for p in pages if p["section"] == "acceptable"] == expected, pages
    page.keyboard.press("PageDown")
    shown = page.locator(".deck-page:not([hidden]) .deck-text")
    assert shown.evaluate("(e) => e.scrollHeight > e.clientHeight")  # clamped
    check(page, "reviewing 1280x720 a 1,000-character statement", report)
    screenshot(page, "projector-reviewing-long-statement-1280x720")
    assert page.errors == []


def test_statements_carry_their_number_from_one(browser: Any, plain_demo: Demo) -> None:
    """The projector numbers statements as phones, console and exports do: id + 1 ("#1" is id 0)."""
    base = plain_demo.server.url
    created = create_meeting(base, ask_nickname=False, seeds=ACCEPTABLE[:3])
    move(base, created, "collecting")
    page = new_page(browser, SIZES["1920x1080"])
    page.goto(f"{base}/projector/{created['code']}")
    ids = statement_ids(base, created["code"])
    for text, sid in ids.items():
        item = page.locator(f"#lane-needs_votes li[data-statement='{sid}']")
        expect(item.locator(".lane-no")).to_have_text(f"#{sid + 1}")
        expect(item.locator(".lane-text")).to_have_text(text)
    assert re.search(r"#1\b", page.locator("#lanes").inner_text())
    assert page.errors == []


def test_a_group_label_covers_no_dot(browser: Any, plain_demo: Demo) -> None:
    """Dots of another group just above and below a group's middle member: its label goes where it covers
    no dot (placed clear of other labels only, it hid one), at both sizes."""
    base = plain_demo.server.url
    created = create_meeting(base, ask_nickname=False, seeds=ACCEPTABLE[:3])
    move(base, created, "collecting")
    spots = {  # group 0: a row of six; group 1: one dot just above and one just below its middle, six far right
        0: [(-0.3 + 0.12 * i, 0.0) for i in range(6)],
        1: [(0.0, 0.2), (0.0, -0.2), *[(3.0 + 0.15 * i, 0.5 - 0.2 * i) for i in range(6)]],
    }
    points: dict[str, list[Any]] = {"participants": [], "x": [], "y": [], "group": []}
    for group, where in spots.items():
        for x, y in where:
            points["participants"].append(len(points["participants"]))
            points["x"].append(x)
            points["y"].append(y)
            points["group"].append(group)
    payload = {"type": "analysis", "run": 1, "points": points, "lanes": {},
               "groups": [{"id": "A", "size": 6, "representative": []}, {"id": "B", "size": 8, "representative": []}],
               "counts": {"participants": 14, "clustered": 14}}
    for size, viewport in SIZES.items():
        page = new_page(browser, viewport)
        page.goto(f"{base}/projector/{created['code']}")
        expect(page.locator("body")).to_have_attribute("data-screen", "live")
        page.evaluate(SHOW_ANALYSIS, payload)
        expect(page.locator("#map .group-label")).to_have_count(2)
        found = measure(page)
        assert found["overlaps"] == [], (size, found["overlaps"])
        screenshot(page, f"projector-label-clear-of-dots-{size}")
        assert page.errors == []


LINE_BREAKS = """(node) => {
  // the text's index where each new line starts, from each character's box
  const starts = [];
  let text = "";
  let top = null;
  const walker = document.createTreeWalker(node, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    for (let i = 0; i < n.data.length; i += 1) {
      const range = document.createRange();
      range.setStart(n, i);
      range.setEnd(n, i + 1);
      const rect = range.getBoundingClientRect();
      if (top !== null && rect.top > top + 2) starts.push(text.length);
      top = rect.top;
      text += n.data[i];
    }
  }
  return {text, starts};
}"""


def test_the_join_address_breaks_only_between_its_parts(browser: Any, lan_server: ServerProcess) -> None:
    """In the narrow column beside the results (1280x720) and on the closing screen, the address wraps after
    "/" or "." or before ":", never inside a number or the code."""
    base = lan_server.url
    created = create_meeting(base, ask_nickname=False, seeds=ACCEPTABLE[:3])
    page = new_page(browser, SIZES["1280x720"])
    page.goto(f"{base}/projector/{created['code']}")
    expect(page.locator("#conn")).to_have_attribute("data-state", "online")
    move(base, created, "collecting", "voting", "reviewing")
    for screen, selector in (("results", "#join-url"), ("closed", "#closing-url")):
        if screen == "closed":
            move(base, created, "closed")
        page.wait_for_function("(s) => document.body.dataset.screen === s", arg=screen)
        found = page.locator(selector).evaluate(LINE_BREAKS)
        assert found["text"] == f"192.168.100.200:8000/m/{created['code']}", found
        assert found["starts"], f"{screen}: expected the address to wrap in its column: {found}"
        for at in found["starts"]:
            text = found["text"]
            assert text[at - 1] in "/." or text[at] == ":", f"{screen}: breaks inside: {text[:at]!r} {text[at:]!r}"
    assert page.errors == []


def test_the_closing_screen_keeps_the_results_and_says_where_the_summary_is(
        browser: Any, lan_server: ServerProcess) -> None:
    """Closed: the results deck stays (what every group accepts, first) beside the thanks, the line saying the
    results and the summary are published at the address, its QR code and the meeting's code; a time box
    still running shows no clock."""
    base = lan_server.url
    created = create_meeting(base, ask_nickname=False, seeds=ACCEPTABLE[:3])
    ids = statement_ids(base, created["code"])
    page = new_page(browser, SIZES["1280x720"])
    page.goto(f"{base}/projector/{created['code']}")
    expect(page.locator("#conn")).to_have_attribute("data-state", "online")
    page.evaluate(SHOW_ANALYSIS, {
        "groups": [], "lanes": {str(i): "acceptable" for i in ids.values()},
        "acceptable_to_all": [{"statement": i, "accepted": 5, "seen": 5} for i in ids.values()]})
    move(base, created, "collecting", "voting", "reviewing")
    reply = host_command(base, created["code"], created["host_key"], {"type": "timer_start", "seconds": 600})
    assert reply["type"] == "ack", reply
    expect(page.locator("#timer")).to_be_visible()
    move(base, created, "closed")
    page.wait_for_function("() => document.body.dataset.screen === 'closed'")
    expect(page.locator("#timer")).to_be_hidden()  # a clock counting down after the meeting ended misleads
    expect(page.locator(".deck-page:not([hidden])")).to_have_attribute("data-section", "acceptable")
    for text in ACCEPTABLE[:3]:
        expect(page.locator(".deck-page:not([hidden]) .deck-text", has_text=text)).to_be_visible()
    expect(page.locator("#closing-h")).to_have_text("謝謝大家的參與！")
    expect(page.locator(".closing-where")).to_have_text("討論結果與會議摘要會公布在這裡，掃描或輸入網址就能看：")
    expect(page.locator("#closing-url")).to_have_text(f"192.168.100.200:8000/m/{created['code']}")
    expect(page.locator("#closing-qr")).to_be_visible()
    assert page.errors == []
