"""Rounds in every export (issue 23): the JSON gives each round's statements with the votes before and in the
round and who moved by role and by opinion group; Markdown and HTML say it in the projector's words; the Pol.is
folder's rounds.csv lists every vote cast in the round beside the one it replaced, so each count can be checked."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from facilitation.core.commands.rounds import OpenRound
from facilitation.core.commands.statements import Vote
from facilitation.core.events import Event
from facilitation.core.meeting import Join, Meeting, MeetingSettings, SetPhase, hash_secret
from facilitation.export import render
from facilitation.export.polis import write_polis
from facilitation.export.summary import Summary, build_summary
from tests.core.helpers import NOW


def meeting_with_a_second_round() -> tuple[list[Event], dict[str, Any], list[int]]:
    """Three 住戶 (group A: a, b; group B: c) and one 攤商 (B); round 1 on statement 0: 住戶 all 反對, 攤商 贊成;
    round 2: a and b 可接受, c keeps 反對, the 攤商 does not vote again."""
    settings = MeetingSettings(title="夜市", roles=("住戶", "攤商"))
    meeting, events = Meeting.create("ABCDEF", settings, hash_secret("k"), NOW, ["夜市應該提早收攤。", "增設停車區。"])

    def do(command: Any) -> dict[str, Any]:
        applied = meeting.apply(command, NOW)
        events.extend(applied.events)
        return applied.result

    do(SetPhase("collecting", op="h0"))
    people = [int(do(Join(hash_secret(f"token-{i}-xxxxxxxxxx"), role=role))["participant"])
              for i, role in enumerate(("住戶", "住戶", "住戶", "攤商"))]
    a, b, c, v = people
    for p, value in ((a, "disagree"), (b, "disagree"), (c, "disagree"), (v, "agree")):
        do(Vote(p, 0, value, op=f"r1-{p}"))
    do(OpenRound([0], op="open2"))
    for p, value in ((a, "acceptable"), (b, "acceptable"), (c, "disagree")):
        do(Vote(p, 0, value, op=f"r2-{p}"))
    analysis = {"run": 1, "seq": meeting.seq, "at": NOW,
                "result": {"groups": [{"id": "A", "members": [a, b]}, {"id": "B", "members": [c, v]}],
                           "participants": 4, "clustered": 4, "k": 2}}
    return events, analysis, people


def summary() -> Summary:
    events, analysis, _ = meeting_with_a_second_round()
    return build_summary(events, analysis, now=NOW)


def test_the_json_holds_both_rounds_and_the_shift_by_role_and_group() -> None:
    data = json.loads(render(summary(), "json"))
    (second,) = data["rounds"]
    (statement,) = second["statements"]
    assert second["round"] == 2 and statement["statement"] == 0
    assert statement["before"] == {"agree": 1, "disagree": 3}, "round 1 stays on record"
    assert statement["after"] == {"acceptable": 2, "disagree": 1}
    assert statement["by_role"] == {"住戶": {"voted": 3, "kept": 1, "new": 0, "moved": {"disagree->acceptable": 2}}}
    by_group = statement["by_group"]
    assert by_group["A"]["moved"] == {"disagree->acceptable": 2} and by_group["B"]["kept"] == 1
    values = {v["participant"]: v["value"] for v in data["votes"] if v["statement"] == 0}
    assert sorted(values.values()) == ["acceptable", "acceptable", "agree", "disagree"], "the map's: the latest"


def test_markdown_and_html_say_what_moved_as_the_projector_did() -> None:
    s = summary()
    markdown = render(s, "md").decode("utf-8")
    assert "## 再表態與意見變化" in markdown and "### 第 2 輪" in markdown
    assert "- 住戶：反對 → 可接受 2 人 · 維持 1 人" in markdown
    assert "- 第 2 輪有 3 人再表態（之前 4 人表態過）" in markdown
    assert "- 之前：贊成 1 · 反對 3；這一輪：可接受 2 · 反對 1" in markdown
    html = render(s, "html").decode("utf-8")
    assert "住戶：反對 → 可接受 2 人 · 維持 1 人" in html


def test_rounds_csv_lists_every_vote_of_the_round_beside_the_one_it_replaced(tmp_path: Path) -> None:
    paths = write_polis(summary(), tmp_path)
    assert tmp_path / "rounds.csv" in paths
    with (tmp_path / "rounds.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert [(r["round"], r["before"], r["vote"]) for r in rows] == [
        ("2", "disagree", "acceptable"), ("2", "disagree", "acceptable"), ("2", "disagree", "disagree")]
