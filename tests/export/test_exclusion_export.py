"""Excluded participants in the exports (issue 24): their votes stay in the exported votes, the participants
list and the summary's ``excluded`` say who was left out, an analysis computed for the export leaves them out
as the live one did, and the Markdown and HTML say how many the groups and lanes are without, how many each
voting-quality flag names, and which lanes their votes would change."""

from __future__ import annotations

import json
from html import escape
from typing import Any

from clustering import analyze
from facilitation.core.commands.exclusion import ExcludeFromAnalysis
from facilitation.core.commands.statements import Vote
from facilitation.core.events import Event
from facilitation.core.meeting import Join, Meeting, MeetingSettings, SetPhase, hash_secret
from facilitation.export import render
from facilitation.export.summary import VOTE_CODES, build_summary
from tests.core.helpers import NOW
from tests.export.test_quality_export import meeting_log as quality_log


def test_the_exports_keep_excluded_votes_and_say_who_was_left_out() -> None:
    events, people = meeting_log(exclude=1)
    summary = build_summary(events, None, now=NOW)
    data = json.loads(render(summary, "json"))
    assert data["excluded"] == [people[0]]
    assert {p["id"]: p["excluded"] for p in data["participants"]} == {p: p == people[0] for p in people}
    assert len(data["votes"]) == 6 * 3 and sum(v["participant"] == people[0] for v in data["votes"]) == 3
    assert data["analysis"]["participants"] == 5, "the computed analysis leaves the excluded voter out"
    md = render(summary, "md").decode()
    assert "主持人將 1 位參與者排除於分析之外" in md
    (line,) = [x for x in md.splitlines() if x.startswith("主持人將")]
    assert f'<p class="note">{escape(line)}</p>' in render(summary, "html").decode(), "the HTML says it too"


def test_nobody_excluded_exports_as_before() -> None:
    events, _ = meeting_log(exclude=0)
    summary = build_summary(events, None, now=NOW)
    data = json.loads(render(summary, "json"))
    assert data["excluded"] == [] and not any(p["excluded"] for p in data["participants"])
    assert data["analysis"]["participants"] == 6
    assert "排除於分析之外" not in render(summary, "md").decode()
    assert "排除於分析之外" not in render(summary, "html").decode()


def meeting_log(exclude: int) -> tuple[list[Event], list[int]]:
    """Six phones voting on three statements; the first ``exclude`` of them excluded by the host."""
    m, events = Meeting.create("ABCDEF", MeetingSettings(title="夜市"), hash_secret("k"), NOW,
                               ["延長營業。", "垃圾分類。", "行人徒步。"])

    def do(command: Any) -> dict[str, Any]:
        applied = m.apply(command, NOW)
        events.extend(applied.events)
        return applied.result

    do(SetPhase("collecting", op="h1"))
    people = [int(do(Join(hash_secret(f"token-{i}-xxxxxxxxxx")))["participant"]) for i in range(6)]
    for i, p in enumerate(people):
        for s in range(3):
            do(Vote(p, s, "agree" if (i + s) % 2 else "disagree", op=f"v{p}{s}"))
    for p in people[:exclude]:
        do(ExcludeFromAnalysis(p, True, op=f"x{p}"))
    return events, people


def test_the_reports_say_which_lanes_the_excluded_votes_would_change() -> None:
    """Eight phones agree on statements 1-3, four who disagree with everything are excluded: the report's lanes
    are without them; with their votes put back (an analysis of every vote) those statements land elsewhere,
    and the JSON, Markdown and HTML say which, in the same words."""
    events, people = camps_log()
    summary = build_summary(events, None, now=NOW)
    check = summary.exclusion
    assert check is not None and check.excluded == tuple(people[8:]) and check.unflagged == 4 and check.compared
    state = Meeting.replay(events)
    every_vote = analyze([(p, s, VOTE_CODES[v]) for p, mine in state.votes.items() for s, v in mine.items()],
                         random_state=0, statements=[s.id for s in state.accepted_statements()]).lanes
    report = {s.id: s.lane for s in summary.statements}
    assert [(c.statement, c.lane, c.without) for c in check.changes] == [
        (s, report[s], every_vote[s]) for s in sorted(report) if every_vote[s] != report[s]]
    assert {c.statement for c in check.changes} == {0, 1, 2}
    data = json.loads(render(summary, "json"))
    assert data["exclusion"]["changes"][0] == {"statement": 0, "lane": "acceptable", "without": every_vote[0]}
    md = render(summary, "md").decode()
    (line,) = [x for x in md.splitlines() if x.startswith("主持人將 4 位參與者排除於分析之外")]
    assert "沒有提示的 4 位" in line and "加回他們的票，這些意見會改變分類：#1 每組多數可接受 → " in line
    assert f'<p class="note">{escape(line)}</p>' in render(summary, "html").decode()


def test_an_excluded_flagged_voter_is_counted_by_flag() -> None:
    """The voter the quality checks flag (same answer, too fast) is excluded: the note counts them under both
    flags and none unflagged."""
    events, people = quality_log(flagged=True)
    m = Meeting.replay(events)
    events.extend(m.apply(ExcludeFromAnalysis(people[0], True, op="x"), NOW + 9_000).events)
    summary = build_summary(events, None, now=NOW + 10_000)
    check = summary.exclusion
    assert check is not None and (check.same_answer, check.too_fast, check.unflagged) == (1, 1, 0)
    md = render(summary, "md").decode()
    (line,) = [x for x in md.splitlines() if x.startswith("主持人將 1 位參與者")]
    assert "幾乎每題同一答案的 1 位、快過能讀完題目的 1 位" in line and "沒有提示的 0 位" in line
    assert f'<p class="note">{escape(line)}</p>' in render(summary, "html").decode()


def camps_log() -> tuple[list[Event], list[int]]:
    """Twelve phones on six statements: eight agree on 0-2 and split on 3-5; the last four disagree with
    everything and are excluded."""
    m, events = Meeting.create("ABCDEF", MeetingSettings(title="夜市"), hash_secret("k"), NOW,
                               [f"第 {i} 則。" for i in range(6)])

    def do(command: Any) -> dict[str, Any]:
        applied = m.apply(command, NOW)
        events.extend(applied.events)
        return applied.result

    do(SetPhase("collecting", op="h1"))
    people = [int(do(Join(hash_secret(f"token-{i}-xxxxxxxxxx")))["participant"]) for i in range(12)]
    for i, p in enumerate(people):
        for s in range(6):
            value = "disagree" if i >= 8 else "agree" if s < 3 else ("agree", "disagree")[i % 2]
            do(Vote(p, s, value, op=f"v{p}-{s}"))
    for p in people[8:]:
        do(ExcludeFromAnalysis(p, True, op=f"x{p}"))
    return events, people


def test_the_shares_by_role_are_the_analysis_own() -> None:
    """A resident the host excluded: the statement's total still counts every vote cast, but the shares by role
    printed beside the lanes count only the analysis' participants (the lanes rest on those), and the note
    says so."""
    m, events = Meeting.create("ABCDEF", MeetingSettings(title="夜市", roles=("住戶", "攤商")), hash_secret("k"),
                               NOW, ["延長營業。"])

    def do(command: Any) -> dict[str, Any]:
        applied = m.apply(command, NOW)
        events.extend(applied.events)
        return applied.result

    do(SetPhase("collecting", op="h1"))
    roles = ["住戶", "住戶", "住戶", "攤商", "攤商"]
    people = [int(do(Join(hash_secret(f"token-{i}-xxxxxxxxxx"), role=r))["participant"]) for i, r in enumerate(roles)]
    for p in people:
        do(Vote(p, 0, "disagree" if p == people[0] else "agree", op=f"v{p}"))
    do(ExcludeFromAnalysis(people[0], True, op="x"))
    data = json.loads(render(build_summary(events, None, now=NOW), "json"))
    (statement,) = data["statements"]
    assert (statement["tally"]["agree"], statement["tally"]["disagree"]) == (4, 1), "the total counts every vote"
    by_role = {r["name"]: r["tally"] for r in statement["by_role"]}
    assert (by_role["住戶"]["agree"], by_role["住戶"]["disagree"]) == (2, 0), "the excluded resident is left out"
    assert (by_role["攤商"]["agree"], by_role["攤商"]["disagree"]) == (2, 0)
    md = render(build_summary(events, None, now=NOW), "md").decode()
    assert "意見群、各身分的比例與分類不含他們的票（總票數含所有的票）" in md
