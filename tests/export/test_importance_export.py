"""“This matters to me” in the exports (issue 24): the JSON counts the marks per statement and per vote, the
Markdown and HTML rank the marked statements, and the Pol.is votes.csv carries a 0/1 ``important`` column
(as Pol.is does when importance is on) only when someone marked something, which import-polis reads back."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from facilitation.core.commands.importance import Importance, MarkImportant
from facilitation.core.commands.statements import Vote
from facilitation.core.events import Event
from facilitation.core.meeting import Join, Meeting, MeetingSettings, SetPhase, hash_secret
from facilitation.export import render
from facilitation.export.polis import write_polis
from facilitation.export.summary import build_summary
from facilitation.tools.import_polis import PolisImportError, build_events, read_folder
from tests.core.helpers import NOW
from tests.export.conftest import export_to, import_folder, store_events


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


def test_importance_survives_an_export_import_round_trip_through_sqlite(tmp_path: Path) -> None:
    """A meeting stored in SQLite, exported with `facilitation export --format polis`, imported back with
    `facilitation import-polis` and exported as JSON: the same marks on the same votes."""
    store_url = f"sqlite:///{tmp_path / 'meetings.db'}"
    events = full_log([(0, 2), (1, 2), (2, 0)])
    store_events(store_url, events)
    export_to("ABCDEF", "polis", tmp_path / "polis", store_url)
    code = import_folder(tmp_path / "polis", store_url)
    assert code != "ABCDEF"
    before = json.loads(render(build_summary(events, None, now=NOW), "json"))
    after = json.loads(export_to(code, "json", tmp_path / "again.json", store_url).read_text(encoding="utf-8"))
    assert [s["important"] for s in after["statements"]] == [s["important"] for s in before["statements"]] == [1, 0, 2]
    assert {(v["participant"], v["statement"]) for v in after["votes"] if v["important"]} == \
        {(v["participant"], v["statement"]) for v in before["votes"] if v["important"]}


def test_import_reads_polis_important_column_on_the_latest_vote(tmp_path: Path) -> None:
    """A Pol.is votes.csv with an important column: the mark of each pair's latest vote is kept (a later
    unmarked vote takes an earlier mark back); a value other than 0/1 is refused, naming the column."""
    (tmp_path / "comments.csv").write_text(
        "timestamp,datetime,comment-id,author-id,agrees,disagrees,moderated,comment-body\n"
        "1000,x,5,1,1,0,1,Open the market later\n1000,x,7,1,1,0,1,More bins\n", encoding="utf-8")
    (tmp_path / "votes.csv").write_text(
        "timestamp,datetime,comment-id,voter-id,vote,important\n"
        "2000,x,5,1,1,1\n2000,x,7,1,-1,1\n3000,x,7,1,1,0\n2500,x,5,2,0,1\n2600,x,7,2,1,\n", encoding="utf-8")
    data = read_folder(tmp_path)
    assert data.important == {(1, 5), (2, 5)}
    meeting, _ = build_events(data, "MARKED", hash_secret("k"))
    assert {s: sorted(p) for s, p in meeting.part(Importance).marks.items() if p} == {0: [0, 1]}
    (tmp_path / "votes.csv").write_text("timestamp,datetime,comment-id,voter-id,vote,important\n2000,x,5,1,1,yes\n",
                                        encoding="utf-8")
    with pytest.raises(PolisImportError, match="important"):
        read_folder(tmp_path)
