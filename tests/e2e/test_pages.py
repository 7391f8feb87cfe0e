"""Page behaviours in Chromium: untrusted text stays text, offline votes are queued and sent once, input
methods never submit early, the phone layout holds at 360 px and 200% zoom, the host key stays private,
and the pages degrade gracefully without live analysis."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import (
    DESKTOP,
    PHONE,
    PROJECTOR,
    Demo,
    counters,
    create_meeting,
    host_command,
    new_page,
    screenshot,
    start_collecting,
)
from tests.support.servers import scaled

pytestmark = pytest.mark.browser

ATTACK_IMG = '<img src=x onerror="window.__pwned=1;alert(1)">'
ATTACK_SCRIPT = "<script>window.__pwned=1;alert(1)</script>"
ATTACK_NICK = "<img src=x onerror=alert(1)>"  # nicknames have at most 40 characters


def wait_for(predicate: Any, seconds: float = 10.0) -> None:
    """Poll a server-side condition (the page side uses Playwright's expect)."""
    import time

    deadline = time.monotonic() + scaled(seconds)
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def open_phone(browser: Any, base: str, code: str, nickname: str = "") -> Any:
    phone = new_page(browser, PHONE)
    phone.goto(f"{base}/m/{code}")
    expect(phone.locator("#title")).not_to_be_empty()
    if phone.locator("#join").is_visible():
        phone.fill("#nickname", nickname)
        phone.click("#join-form button[type=submit]")
    expect(phone.locator("#conn")).to_have_attribute("data-state", "online")
    return phone


def assert_untouched(page: Any) -> None:
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert page.errors == [], page.errors
    assert page.locator("main img:not(#qr):not(.qr-img), .stage img:not(#qr):not(.qr-img)").count() == 0


def test_injected_markup_renders_as_text(browser: Any, demo: Demo) -> None:
    """Markup in a title, a nickname and a statement shows as literal text on all pages, never runs."""
    base = demo.server.url
    created = create_meeting(base, title=f"會議 {ATTACK_IMG}", topic=ATTACK_SCRIPT, moderation="pre")
    start_collecting(base, created)
    code = created["code"]
    host = new_page(browser, DESKTOP)
    host.goto(f"{base}/host/{code}#key={created['host_key']}")
    projector = new_page(browser, PROJECTOR)
    projector.goto(f"{base}/projector/{code}")
    phone = open_phone(browser, base, code, nickname=ATTACK_NICK)
    statement = f"{ATTACK_SCRIPT}{ATTACK_IMG} 危險"
    phone.fill("#write-text", statement)
    phone.click("#write-submit")
    expect(host.locator("#queue li")).to_contain_text(statement)
    host.click("#queue li button.accept")
    expect(projector.locator(".lanes")).to_contain_text(statement)
    expect(phone.locator("#my-statements")).to_contain_text(statement)
    expect(phone.locator("#me")).to_contain_text(ATTACK_NICK)
    for page in (host, projector, phone):
        expect(page.locator("#title")).to_contain_text(ATTACK_IMG)
        assert_untouched(page)


def test_offline_votes_are_queued_and_sent_exactly_once(browser: Any, demo: Demo) -> None:
    """Votes cast offline wait in localStorage, are sent on reconnect, and a replayed queue is not doubled."""
    base = demo.server.url
    created = create_meeting(base, ask_nickname=False, seeds=["一", "二", "三"])
    start_collecting(base, created)
    code = created["code"]
    phone = open_phone(browser, base, code)
    phone.context.set_offline(True)
    expect(phone.locator("#conn")).not_to_have_attribute("data-state", "online")
    phone.click("#vote-buttons [data-value=agree]")
    phone.click("#vote-buttons [data-value=disagree]")
    expect(phone.locator("#queued")).to_be_visible()
    queue = phone.evaluate(f"localStorage.getItem('facilitation.queue.{code}')")
    assert [entry["type"] for entry in json.loads(queue)] == ["vote", "vote"]
    assert counters(base, code)["votes"] == 0
    screenshot(phone, "participant-offline", full_page=True)

    phone.context.set_offline(False)
    expect(phone.locator("#conn")).to_have_attribute("data-state", "online", timeout=scaled(20) * 1000)
    wait_for(lambda: counters(base, code)["votes"] == 2)
    expect(phone.locator("#queued")).to_be_hidden()
    # The server counts a vote once it is durable, a moment before its ack reaches the phone, which then
    # empties the stored queue: wait for the acks (the page hides the notice once it is online again).
    wait_for(lambda: json.loads(phone.evaluate(f"localStorage.getItem('facilitation.queue.{code}')")) == [])

    # A phone that resends the same ops (say it never saw the acks) must not double anything.
    phone.evaluate(f"localStorage.setItem('facilitation.queue.{code}', {json.dumps(queue)})")
    phone.reload()
    expect(phone.locator("#conn")).to_have_attribute("data-state", "online")
    wait_for(lambda: phone.evaluate(f"localStorage.getItem('facilitation.queue.{code}')") == "[]")
    assert counters(base, code)["votes"] == 2
    expect(phone.locator("#voted li")).to_have_count(2)
    assert phone.errors == []


def test_enter_while_composing_never_submits(browser: Any, demo: Demo) -> None:
    """Enter that confirms a Zhuyin/Cangjie/pinyin composition does not post; a plain Enter does."""
    base = demo.server.url
    created = create_meeting(base, ask_nickname=False)
    start_collecting(base, created)
    phone = open_phone(browser, base, created["code"])
    phone.fill("#write-text", "應該增設自行車道")
    phone.evaluate("""() => {
        const area = document.querySelector('#write-text');
        const enter = (init) => area.dispatchEvent(new KeyboardEvent('keydown',
            {key: 'Enter', bubbles: true, cancelable: true, ...init}));
        enter({isComposing: true});
        area.dispatchEvent(new CompositionEvent('compositionstart', {bubbles: true}));
        enter({keyCode: 229});
        enter({});
    }""")
    phone.wait_for_timeout(500)
    assert counters(base, created["code"])["statements"] == 2
    expect(phone.locator("#my-statements li")).to_have_count(0)
    phone.evaluate("document.querySelector('#write-text').dispatchEvent(new CompositionEvent('compositionend'))")
    phone.wait_for_timeout(50)
    phone.press("#write-text", "Enter")
    expect(phone.locator("#my-statements li")).to_have_count(1)
    assert counters(base, created["code"])["statements"] == 3


def test_phone_layout_at_360px_and_200_percent_zoom(browser: Any, demo: Demo) -> None:
    """No sideways scrolling at 360 px nor at 200% zoom (180 CSS px); every button is at least 44 px."""
    for width, height in ((360, 740), (180, 370)):
        phone = new_page(browser, {"width": width, "height": height})
        phone.goto(demo.join)
        phone.click("#join-form button[type=submit]")
        expect(phone.locator("#conn")).to_have_attribute("data-state", "online")
        phone.click("#vote-buttons [data-value=pass]")
        expect(phone.locator("#voted li")).to_have_count(1)
        assert phone.evaluate("document.documentElement.scrollWidth") <= width
        # Each box carries its button's id and words, so a failure names the button (one CI run failed here
        # once without saying which).
        for box in phone.locator("button:visible").evaluate_all(
            "els => els.map(e => { const r = e.getBoundingClientRect();"
            " return [r.width, r.height, e.id, e.textContent.trim().slice(0, 40)]; })"
        ):
            assert box[0] >= 44 and box[1] >= 44, box
        if width == 180:
            screenshot(phone, "participant-zoom-200", full_page=True)


def test_host_key_stays_in_the_console(browser: Any, demo: Demo) -> None:
    """The key leaves the host URL at once, and no participant or projector page ever holds it."""
    base = demo.server.url
    created = create_meeting(base)
    code, key = created["code"], created["host_key"]
    host = new_page(browser, DESKTOP)
    host.goto(f"{base}/host/{code}#key={key}")
    expect(host.locator("#conn")).to_have_attribute("data-state", "online")
    assert host.evaluate("location.hash") == ""
    assert host.evaluate(f"localStorage.getItem('facilitation.host.{code}')") == key
    projector = new_page(browser, PROJECTOR)
    projector.goto(f"{base}/projector/{code}")
    phone = open_phone(browser, base, code)
    for page in (projector, phone):
        expect(page.locator("#conn")).to_have_attribute("data-state", "online")
        assert key not in page.content()
        assert key not in page.evaluate("JSON.stringify(localStorage) + location.href")
    host.goto(f"{base}/host/{code}")  # a reload without the fragment still works from localStorage
    expect(host.locator("#conn")).to_have_attribute("data-state", "online")


def test_wrong_host_key_asks_for_the_key(browser: Any, demo: Demo) -> None:
    """A wrong key is refused: the console says so and offers the key form instead of retrying forever."""
    base = demo.server.url
    created = create_meeting(base)
    host = new_page(browser, DESKTOP)
    host.goto(f"{base}/host/{created['code']}#key=not-the-key")
    expect(host.locator("#key-section")).to_be_visible()
    expect(host.locator("#fatal")).to_be_visible()
    host.fill("#key-input", created["host_key"])
    host.click("#key-form button[type=submit]")
    expect(host.locator("#conn")).to_have_attribute("data-state", "online")


def test_results_on_the_phone_when_the_host_shows_them(browser: Any, demo: Demo) -> None:
    """In the reviewing phase the phone shows the results panel and stops offering votes."""
    base = demo.server.url
    created = create_meeting(base, ask_nickname=False)
    start_collecting(base, created)
    phone = open_phone(browser, base, created["code"])
    phone.click("#vote-buttons [data-value=agree]")
    for phase in ("voting", "reviewing"):
        reply = host_command(base, created["code"], created["host_key"], {"type": "phase", "phase": phase})
        assert reply["type"] == "ack", reply
    expect(phone.locator("#results")).to_be_visible()
    expect(phone.locator("#vote")).to_be_hidden()
    expect(phone.locator("#phase-note")).to_be_visible()


def test_projector_without_analysis_lists_statements(browser: Any, plain_demo: Demo) -> None:
    """With live analysis off the projector says the map is coming and still lists every statement."""
    projector = new_page(browser, PROJECTOR)
    projector.goto(plain_demo.projector)
    expect(projector.locator("#conn")).to_have_attribute("data-state", "online")
    expect(projector.locator("#map-empty")).to_be_visible()
    expect(projector.locator("#lane-needs_votes li")).to_have_count(5)
    expect(projector.locator("#lane-acceptable-empty")).to_be_visible()
    assert projector.locator("#map .dot").count() == 0
    screenshot(projector, "projector-no-analysis")
    assert projector.errors == []


def test_host_exports_download_with_the_key_in_a_header(browser: Any, demo: Demo) -> None:
    """The export buttons download the file through fetch + blob, so the key never appears in a URL."""
    base = demo.server.url
    created = create_meeting(base)
    host = new_page(browser, DESKTOP, accept_downloads=True)
    requests: list[str] = []
    host.on("request", lambda request: requests.append(request.url))
    host.goto(f"{base}/host/{created['code']}#key={created['host_key']}")
    expect(host.locator("#conn")).to_have_attribute("data-state", "online")
    with host.expect_download() as download:
        host.click("#exports [data-format=json]")
    path = download.value.path()
    assert json.loads(Path(path).read_text("utf-8"))
    assert download.value.suggested_filename.endswith(".json")
    assert not any(created["host_key"] in url for url in requests)


LIBRARY_SHAPE: dict[str, Any] = {
    "groups": [
        {"id": "A", "size": 3, "members": ["0", "1", "2"],
         "representative": [{"statement": "0", "direction": "agree", "share": 0.9, "z": 3.1}]},
        {"id": "B", "size": 2, "members": ["3", "4"],
         "representative": [{"statement": "1", "direction": "disagree", "share": 0.8, "z": 2.5}]},
    ],
    "positions": {"0": [0.1, 0.2], "1": [0.2, 0.1], "2": [0.15, 0.25], "3": [-1.0, -0.9], "4": [-1.1, -1.0]},
    "lanes": {"0": "acceptable", "1": "disputed", "2": "needs_votes"},
    "acceptable_to_all": [{"statement": "0", "worst_share": 0.7}],
    "consensus": [{"statement": "0", "score": 0.8}],
}


def test_projector_renders_the_library_shape_too(browser: Any, plain_demo: Demo) -> None:
    """The map module also reads the clustering library's to_dict() shape: dots, labelled groups, lanes."""
    projector = new_page(browser, PROJECTOR)
    projector.goto(plain_demo.projector)
    expect(projector.locator("#conn")).to_have_attribute("data-state", "online")
    projector.evaluate("async (p) => (await import('/static/js/projector.js')).showAnalysis(p)", LIBRARY_SHAPE)
    expect(projector.locator("#map .dot")).to_have_count(5)
    expect(projector.locator("#map .group-label")).to_have_count(2)
    expect(projector.locator("#map .group-label").first).to_contain_text("3")
    expect(projector.locator("#lane-acceptable li")).to_have_count(1)
    expect(projector.locator("#lane-disputed li")).to_have_count(1)
    expect(projector.locator("#map-empty")).to_be_hidden()
    assert projector.errors == []


def test_map_counts_the_people_behind_one_dot(browser: Any, plain_demo: Demo) -> None:
    """People who voted alike share one spot: the map says how many ("×3") so its dots add up to the group
    sizes it labels, and drops the count once they move apart."""
    projector = new_page(browser, PROJECTOR)
    projector.goto(plain_demo.projector)
    expect(projector.locator("#conn")).to_have_attribute("data-state", "online")
    alike = {**LIBRARY_SHAPE, "positions": {**LIBRARY_SHAPE["positions"], "1": [0.1, 0.2], "2": [0.1, 0.2]}}
    show = "async (p) => (await import('/static/js/projector.js')).showAnalysis(p)"
    projector.evaluate(show, alike)
    expect(projector.locator("#map .dot")).to_have_count(5)
    expect(projector.locator("#map .stack")).to_have_count(1)
    expect(projector.locator("#map .stack")).to_have_text("×3")
    projector.evaluate(show, LIBRARY_SHAPE)
    expect(projector.locator("#map .stack")).to_have_count(0)
    assert projector.errors == []


PHONE_PAGE_BUDGET = 48_000
"""Bytes of static files (scripts, styles, strings, icon) a phone downloads to join, gzipped. A crowded venue
shares one access point among hundreds of phones: 48 KB is about one second on a poor 3G link (400 kbit/s).
It was 40 KB while a phone had only voting and posting; the meeting features since (privacy notice, my data,
timers, spotlight, consent checks, publication) brought it to 49 KB, of which only one language's strings are
fetched now (41 KB, 2026-12-06), and 47.8 KB again later that day. Then the phone got its own catalog (the
strings its page can show, not the console's and projector's: 4.6 KB instead of 9.5 KB) and my data,
publication and the countdown load when used: 39.3 KB in 18 files instead of 47.8 KB in 21 (2026-12-06).
A feature a phone rarely needs should load on demand instead of raising this."""

ON_DEMAND = ("/static/js/mydata.js", "/static/js/publishing.js", "/static/js/countdown.js",
             "/static/i18n/zh-TW.json", "/static/i18n/en.json")
"""Not fetched to join: modules a phone loads when it first needs them, and the full catalogs."""


def test_a_phone_downloads_the_page_compressed(browser: Any, plain_demo: Demo) -> None:
    phone = new_page(browser, PHONE)
    sizes: dict[str, int] = {}
    encodings: dict[str, str] = {}

    def seen(response: Any) -> None:
        if "/static/" in response.url:
            headers = response.headers
            sizes[response.url] = int(headers.get("content-length", "0"))
            encodings[response.url] = headers.get("content-encoding", "")

    phone.on("response", seen)
    phone.goto(plain_demo.join)
    expect(phone.locator("#join")).to_be_visible()
    phone.wait_for_load_state("networkidle")
    scripts = [url for url in sizes if url.endswith((".js", ".css", ".json"))]
    assert len(scripts) >= 8, sizes  # the page's modules, styles and strings were all fetched
    assert all(encodings[url] == "gzip" for url in scripts), encodings
    assert 0 < sum(sizes.values()) <= PHONE_PAGE_BUDGET, sizes
    assert any(url.endswith("/static/i18n/phone/zh-TW.json") for url in sizes), sizes
    assert not [url for url in sizes if url.endswith(ON_DEMAND)], sizes
    print(f"\nphone page static bytes: {sum(sizes.values()):,} in {len(sizes)} files")


def test_my_data_loads_when_asked_and_again_after_a_failed_download(browser: Any, demo: Demo) -> None:
    """mydata.js is not part of the join: the first press on the panel fetches it. A download that fails
    (the venue's Wi-Fi drops it) says so, and the next press fetches it again instead of staying broken."""
    base = demo.server.url
    created = create_meeting(base, ask_nickname=False)
    start_collecting(base, created)
    phone = new_page(browser, PHONE)
    fetched: list[str] = []
    phone.on("request", lambda request: fetched.append(request.url) if "/mydata.js" in request.url else None)
    dropped: list[str] = []

    def drop_once(route: Any) -> None:
        if dropped:
            route.continue_()
        else:
            dropped.append(route.request.url)
            route.abort()

    phone.route("**/static/js/mydata.js", drop_once)
    phone.goto(f"{base}/m/{created['code']}")
    expect(phone.locator("#conn")).to_have_attribute("data-state", "online")
    expect(phone.locator("#my-data")).to_be_visible()
    assert fetched == []
    phone.click("#my-data-show")
    expect(phone.locator("#my-data-status")).to_have_text("無法讀取你的資料，請稍後再試。")
    assert len(dropped) == 1
    phone.click("#my-data-show")
    expect(phone.locator("#my-data-content")).to_be_visible()
    expect(phone.locator("#my-data-profile li")).to_have_count(4)
    assert phone.errors == []
