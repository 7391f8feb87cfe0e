"""What still needs votes in every export (issue 24): for each unsettled statement, the fewest more votes and
the opinion groups and stakeholder roles they must come from, as the console says it, in the JSON, Markdown,
HTML and PDF (and the Pol.is folder's needs.csv), each need with the counts it rests on so it checks against
the same export."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
from html import escape
from pathlib import Path
from typing import Any

import pytest

from clustering import analyze
from clustering.consensus import LANE_MIN_VOTES, ROLE_MIN_VOTERS
from clustering.votes import VoteTable
from facilitation.analysis.messages import map_message, shown_message
from facilitation.analysis.worker import needs_votes as console_needs
from facilitation.analysis.worker import stored_payload
from facilitation.core.commands.exclusion import ExcludeFromAnalysis
from facilitation.core.commands.statements import Vote
from facilitation.core.events import Event
from facilitation.core.meeting import Join, Meeting, MeetingSettings, SetPhase, hash_secret
from facilitation.export import render
from facilitation.export.polis import write_polis
from facilitation.export.summary import VOTE_CODES, Summary, build_summary
from facilitation.tools.import_polis import build_events, read_folder
from tests.core.helpers import NOW
from tests.export import test_consent_export, test_lineage_export
from tests.export.conftest import small_meeting

LINE = "還需要 4 票：攤商 2（3 / 5）、A 組 2（2 / 4）、B 組 2（1 / 3）"


def planted(exclude: str = "") -> tuple[list[Event], dict[str, int]]:
    """Group A = a1..a4, group B = b1..b3; 攤商 = a1 a2 a3 b1 b2, 住戶 = a4 b3. Statement 0: a1 agree, a2
    disagree, b1 pass; statement 1: everyone agrees; statement 2: nobody voted."""
    settings = MeetingSettings(title="夜市", roles=("攤商", "住戶"))
    texts = ["延長營業。", "垃圾分類。", "行人徒步。"]
    meeting, events = Meeting.create("ABCDEF", settings, hash_secret("k"), NOW, texts)

    def do(command: Any) -> dict[str, Any]:
        applied = meeting.apply(command, NOW)
        events.extend(applied.events)
        return applied.result

    do(SetPhase("collecting", op="h0"))
    roles = {"a1": "攤商", "a2": "攤商", "a3": "攤商", "a4": "住戶", "b1": "攤商", "b2": "攤商", "b3": "住戶"}
    who = {name: int(do(Join(hash_secret(f"token-{name}-xxxxxxxxxx"), role=role))["participant"])
           for name, role in roles.items()}
    for name, value in (("a1", "agree"), ("a2", "disagree"), ("b1", "pass")):
        do(Vote(who[name], 0, value, op=f"s0-{name}"))
    for name in roles:
        do(Vote(who[name], 1, "agree", op=f"s1-{name}"))
    if exclude:
        do(ExcludeFromAnalysis(who[exclude], True, op="x"))
    return events, who


def published(events: list[Event], who: dict[str, int]) -> dict[str, Any]:
    groups = [{"id": "A", "members": [who[n] for n in ("a1", "a2", "a3", "a4")]},
              {"id": "B", "members": [who[n] for n in ("b1", "b2", "b3")]}]
    return {"run": 1, "seq": events[-1].seq, "at": NOW,
            "result": {"groups": groups, "lanes": {"0": "needs_votes", "1": "acceptable", "2": "needs_votes"},
                       "participants": 7, "clustered": 7, "k": 2}}


def test_the_json_gives_each_need_with_its_counts_closest_to_settled_first() -> None:
    events, who = planted()
    data = json.loads(render(build_summary(events, published(events, who), now=NOW), "json"))
    first, second = data["needs"]
    assert first == {"statement": 0, "lane": "needs_votes", "votes": 4, "reachable": True, "kind": "short",
                     "groups": [{"name": "A", "more": 2, "have": 2, "floor": 4},
                                {"name": "B", "more": 2, "have": 1, "floor": 3}],
                     "roles": [{"name": "攤商", "more": 2, "have": 3, "floor": 5}]}
    assert second["statement"] == 2 and second["votes"] == 7, "every one of the seven must vote on it"
    assert 1 not in {n["statement"] for n in data["needs"]}, "a settled statement needs nothing"


def test_markdown_html_and_pdf_say_it_in_the_consoles_words(tmp_path: Path) -> None:
    events, who = planted()
    summary = build_summary(events, published(events, who), now=NOW)
    md = render(summary, "md").decode()
    assert "## 還需要表態的意見" in md
    assert f"| 1 | 延長營業。 | 需要更多表態 | {LINE} |" in md
    assert md.index(LINE) < md.index("還需要 7 票")
    html = render(summary, "html").decode()
    assert f'<td class="lines" data-label="還需要">{escape(LINE)}</td>' in html
    if shutil.which("pdftotext") is None:
        pytest.fail("poppler-utils (pdftotext) is required: apt-get install poppler-utils")
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(render(summary, "pdf"))
    text = subprocess.run(["pdftotext", "-enc", "UTF-8", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert "".join(LINE.split()) in "".join(text.split())


def test_the_figures_are_the_consoles() -> None:
    """An analysis computed for the export: its needs are what the live worker sends the console
    (facilitation.analysis.worker.needs_votes on the same votes and analysis)."""
    events, _ = planted()
    summary = build_summary(events, None, now=NOW)
    state = Meeting.replay(events)
    table = VoteTable.from_triples((p, s, VOTE_CODES[v]) for p, mine in state.votes.items() for s, v in mine.items())
    roles: dict[Any, str] = {p.id: p.role for p in state.participants.values() if p.role}
    result = analyze(table, roles=roles, random_state=0, statements=[s.id for s in state.accepted_statements()])
    console = console_needs(table, result, roles)
    assert console, "the planted meeting has unsettled statements"
    assert [(int(n["statement"]), n["votes"], n["reachable"], n["groups"], n["roles"]) for n in console] == [
        (n.statement, n.votes, n.reachable, {g.name: g.more for g in n.groups}, {r.name: r.more for r in n.roles})
        for n in summary.needs]


@pytest.mark.parametrize("case", ["planted", "computed", "consent", "lineage", "small"])
def test_every_need_checks_against_the_exports_counts(case: str) -> None:
    """have = the group's (role's, the room's) votes on the statement in the same JSON, floor = the lane
    rule's, more = floor - have; and the fewest votes never exceed the sum of the needs."""
    if case in ("planted", "computed"):
        events, who = planted()
        analysis = published(events, who) if case == "planted" else None
    elif case == "consent":
        events, analysis = test_consent_export.meeting_with_two_checks()
    elif case == "lineage":
        events, analysis = test_lineage_export.lineage_meeting()[1], None
    else:
        events, analysis = small_meeting()[1], None
    data = json.loads(render(build_summary(events, analysis, now=NOW), "json"))
    assert data["needs"] or case == "small"
    check_needs(data)


def test_the_excluded_votes_are_not_counted() -> None:
    """b1 (攤商, voted pass on statement 0) is excluded, in an analysis computed for the export (seven people:
    no groups, the room decides): the room has 2 votes on statement 0, not 3, and 攤商 has four members left,
    too few for its voice to count, so it is short of nothing."""
    events, _ = planted(exclude="b1")
    data = json.loads(render(build_summary(events, None, now=NOW), "json"))
    assert not data["groups"]
    (first,) = [n for n in data["needs"] if n["statement"] == 0]
    assert first["groups"] == [{"name": "all", "more": 3, "have": 2, "floor": 5}] and first["roles"] == []
    assert first["votes"] == 3
    check_needs(data)


def check_needs(data: dict[str, Any]) -> None:
    excluded = set(data["excluded"])
    role_of = {p["id"]: p["role"] for p in data["participants"]}
    size = {g["id"]: g["size"] for g in data["groups"]}
    votes = [v for v in data["votes"] if v["participant"] not in excluded]
    for need in data["needs"]:
        s = need["statement"]
        (statement,) = [x for x in data["statements"] if x["id"] == s]
        by_group = {lean["name"]: lean["tally"] for lean in statement["by_group"]}
        if need["kind"] != "short":
            assert need["lane"] == "needs_votes" and not need["groups"] and not need["roles"]
            continue
        for g in need["groups"]:
            if g["name"] == "all":
                assert g["have"] == sum(v["statement"] == s for v in votes) and g["floor"] == LANE_MIN_VOTES
            else:
                assert g["have"] == sum(by_group[g["name"]].values()), (s, g)
                assert g["floor"] == min(LANE_MIN_VOTES, size[g["name"]])
            assert g["more"] == g["floor"] - g["have"] > 0
        for r in need["roles"]:
            assert r["have"] == sum(v["statement"] == s and role_of[v["participant"]] == r["name"] for v in votes)
            assert r["floor"] == ROLE_MIN_VOTERS and r["more"] == r["floor"] - r["have"] > 0
        total = sum(x["more"] for x in need["groups"] + need["roles"])
        assert 0 < need["votes"] <= total or not need["reachable"]


def test_a_meeting_with_nothing_unsettled_has_no_section() -> None:
    summary: Summary = build_summary(small_meeting()[1], None, now=NOW)
    assert summary.needs == ()
    assert "還需要表態的意見" not in render(summary, "md").decode()
    assert 'id="needs"' not in render(summary, "html").decode()


def test_the_polis_folder_has_needs_csv_checkable_against_comment_groups(tmp_path: Path) -> None:
    """needs.csv: one row per short group or role, a group named by its comment-groups.csv letter, whose
    group-<letter>-votes is the row's have; import-polis reads the folder back as before."""
    events, who = planted()
    summary = build_summary(events, published(events, who), now=NOW)
    paths = write_polis(summary, tmp_path)
    assert tmp_path / "needs.csv" in paths
    with (tmp_path / "needs.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert [(r["comment-id"], r["votes"], r["unit"], r["name"], r["more"], r["have"], r["floor"])
            for r in rows if r["comment-id"] == "0"] == [
        ("0", "4", "group", "a", "2", "2", "4"), ("0", "4", "group", "b", "2", "1", "3"),
        ("0", "4", "role", "攤商", "2", "3", "5")]
    with (tmp_path / "comment-groups.csv").open(encoding="utf-8") as f:
        groups = {r["comment-id"]: r for r in csv.DictReader(f)}
    for r in rows:
        if r["unit"] == "group":
            assert r["have"] == groups[r["comment-id"]][f"group-{r['name']}-votes"]
        assert int(r["more"]) == int(r["floor"]) - int(r["have"])
    assert len(build_events(read_folder(tmp_path), "BACKIN", hash_secret("k"))[0].statements) == 3
    write_polis(build_summary(small_meeting()[1], None, now=NOW), tmp_path / "settled")
    assert not (tmp_path / "settled" / "needs.csv").exists(), "nothing unsettled: no file"


def test_a_stored_run_names_groups_by_the_letters_the_room_was_shown() -> None:
    """The live worker stores the run with the room's view of it, whose steady letters may differ from the
    run's own ids: the export names each group (and each need) by the room's letter, so its needs read
    exactly as the console's (the shown message's needs); without the room's view, the run's ids."""
    events, meeting = camps()
    table = VoteTable.from_triples((p, s, VOTE_CODES[v]) for p, mine in meeting.votes.items() for s, v in mine.items())
    roles: dict[Any, str] = {p.id: p.role for p in meeting.participants.values()}
    result = analyze(table, roles=roles, random_state=0, statements=[s.id for s in meeting.accepted_statements()])
    msg = map_message(result, run=3, upto_seq=meeting.seq, at=NOW, roles=roles)
    msg["needs"] = console_needs(table, result, roles)
    run_ids = [g["id"] for g in msg["groups"]]
    letters = tuple(reversed(sorted(run_ids)))  # the room knows the run's first group by the last letter
    assert len(run_ids) >= 2 and letters != tuple(run_ids)
    shown = shown_message(msg, letters, forming=False)
    analysis = json.dumps(result.to_dict(digits=None, warm=True))

    def summary_of(payload: dict[str, Any]) -> Summary:
        return build_summary(events, {"run": 3, "seq": meeting.seq, "at": NOW, "result": payload}, now=NOW)

    summary = summary_of(stored_payload(analysis, json.dumps(msg), json.dumps(shown)))
    assert [g.id for g in summary.groups] == sorted(letters)
    letter_of = dict(zip(run_ids, letters, strict=True))
    run_group = {int(p): run_ids[g] for p, g in zip(msg["points"]["participants"], msg["points"]["group"],
                                                   strict=True) if g >= 0}
    assert {p.participant: p.group for p in summary.map if p.group} == {p: letter_of[g] for p, g in run_group.items()}
    assert shown["needs"], "the planted meeting has an unsettled statement"
    assert [(int(n["statement"]), n["votes"], n["groups"], n["roles"]) for n in shown["needs"]] == [
        (n.statement, n.votes, {g.name: g.more for g in n.groups}, {r.name: r.more for r in n.roles})
        for n in summary.needs]
    unshown = summary_of(stored_payload(analysis, json.dumps(msg)))
    assert [g.id for g in unshown.groups] == run_ids


def camps() -> tuple[list[Event], Meeting]:
    """Sixteen phones of two roles in two camps on six statements; statement 6 has three votes only."""
    settings = MeetingSettings(title="夜市", roles=("攤商", "住戶"))
    meeting, events = Meeting.create("ABCDEF", settings, hash_secret("k"), NOW, [f"第 {i} 則。" for i in range(7)])

    def do(command: Any) -> dict[str, Any]:
        applied = meeting.apply(command, NOW)
        events.extend(applied.events)
        return applied.result

    do(SetPhase("collecting", op="h1"))
    people = [int(do(Join(hash_secret(f"token-{i}-xxxxxxxxxx"), role=("攤商", "住戶")[i % 2]))["participant"])
              for i in range(16)]
    for i, p in enumerate(people):
        for s in range(7):
            if s == 6 and i not in (0, 1, 8):
                continue
            value = ("agree" if (i < 8) == (s % 2 == 0) else "disagree") if s < 6 else "agree"
            do(Vote(p, s, value, op=f"v{p}-{s}"))
    return events, meeting
