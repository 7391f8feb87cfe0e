"""The consent checks in every export (issue 24): the JSON gives each check's text, its answers in all, by
opinion group and by stakeholder role, and each objection with how it was handled; the Markdown, HTML and
record say the same in words, and call a check agreed only when no one who answered objected."""

from __future__ import annotations

import json
from typing import Any

from facilitation.core.commands.consent import AnswerCheck, OpenCheck
from facilitation.core.commands.statements import Moderate, Vote
from facilitation.core.events import Event
from facilitation.core.meeting import Join, Meeting, MeetingSettings, SetPhase, hash_secret
from facilitation.export import render
from facilitation.export.summary import Summary, build_summary
from tests.core.helpers import NOW

REASON = "十點太晚，住戶需要安靜。"


def meeting_with_two_checks() -> tuple[list[Event], dict[str, Any]]:
    """Four people (two 攤商 in group A, two 住戶 in group B); check 1 draws one objection, whose reason the host
    accepts and bundles into check 2, which nobody objects to."""
    settings = MeetingSettings(title="夜市", roles=("攤商", "住戶"))
    seeds = ["延長營業到十點。", "設置垃圾分類站。"]
    meeting, events = Meeting.create("ABCDEF", settings, hash_secret("k"), NOW, seeds)

    def do(command: Any) -> dict[str, Any]:
        applied = meeting.apply(command, NOW)
        events.extend(applied.events)
        return applied.result

    do(SetPhase("collecting", op="h0"))
    people = [int(do(Join(hash_secret(f"token-{i}-xxxxxxxxxx"), role=role))["participant"])
              for i, role in enumerate(("攤商", "攤商", "住戶", "住戶"))]
    for p in people:
        do(Vote(p, 0, "agree", op=f"v{p}"))
    do(SetPhase("voting", op="h1"))
    do(SetPhase("reviewing", op="h2"))
    a, b, c, d = people
    do(OpenCheck("延長營業到十點，並設置垃圾分類站。", [0, 1], op="h3"))
    do(AnswerCheck(a, 1, "consent", op="a1"))
    do(AnswerCheck(b, 1, "live_with", op="b1"))
    reason_statement = do(AnswerCheck(c, 1, "object", REASON, op="c1"))["statement"]
    do(AnswerCheck(d, 1, "consent", op="d1"))
    do(Moderate(reason_statement, "accept", op="h4"))
    do(OpenCheck("延長營業到九點半，並設置垃圾分類站。", [0, 1, reason_statement], op="h5"))
    for p, answer in zip(people, ("consent", "consent", "live_with", "consent"), strict=True):
        do(AnswerCheck(p, 2, answer, op=f"x{p}"))
    analysis = {"run": 1, "seq": meeting.seq, "at": NOW,
                "result": {"groups": [{"id": "A", "members": [a, b]}, {"id": "B", "members": [c, d]}],
                           "participants": 4, "clustered": 4, "k": 2}}
    return events, analysis


def summary() -> Summary:
    events, analysis = meeting_with_two_checks()
    return build_summary(events, analysis, now=NOW)


def test_the_json_gives_each_check_by_group_and_role_and_the_objection_handled() -> None:
    """Counts in all, by group and by role add up; the objection names its statement, state and next check."""
    data = json.loads(render(summary(), "json"))
    first, second = data["checks"]
    assert first["text"] == "延長營業到十點，並設置垃圾分類站。" and first["statements"] == [0, 1]
    assert first["counts"] == {"name": "", "consent": 2, "live_with": 1, "object": 1}
    assert first["outcome"] == "objected"
    assert {g["name"]: (g["consent"], g["live_with"], g["object"]) for g in first["by_group"]} == {
        "A": (1, 1, 0), "B": (1, 0, 1)}
    assert {r["name"]: (r["consent"], r["live_with"], r["object"]) for r in first["by_role"]} == {
        "攤商": (1, 1, 0), "住戶": (1, 0, 1)}
    (objection,) = first["objections"]
    assert objection["reason"] == REASON and objection["role"] == "住戶" and objection["group"] == "B"
    assert objection["state"] == "accepted" and objection["taken_into"] == 2
    assert objection["next_answer"] == "live_with" and objection["latest_answer"] == "object"
    assert second["counts"] == {"name": "", "consent": 3, "live_with": 1, "object": 0}
    assert second["outcome"] == "no_objection" and second["objections"] == []
    assert {g["name"]: (g["consent"], g["live_with"]) for g in second["by_group"]} == {"A": (2, 0), "B": (1, 1)}


def test_markdown_html_and_record_show_both_checks_in_words() -> None:
    """Each writer names both checks, the objection's reason and handling, and never says "everyone agrees"."""
    s = summary()
    md = render(s, "md").decode()
    assert "第 1 次確認：作答的 4 人中有 1 人提出異議" in md
    assert "第 2 次確認：作答的 4 人中無人提出異議" in md
    assert "| A 組 | 1 | 1 | 0 | 2 |" in md and "| 住戶 | 1 | 0 | 1 | 2 |" in md
    assert "已列為第 3 則意見供大家表態" in md and "第 2 次確認的草案已納入" in md
    html = render(s, "html").decode()
    assert 'id="check-2"' in html and "十點太晚，住戶需要安靜。" in html
    assert "作答的 4 人中無人提出異議" in html
    record = render(s, "record").decode()
    assert "第 1 次確認：作答的 4 人中有 1 人提出異議" in record and "提出者對第 2 次確認的回覆：可以接受" in record
    for text in (md, html, record):
        assert "所有人都同意" not in text and "大家都同意" not in text


def test_a_meeting_without_checks_has_no_check_section() -> None:
    """No check, no heading: reports of earlier meetings do not change."""
    settings = MeetingSettings(title="夜市")
    _, events = Meeting.create("ABCDEF", settings, hash_secret("k"), NOW, ["一。"])
    s = build_summary(events, None, now=NOW)
    assert s.checks == () and "共識確認" not in render(s, "md").decode()
