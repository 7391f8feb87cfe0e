"""The whole meeting from the console, in Chromium (issue 23's combined test): the host runs a two-question
agenda, spotlights a statement of question 2 with a 30 s countdown, phones vote on it, three phones of two
roles ask for the floor and the queue puts the unheard role first, the host opens round 2 on the disputed
statements, phones change votes, and the projector and the exported summary show the shift with counts this
test computes from the votes it cast; the publishable record and the open-data package report each question
and the same shift.

The host console and the projector (1920x1080) are Chromium pages; the five phones are scripts following
docs/protocol.md (tests/e2e/scripted.py). Live analysis is off: the projector is given the opinion groups
(A and B, cutting across the roles) so the expected counts by group are known; "disputed" is what the votes
below make it, the two statements on which the roles split. The countdown is never waited out: the test
sees it shown and ticking, then ends the spotlight from the console. Projector screenshots go to
artifacts/screenshots/whole-agenda-*.png.
"""

from __future__ import annotations

import csv
import io
import json
import urllib.request
import zipfile
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect

from tests.e2e.conftest import PROJECTOR, create_meeting, new_page, screenshot
from tests.e2e.scripted import (
    VOTE_WORDS,
    Phone,
    clock_pattern,
    expected_shift,
    export,
    legible,
    serve_without_analysis,
    shift_lines,
    table,
    two_groups,
)
from tests.e2e.test_lanes_and_hints import SHOW_ANALYSIS
from tests.support.servers import ServerProcess, scaled

pytestmark = pytest.mark.browser

CONSOLE = {"width": 1280, "height": 900}
ROUND_SCREEN = """() => {
  const sorted = (sel) => Array.from(document.querySelectorAll(sel)).map((li) => li.textContent).sort();
  const text = (sel) => document.querySelector(sel).textContent;
  return {page: text('#round-page'), text: text('#round-text'), count: text('#round-count'),
          roles: sorted('#round-roles li'), groups: sorted('#round-groups li')};
}"""
"""What the projector's round screen shows, its rows sorted (they come in the order their first vote arrived)."""
TOPIC = "夜市周邊的交通怎麼改善？"
Q1 = ["夜市周邊應該增設機車停車區。", "應該設置行人專用時相的紅綠燈。"]
QUESTION_2 = "夜市收攤後的清潔怎麼分工？"
Q2 = ["垃圾清運費應該由攤商分攤。", "收攤後由里辦公處統一清掃。", "每週固定一天休市大掃除。"]
FEE, SWEEP, WEEKLY = 2, 3, 4
"""Question 2's statements (ids: question 1's seeds are 0 and 1)."""
ROLES = ("住戶", "攤商")
VALUES = ("agree", "acceptable", "pass", "disagree")


def tally(votes: Mapping[int, str]) -> list[int]:
    return [sum(1 for v in votes.values() if v == value) for value in VALUES]


def row(votes: Mapping[int, str], who: set[int]) -> list[str]:
    """A spotlight table row: agree, acceptable, pass, disagree, total (the projector's column order)."""
    mine = {p: v for p, v in votes.items() if p in who}
    return [str(n) for n in [*tally(mine), len(mine)]]


def total_line(votes: Mapping[int, str]) -> str:
    counts = " · ".join(f"{VOTE_WORDS[v]} {n}" for v, n in zip(VALUES, tally(votes), strict=True))
    return f"已表態 {len(votes)} 人：{counts}"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    yield from serve_without_analysis(tmp_path_factory.mktemp("whole-agenda"), "whole-agenda")


def test_the_host_runs_the_whole_agenda_and_the_room_sees_what_moved(browser: Any, server: ServerProcess) -> None:
    base = server.url
    created = create_meeting(base, title="夜市交通與清潔", topic=TOPIC, roles=list(ROLES), seeds=Q1)
    code, key = created["code"], created["host_key"]

    host = new_page(browser, CONSOLE)
    host.goto(f"{base}/host/{code}#key={key}")
    expect(host.locator("#conn")).to_have_attribute("data-state", "online")
    projector = new_page(browser, PROJECTOR)
    projector.goto(f"{base}/projector/{code}")
    expect(projector.locator("#conn")).to_have_attribute("data-state", "online")

    # The agenda, from the console: a second question, then 蒐集意見.
    host.fill("#agenda-new", QUESTION_2)
    host.click("#agenda-form button[type=submit]")
    expect(host.locator("#agenda-list li")).to_have_count(2)
    expect(projector.locator("#topic")).to_contain_text(f"問題 1／2：{TOPIC}")
    host.locator("#phases button").nth(1).click()  # 蒐集意見
    expect(projector.locator("#phase")).to_have_text("蒐集意見")

    r1, r2, r3 = (Phone(base, code, "住戶") for _ in range(3))
    v1, v2 = (Phone(base, code, "攤商") for _ in range(2))
    phones = [r1, r2, r3, v1, v2]
    role_of = {p.participant: p.role for p in phones}
    group_a, group_b = [r1.participant, r2.participant, v1.participant], [r3.participant, v2.participant]
    group_of = {p: "A" for p in group_a} | {p: "B" for p in group_b}

    # Question 1: everyone votes on its two seeds.
    for phone in phones:
        phone.vote(0, "agree")
        phone.vote(1, "disagree" if phone.role == "住戶" else "agree")

    # Question 2: the host moves the room and writes its statements from the console.
    host.locator("#agenda-list li").nth(1).locator("button").click()
    expect(host.locator("#agenda-status")).to_have_attribute("data-tone", "ok")
    expect(projector.locator("#topic")).to_contain_text(f"問題 2／2：{QUESTION_2}")
    for text in Q2:
        host.fill("#seed-input", text)
        host.click("#seed-form button[type=submit]")
        expect(host.locator("#seed-input")).to_have_value("")
    expect(host.locator("#spot-statement option")).to_have_count(len(Q1) + len(Q2))
    refused = r1.send({"type": "vote", "statement": 0, "value": "pass"})  # question 1 is behind the room now
    assert refused["type"] == "error" and refused["error"]["code"] == "other_question", refused

    round1: dict[int, dict[int, str]] = {
        FEE: {r1.participant: "agree", r2.participant: "agree", r3.participant: "agree",
              v1.participant: "disagree", v2.participant: "disagree"},
        SWEEP: {r1.participant: "disagree", r2.participant: "disagree", r3.participant: "agree",
                v1.participant: "agree", v2.participant: "agree"},
        WEEKLY: {p.participant: "agree" for p in phones},
    }
    by_id = {p.participant: p for p in phones}
    for sid in (SWEEP, WEEKLY):
        for pid, value in round1[sid].items():
            by_id[pid].vote(sid, value)

    # The map the room sees: groups A and B, each with both roles (given while the map is on screen: a map
    # that arrives under the spotlight keeps labels too narrow for their text, a defect reported to static/).
    projector.evaluate(SHOW_ANALYSIS, two_groups(group_a, group_b))
    expect(projector.locator("#map")).to_contain_text("A 組")

    # The spotlight on the fee, 30 s: the projector shows the countdown and it ticks; phones vote on it.
    host.select_option("#spot-statement", str(FEE))
    host.select_option("#spot-seconds", "30")
    host.click("#spot-start")
    expect(projector.locator("body")).to_have_attribute("data-screen", "spotlight")
    expect(projector.locator("#spot-text")).to_have_text(Q2[0])
    clock = projector.locator("#spot-clock")
    expect(clock).to_have_text(clock_pattern(30))
    first = clock.text_content() or ""
    expect(clock).not_to_have_text(first, timeout=scaled(5) * 1000)  # it counts down, by itself
    assert int((clock.text_content() or "").rsplit(":", 1)[1]) < int(first.rsplit(":", 1)[1])
    expect(host.locator("#spot-host-clock")).to_have_text(clock_pattern(30))
    for pid, value in round1[FEE].items():
        by_id[pid].vote(FEE, value)
    fee = round1[FEE]
    expect(projector.locator("#spot-total")).to_have_text(total_line(fee))
    expect(host.locator("#spot-host-total")).to_have_text(total_line(fee))
    assert table(projector, "#spot-roles") == {
        role: row(fee, {p for p in fee if role_of[p] == role}) for role in ROLES}
    assert table(projector, "#spot-groups") == {
        "A 組": row(fee, set(group_a)), "B 組": row(fee, set(group_b))}
    legible(projector, "whole-agenda-spotlight")
    screenshot(projector, "whole-agenda-spotlight-1920x1080")
    host.click("#spot-end")  # the host ends it: nobody waits out the 30 s
    expect(projector.locator("body")).to_have_attribute("data-screen", "live")
    expect(host.locator("#spot-now")).to_be_hidden()

    # The floor: two residents and a vendor ask; after a resident spoke, the unheard vendor comes first.
    r1.ask_floor()
    r2.ask_floor()
    v1.ask_floor()
    queue = host.locator("#floor-queue li")
    expect(queue).to_have_count(3)
    expect(queue.first).to_have_attribute("data-participant", str(r1.participant))
    queue.first.locator("button").click()
    expect(host.locator("#floor-now")).to_contain_text("住戶")
    host.click("#floor-end")
    expect(queue).to_have_count(2)
    expect(queue.first).to_have_attribute("data-participant", str(v1.participant))  # r2 asked first
    expect(projector.locator("#floor-next")).to_have_text(f"下一位：攤商 · {group_of[v1.participant]} 組（排隊 2 人）")
    legible(projector, "whole-agenda-floor", ".lane-text")
    screenshot(projector, "whole-agenda-floor-1920x1080")
    queue.first.locator("button").click()
    expect(host.locator("#floor-now")).to_contain_text("攤商")
    host.click("#floor-end")
    expect(queue).to_have_count(1)

    # Round 2 on the two statements the roles split on; phones vote again, some change.
    host.click(".round-pick-box summary")
    for sid in (FEE, SWEEP):
        host.check(f"#round-pick input[value='{sid}']")
    host.click("#round-open")
    expect(projector.locator("body")).to_have_attribute("data-screen", "round")
    round2: dict[int, dict[int, str]] = {
        FEE: {r1.participant: "acceptable", r2.participant: "acceptable", r3.participant: "agree",
              v1.participant: "acceptable", v2.participant: "disagree"},
        SWEEP: {r1.participant: "acceptable", r2.participant: "disagree", v1.participant: "agree",
                v2.participant: "agree"},  # r3 does not vote again on it
    }
    for sid, votes in round2.items():
        for pid, value in votes.items():
            by_id[pid].vote(sid, value)
    expect(host.locator("#round-now")).to_contain_text(f"已有 {len(phones)} 人再表態")

    def by_role(p: int) -> str:
        return role_of[p]

    def by_group(p: int) -> str:
        return group_of[p]

    pages = {FEE: 1, SWEEP: 2}
    for sid in (FEE, SWEEP):  # the projector shows one statement at a time and turns the page by itself
        want = {"page": f"第 {pages[sid]}/2 則", "text": Q2[sid - FEE],
                "count": f"第 2 輪有 {len(round2[sid])} 人再表態（之前 {len(round1[sid])} 人表態過）",
                "roles": shift_lines(expected_shift(round1[sid], round2[sid], by_role), lambda k: k),
                "groups": shift_lines(expected_shift(round1[sid], round2[sid], by_group), lambda k: f"{k} 組")}
        try:  # read in one go: the page may turn between two reads
            projector.wait_for_function(f"(want) => JSON.stringify(({ROUND_SCREEN})()) === JSON.stringify(want)",
                                        arg=want, timeout=scaled(30) * 1000)
        except PlaywrightTimeout:
            assert projector.evaluate(ROUND_SCREEN) == want
        legible(projector, f"whole-agenda-round-{sid}", ".spot-text")
        screenshot(projector, f"whole-agenda-round-{pages[sid]}-1920x1080")
    # What a reader of the screen should see for the fee, spelt out once:
    assert shift_lines(expected_shift(round1[FEE], round2[FEE], by_role), lambda k: k) == [
        "住戶：贊成 → 可接受 2 人 · 維持 1 人", "攤商：反對 → 可接受 1 人 · 維持 1 人"]
    host.click("#round-close")
    expect(projector.locator("body")).to_have_attribute("data-screen", "live")

    # The exported summary: every count checks against the votes above.
    summary = json.loads(export(base, code, key, "json"))
    first_q, second_q = summary["questions"]
    assert (first_q["text"], first_q["statements"], first_q["votes"]) == (TOPIC, [0, 1], 2 * len(phones))
    final = {sid: {**round1[sid], **round2.get(sid, {})} for sid in round1}
    assert (second_q["text"], second_q["statements"], second_q["votes"]) == (
        QUESTION_2, [FEE, SWEEP, WEEKLY], sum(len(v) for v in final.values()))
    export_group = {m["participant"]: m["group"] or "" for m in summary["map"]}
    (second_round,) = summary["rounds"]
    assert second_round["round"] == 2 and [s["statement"] for s in second_round["statements"]] == [FEE, SWEEP]
    for shift in second_round["statements"]:
        sid = shift["statement"]
        assert shift["before"] == {v: n for v, n in zip(VALUES, tally(round1[sid]), strict=True) if n}
        assert shift["after"] == {v: n for v, n in zip(VALUES, tally(round2[sid]), strict=True) if n}
        assert shift["by_role"] == expected_shift(round1[sid], round2[sid], by_role)
        assert shift["by_group"] == expected_shift(round1[sid], round2[sid], lambda p: export_group.get(p, ""))
    by_statement = {s["id"]: s["tally"] for s in summary["statements"]}
    for sid, votes in final.items():
        counts = dict(zip(VALUES, tally(votes), strict=True))
        assert by_statement[sid] == {"agree": counts["agree"], "acceptable": counts["acceptable"],
                                     "disagree": counts["disagree"], "passed": counts["pass"]}
    floor = summary["floor"]
    assert {r["name"]: r["turns"] for r in floor["by_role"]} == {"住戶": 1, "攤商": 1}
    assert floor["unheard_roles"] == []
    markdown = export(base, code, key, "md")
    for line in shift_lines(expected_shift(round1[FEE], round2[FEE], by_role), lambda k: k):
        assert line in markdown, line
    one, two = markdown.index(f"## 問題 1：{TOPIC}"), markdown.index(f"## 問題 2：{QUESTION_2}")
    assert Q1[0] in markdown[one:two] and Q2[0] not in markdown[one:two]

    # The publishable record and the open-data package split by question and hold the same shift.
    record = export(base, code, key, "record")
    one, two = record.index(f"### 問題 1：{TOPIC}"), record.index(f"### 問題 2：{QUESTION_2}")
    assert Q1[0] in record[one:two] and Q2[2] in record[two:] and Q2[2] not in record[one:two]
    rounds_at = record.index("## 再表態與意見變化")
    for line in shift_lines(expected_shift(round1[FEE], round2[FEE], by_role), lambda k: k):
        assert f"- {line}" in record[rounds_at:], line
    package = opendata(base, code, key)
    questions = {q["question"]: q for q in package["questions.csv"]}
    assert (questions["1"]["text"], questions["2"]["text"]) == (TOPIC, QUESTION_2)
    assert int(questions["1"]["votes"]) == 2 * len(phones)
    assert int(questions["2"]["votes"]) == sum(len(v) for v in final.values())
    assert [(r["statement"], r["question"]) for r in package["rounds.csv"]] == [
        (str(FEE + 1), "2"), (str(SWEEP + 1), "2")]  # numbers as the room saw them
    for r in package["rounds.csv"]:
        sid = int(r["statement"]) - 1
        (everyone,) = expected_shift(round1[sid], round2[sid], lambda p: "").values()
        changes = {k.replace("_to_", "->"): int(v) for k, v in r.items() if "_to_" in k and int(v)}
        assert (int(r["voters"]), int(r["kept"]), int(r["new"]), changes) == (
            everyone["voted"], everyone["kept"], everyone["new"], everyone["moved"])
    for page in (host, projector):
        assert page.errors == [], page.errors
    for phone in phones:
        phone.close()


def opendata(base: str, code: str, key: str) -> dict[str, list[dict[str, str]]]:
    """The open-data zip, each CSV as rows of column -> cell."""
    url = f"{base}/api/meetings/{code}/export?format=opendata&agency=%E5%B8%82%E5%A0%B4%E8%99%95&key={key}"
    with urllib.request.urlopen(url, timeout=scaled(30)) as response:
        archive = zipfile.ZipFile(io.BytesIO(response.read()))
    out = {}
    for name in archive.namelist():
        if name.endswith(".csv"):
            text = archive.read(name).decode("utf-8-sig")
            out[name.rsplit("/", 1)[1]] = list(csv.DictReader(io.StringIO(text, newline="")))
    return out
