"""Excluded participants in the exports (issue 24): their votes stay in the exported votes, the participants
list and the summary's ``excluded`` say who was left out, an analysis computed for the export leaves them out
as the live one did, and the Markdown says how many the groups and lanes are without."""

from __future__ import annotations

import json
from html import escape
from typing import Any

from facilitation.core.commands.exclusion import ExcludeFromAnalysis
from facilitation.core.commands.statements import Vote
from facilitation.core.events import Event
from facilitation.core.meeting import Join, Meeting, MeetingSettings, SetPhase, hash_secret
from facilitation.export import render
from facilitation.export.summary import build_summary
from tests.core.helpers import NOW


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
