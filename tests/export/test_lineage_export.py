"""Statement lineage in the exports (issue 24): the JSON summary's lineage and moderation log, the Markdown
log line in the numbers readers use, and the Pol.is sidecar, through export then import-polis."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from facilitation.core.commands.lineage import Lineage, Rewrite
from facilitation.core.commands.statements import PostStatement, Vote
from facilitation.core.meeting import Join, Meeting, MeetingSettings, SetPhase, hash_secret
from facilitation.export import render
from facilitation.export.polis import write_polis
from facilitation.export.summary import build_summary
from facilitation.tools.import_polis import build_events, read_folder
from tests.core.helpers import NOW


def lineage_meeting() -> tuple[Meeting, list[Any]]:
    meeting, events = Meeting.create("LINEAG", MeetingSettings(title="夜市"), hash_secret("k"), NOW)

    def apply(command: Any) -> dict[str, Any]:
        applied = meeting.apply(command, NOW)
        events.extend(applied.events)
        return applied.result

    apply(SetPhase("collecting", op="c"))
    people = [int(apply(Join(hash_secret(f"token-{n}-xxxxxxxxxx")))["participant"]) for n in range(3)]
    for n, text in enumerate(
        ["降低租金並把市場搬到河濱。", "夜市要有更多垃圾桶。", "夜市需要更多的垃圾桶。", "攤位早點收。"]
    ):
        apply(PostStatement(people[n % 3], text, op=f"p{n}"))
    apply(SetPhase("voting", op="v"))
    apply(Vote(people[1], 0, "agree", op="x1"))
    apply(Rewrite("split", [0], ["降低攤位租金。", "把市場搬到河濱。"], op="s"))  # -> 4, 5
    apply(Rewrite("merge", [1, 2], ["夜市要多設垃圾桶。"], op="m"))  # -> 6
    apply(Rewrite("reword", [3], ["攤位晚上十點收攤。"], op="r"))  # -> 7
    return meeting, events


def test_the_json_and_markdown_give_the_lineage() -> None:
    _, events = lineage_meeting()
    summary = build_summary(events, None, now=NOW)
    data = json.loads(render(summary, "json"))
    assert [(x["kind"], x["sources"], x["targets"]) for x in data["lineage"]] == [
        ("split", [0], [4, 5]),
        ("merge", [1, 2], [6]),
        ("reword", [3], [7]),
    ]
    log = [e for e in data["moderation_log"] if e["action"] in ("split", "merge", "reword")]
    assert [(e["sources"], e["targets"]) for e in log] == [([0], [4, 5]), ([1, 2], [6]), ([3], [7])]
    reasons = {s["id"]: s["reason"] for s in data["statements"] if s["id"] < 4}
    assert reasons == {0: "已拆分為 #5、#6", 1: "已合併為 #7", 2: "已合併為 #7", 3: "已改寫為 #8"}
    md = render(summary, "md").decode()
    assert "| 合併 | 2 |  | \\#2、\\#3 → \\#7 |" in md  # Markdown escapes the "#"
    assert "| 拆分 | 1 |  | \\#1 → \\#5、\\#6 |" in md
    assert "#4 → #8" in render(summary, "html").decode()


def test_lineage_survives_a_polis_round_trip(tmp_path: Path) -> None:
    meeting, events = lineage_meeting()
    folder = tmp_path / "polis"
    write_polis(build_summary(events, None, now=NOW), folder)
    sidecar = json.loads((folder / "facilitation.json").read_text(encoding="utf-8"))
    assert [x["kind"] for x in sidecar["lineage"]] == ["split", "merge", "reword"]
    restored, restored_events = build_events(read_folder(folder), "BACKIN", hash_secret("k2"))

    def by_text(m: Meeting) -> list[tuple[str, list[str], list[str]]]:
        text = {s.id: s.text for s in m.statements.values()}
        return [
            (x["kind"], [text[i] for i in x["sources"]], [text[i] for i in x["targets"]]) for x in m.part(Lineage).links
        ]

    assert by_text(restored) == by_text(meeting)
    again = build_summary(restored_events, None, now=NOW)
    assert {s.text: s.reason for s in again.statements if s.state == "hidden"} == {
        "降低租金並把市場搬到河濱。": "已拆分為 #5、#6",
        "夜市要有更多垃圾桶。": "已合併為 #7",
        "夜市需要更多的垃圾桶。": "已合併為 #7",
        "攤位早點收。": "已改寫為 #8",
    }
    assert [(e.sources, e.targets) for e in again.moderation_log if e.targets] == [
        ((0,), (4, 5)),
        ((1, 2), (6,)),
        ((3,), (7,)),
    ]
