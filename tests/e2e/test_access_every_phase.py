"""axe-core finds nothing serious on any page in any phase of a meeting, in either language; the
accessibility statement is published and reachable; the map has its table on every screen that draws it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import DESKTOP, PHONE, PROJECTOR, Demo, create_meeting, host_command, new_page
from tests.e2e.test_accessibility import serious_violations

pytestmark = pytest.mark.browser

STATIC = Path(__file__).resolve().parents[2] / "static"
CATALOGS = {lang: json.loads((STATIC / "i18n" / f"{lang}.json").read_text("utf-8")) for lang in ("zh-TW", "en")}
PHASES = ("lobby", "collecting", "voting", "reviewing", "closed")


def both_languages(page: Any, where: str) -> list[str]:
    """axe's serious findings in the page's language, then after the 中/EN toggle, then toggled back."""
    problems = [f"{where}: {p}" for p in serious_violations(page)]
    page.click("#lang-toggle")
    problems += [f"{where} (toggled): {p}" for p in serious_violations(page)]
    page.click("#lang-toggle")
    return problems


def phase_label(phase: str) -> list[str]:
    return [CATALOGS[lang][f"phase.{phase}"] for lang in CATALOGS]


def wait_for_phase(pages: dict[str, Any], phase: str) -> None:
    """Each page shows the phase: the console's pressed phase button, the projector's phase line, the
    phone's section for it (the writing form while collecting, else the phase's note)."""
    index = PHASES.index(phase) + 1
    expect(pages["host"].locator("#phases button[aria-pressed=true]")).to_contain_text(f"{index}.")
    labels = phase_label(phase)
    pages["projector"].wait_for_function(
        "labels => labels.includes(document.querySelector('#phase').textContent)", arg=labels)
    phone = pages["phone"]
    if phase == "collecting":
        expect(phone.locator("#write")).to_be_visible()
    else:
        notes = [CATALOGS[lang][f"phase_note.{phase}"] for lang in CATALOGS]
        phone.wait_for_function("notes => notes.includes(document.querySelector('#phase-note').textContent)",
                                arg=notes)


def test_every_page_in_every_phase_and_language(browser: Any, demo: Demo) -> None:
    """Phone (join form, then each phase with a statement written and a vote cast), host console and
    projector: no serious or critical axe finding in lobby, collecting, voting, reviewing and closed, in
    zh-TW and in English."""
    base = demo.server.url
    created = create_meeting(base, roles=["居民", "業者"], ask_nickname=True,
                             description="第一段說明。\n\n第二段說明。")
    code, key = created["code"], created["host_key"]
    pages = {
        "phone": new_page(browser, PHONE, bypass_csp=True),
        "host": new_page(browser, DESKTOP, bypass_csp=True),
        "projector": new_page(browser, PROJECTOR, bypass_csp=True),
    }
    pages["phone"].goto(f"{base}/m/{code}")
    pages["host"].goto(f"{base}/host/{code}#key={key}")
    pages["projector"].goto(f"{base}/projector/{code}")
    expect(pages["phone"].locator("#join")).to_be_visible()
    problems = both_languages(pages["phone"], "phone join form")
    pages["phone"].fill("#nickname", "小明")
    pages["phone"].locator("#roles input").first.check()
    pages["phone"].click("#join-form button[type=submit]")
    expect(pages["phone"].locator("#conn")).to_have_attribute("data-state", "online")
    for phase in PHASES:
        if phase != "lobby":
            assert host_command(base, code, key, {"type": "phase", "phase": phase})["type"] == "ack"
        wait_for_phase(pages, phase)
        if phase == "collecting":
            pages["phone"].fill("#write-text", "公園應該有更多遮蔭的座位")
            pages["phone"].click("#write-submit")
            expect(pages["phone"].locator("#my-statements li")).to_have_count(1)
            pages["phone"].click("#vote-buttons [data-value=agree]")
            expect(pages["phone"].locator("#voted li")).to_have_count(2)  # the author agrees with their own
        for name, page in pages.items():
            problems += both_languages(page, f"{name} in {phase}")
    assert problems == []
    for page in pages.values():
        assert page.errors == []


def test_accessibility_statement_is_published_and_linked(browser: Any, demo: Demo) -> None:
    """/accessibility states the conformance target and the known gaps in both languages, passes axe in
    both, and the front page links to it."""
    page = new_page(browser, PHONE, bypass_csp=True)
    page.goto(demo.server.url + "/")
    page.get_by_role("link", name=CATALOGS["zh-TW"]["a11y.link"]).click()
    page.wait_for_url("**/accessibility")
    article = page.locator("article:visible")
    expect(article).to_have_count(1)
    expect(article.locator("h1")).to_have_text("親和力宣告")
    expect(article).to_contain_text("WCAG 2.1")
    expect(article).to_contain_text("AA")
    expect(article).to_contain_text("Freego")
    problems = serious_violations(page)
    page.click("#lang-toggle")
    expect(page.locator("article:visible h1")).to_have_text("Accessibility statement")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("article:visible")).to_contain_text("Known limitations")
    problems += serious_violations(page)
    assert problems == [] and page.errors == []


def table_rows(page: Any) -> list[tuple[str, int]]:
    return [(row.locator("th").inner_text(), int(row.locator("td").first.inner_text()))
            for row in page.locator("#map-table tbody tr").all() if row.locator("th").count()]


def test_the_map_has_a_table_on_the_console_and_for_the_projectors_screen_readers(browser: Any,
                                                                                   demo: Demo) -> None:
    """The console's map has a table behind a disclosure, the projector's a table only screen readers get;
    both list each group with its people on the map, adding up to the dots drawn."""
    host = new_page(browser, DESKTOP)
    host.goto(demo.host)
    expect(host.locator("#map .dot").first).to_be_attached(timeout=30_000)
    expect(host.locator("#map-table")).to_be_hidden()
    host.locator(".map-table-box summary").click()
    expect(host.locator("#map-table")).to_be_visible()
    expect(host.locator("#map-table caption")).to_have_text(CATALOGS["zh-TW"]["maptable.caption"])
    counted = host.evaluate("""() => {
      const cells = [...document.querySelectorAll('#map-table tbody tr td:nth-child(2)')];
      return [cells.reduce((sum, td) => sum + Number(td.textContent), 0),
              document.querySelectorAll('#map path.dot:not(.leaving)').length];
    }""")
    assert counted[0] == counted[1] > 0
    assert all(name for name, _ in table_rows(host))
    projector = new_page(browser, PROJECTOR)
    projector.goto(demo.projector)
    expect(projector.locator("#map .dot").first).to_be_attached(timeout=30_000)
    table = projector.get_by_role("table", name=CATALOGS["zh-TW"]["maptable.caption"])
    expect(table).to_be_attached()
    box = projector.evaluate("() => { const r = document.querySelector('.map-table-box').getBoundingClientRect();"
                             " return [r.width, r.height]; }")
    assert box[0] <= 1 and box[1] <= 1  # on the room's screen it takes no space
    expect(projector.locator("#map-table tbody th").first).not_to_be_empty()


def test_every_tool_screen_in_both_languages(browser: Any, demo: Demo) -> None:
    """The screens the host's tools bring up, on the phone, the console and the projector: an agenda's
    second question, a running timer, the speaking queue with a phone in it and one given the floor, the
    spotlight, a second round, and in reviewing a consent check open then closed: no serious or critical
    axe finding on any of them, in zh-TW and in English."""
    base = demo.server.url
    created = create_meeting(base, roles=["居民", "業者"], ask_nickname=True, questions=["第二個問題怎麼辦？"])
    code, key = created["code"], created["host_key"]
    pages = {
        "phone": new_page(browser, PHONE, bypass_csp=True),
        "host": new_page(browser, DESKTOP, bypass_csp=True),
        "projector": new_page(browser, PROJECTOR, bypass_csp=True),
    }
    pages["phone"].goto(f"{base}/m/{code}")
    pages["host"].goto(f"{base}/host/{code}#key={key}")
    pages["projector"].goto(f"{base}/projector/{code}")
    phone, projector = pages["phone"], pages["projector"]
    phone.fill("#nickname", "小明")
    phone.click("#join-form button[type=submit]")
    expect(phone.locator("#conn")).to_have_attribute("data-state", "online")
    problems: list[str] = []

    def each(where: str) -> None:
        for name, page in pages.items():
            problems.extend(both_languages(page, f"{name} {where}"))

    def ack(message: dict[str, Any]) -> None:
        reply = host_command(base, code, key, message)
        assert reply["type"] == "ack", (message, reply)

    ack({"type": "phase", "phase": "collecting"})
    ack({"type": "question_go", "question": 1})
    ack({"type": "seed", "text": "第二題的第一則意見。"})
    ack({"type": "phase", "phase": "voting"})
    expect(phone.locator("#vote-buttons [data-value=agree]")).to_be_visible()
    phone.click("#vote-buttons [data-value=agree]")
    ack({"type": "timer_start", "seconds": 600})
    expect(projector.locator("#topic")).to_contain_text("第二個問題怎麼辦")
    each("on question 2 with a timer")
    phone.click("#floor-ask")
    expect(phone.locator("#floor-ask")).to_have_attribute("aria-pressed", "true")
    each("with a phone asking for the floor")
    ack({"type": "floor_give", "participant": 0})
    each("with the floor given")
    ack({"type": "floor_end"})
    statement = 2  # question 2's statement (the two seeds are 0 and 1)
    for screen, start, end in (("spotlight", {"type": "spotlight", "statement": statement}, {"type": "spotlight_end"}),
                               ("round", {"type": "round_open", "statements": [statement]}, {"type": "round_close"})):
        ack(start)
        expect(projector.locator("body")).to_have_attribute("data-screen", screen)
        each(f"on the {screen} screen")
        ack(end)
    ack({"type": "phase", "phase": "reviewing"})
    ack({"type": "check_open", "text": "第二題的草擬結論：先試辦三個月。", "statements": [statement]})
    expect(projector.locator("body")).to_have_attribute("data-screen", "check")
    each("with a consent check open")
    ack({"type": "check_close", "check": 1})
    each("with the consent check closed")
    assert problems == []
    for page in pages.values():
        assert page.errors == []
