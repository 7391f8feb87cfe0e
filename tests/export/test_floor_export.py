"""The speaking queue in the reports (issue 23): turns and time by role and by opinion group add up to the
turns the log keeps, and the report names the roles present that never spoke."""

from __future__ import annotations

import json
from typing import Any

from facilitation.core.commands.floor import AskFloor, EndFloor, GiveFloor
from facilitation.core.events import Event
from facilitation.core.meeting import Join, Meeting, MeetingSettings, SetPhase, hash_secret
from facilitation.export import render
from facilitation.export.summary import build_summary
from tests.core.helpers import NOW


def meeting_with_turns() -> tuple[list[Event], dict[str, Any]]:
    """Two 住戶 (groups A and B) speak 60 s and 30 s; the 攤商 and the 市府 person never speak."""
    settings = MeetingSettings(title="夜市", roles=("住戶", "攤商", "市府"))
    meeting, events = Meeting.create("ABCDEF", settings, hash_secret("k"), NOW, ["一。"])

    def do(command: Any, at: float = 0) -> dict[str, Any]:
        applied = meeting.apply(command, NOW + at)
        events.extend(applied.events)
        return applied.result

    do(SetPhase("collecting", op="c"))
    a, b, v, g = (int(do(Join(hash_secret(f"token-{i}-xxxxxxxxxx"), role=role))["participant"])
                  for i, role in enumerate(("住戶", "住戶", "攤商", "市府")))
    for p in (a, b, v):
        do(AskFloor(p, op=f"ask{p}"))
    do(GiveFloor(a, op="g1"), 0)
    do(GiveFloor(b, op="g2"), 60)
    do(EndFloor(op="e"), 90)
    analysis = {"run": 1, "seq": meeting.seq, "at": NOW,
                "result": {"groups": [{"id": "A", "members": [a, v]}, {"id": "B", "members": [b, g]}],
                           "participants": 4, "clustered": 4, "k": 2}}
    return events, analysis


def test_turns_and_time_by_role_and_group_and_the_unheard_roles() -> None:
    events, analysis = meeting_with_turns()
    summary = build_summary(events, analysis, now=NOW)
    data = json.loads(render(summary, "json"))["floor"]
    assert data["turns"] == 2 and data["seconds"] == 90.0 and data["asked"] == 1
    assert data["by_role"] == [{"name": "住戶", "turns": 2, "seconds": 90.0}]
    assert data["by_group"] == [{"name": "A", "turns": 1, "seconds": 60.0},
                                {"name": "B", "turns": 1, "seconds": 30.0}]
    assert data["unheard_roles"] == ["市府", "攤商"]
    markdown = render(summary, "md").decode("utf-8")
    assert "- 住戶：2 次，1 分 30 秒" in markdown and "- 在場但沒有發言的身分：市府、攤商" in markdown
    assert "市府、攤商" in render(summary, "html").decode("utf-8")
