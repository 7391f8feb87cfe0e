"""“This matters to me” in the exports (issue 24): the JSON counts the marks per statement and per vote, the
Markdown and HTML rank the marked statements, and the Pol.is votes.csv carries a 0/1 ``important`` column
(as Pol.is does when importance is on) only when someone marked something."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from facilitation.core.commands.importance import MarkImportant
from facilitation.core.commands.statements import Vote
from facilitation.core.events import Event
from facilitation.core.meeting import Join, Meeting, MeetingSettings, SetPhase, hash_secret
from facilitation.export import render
from facilitation.export.polis import write_polis
from facilitation.export.summary import build_summary
from tests.core.helpers import NOW


def test_marks_reach_the_json_markdown_html_and_polis(tmp_path: Path) -> None:
    """Two marks on statement 3 and one on statement 1: counted, ranked, and 0/1 per vote in votes.csv."""
    events = full_log([(0, 2), (1, 2), (2, 0)])
    summary = build_summary(events, None, now=NOW)
    data = json.loads(render(summary, "json"))
    assert [s["important"] for s in data["statements"]] == [1, 0, 2]
    assert sum(v["important"] for v in data["votes"]) == 3
    md = render(summary, "md").decode()
    assert "## 參與者最在意的意見" in md
    assert md.index("| 3 | 行人徒步。 | 2 / 3 |") < md.index("| 1 | 延長營業。 | 1 / 3 |")
    assert "行人徒步。" in render(summary, "html").decode()
    write_polis(summary, tmp_path)
    with (tmp_path / "votes.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert sum(int(r["important"]) for r in rows) == 3 and len(rows) == 9


def test_an_unmarked_meeting_exports_as_before(tmp_path: Path) -> None:
    """No mark: no importance section, and votes.csv keeps Pol.is's five columns."""
    summary = build_summary(full_log([]), None, now=NOW)
    assert "參與者最在意的意見" not in render(summary, "md").decode()
    write_polis(summary, tmp_path)
    header = (tmp_path / "votes.csv").read_text(encoding="utf-8").splitlines()[0]
    assert header == "timestamp,datetime,comment-id,voter-id,vote"


def full_log(marks: list[tuple[int, int]]) -> list[Event]:
    """Every event of the meeting (joins included), in order."""
    m, events = Meeting.create("ABCDEF", MeetingSettings(title="夜市"), hash_secret("k"), NOW,
                               ["延長營業。", "垃圾分類。", "行人徒步。"])

    def do(command: Any) -> dict[str, Any]:
        applied = m.apply(command, NOW)
        events.extend(applied.events)
        return applied.result

    do(SetPhase("collecting", op="h1"))
    people = [int(do(Join(hash_secret(f"token-{i}-xxxxxxxxxx")))["participant"]) for i in range(3)]
    for p in people:
        for s in range(3):
            do(Vote(p, s, "agree", op=f"v{p}{s}"))
    for n, (i, s) in enumerate(marks):
        do(MarkImportant(people[i], s, True, op=f"m{n}"))
    return events
