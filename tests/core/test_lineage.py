"""Statement lineage (issue 24): the host rewords, splits and merges statements; the new ones keep their
author, the originals are hidden with a reason naming them, the lineage is in the log and replays."""

from __future__ import annotations

import json
from typing import Any

import pytest

from facilitation.core.codec import event_from_dict
from facilitation.core.commands.lineage import Lineage, Rewrite
from facilitation.core.commands.statements import PostStatement, Vote
from facilitation.core.meeting import CommandRefused, Join, Meeting, MeetingSettings, SetPhase, hash_secret
from facilitation.core.state import StatementState
from tests.core.helpers import NOW


def meeting_with_posts() -> tuple[Meeting, list[Any], list[int]]:
    meeting, events = Meeting.create("ABCDEF", MeetingSettings(title="夜市"), hash_secret("k"), NOW)
    events += meeting.apply(SetPhase("collecting", op="h1"), NOW).events
    people = [
        int(meeting.apply(Join(hash_secret(f"token-{n}-xxxxxxxxxx")), NOW).result["participant"]) for n in range(3)
    ]
    for n, text in enumerate(["降低攤位租金並把市場搬到河濱。", "夜市要有更多垃圾桶。", "夜市需要更多的垃圾桶。"]):
        events += meeting.apply(PostStatement(people[n], text, op=f"p{n}"), NOW).events
    return meeting, events, people


def refused(meeting: Meeting, command: Rewrite) -> CommandRefused:
    with pytest.raises(CommandRefused) as caught:
        meeting.apply(command, NOW)
    return caught.value


def test_reword_keeps_the_author_and_closes_the_original() -> None:
    meeting, _, people = meeting_with_posts()
    applied = meeting.apply(Rewrite("reword", [1], ["夜市應該多設幾個垃圾桶。"], op="r1"), NOW)
    assert applied.result == {"kind": "reword", "sources": [1], "statements": [3]}
    new = meeting.statements[3]
    assert new.author == people[1] and new.state is StatementState.ACCEPTED and not new.seed
    assert meeting.votes[people[1]][3] == "agree"  # the author's implicit agree, as with a post
    old = meeting.statements[1]
    assert old.state is StatementState.HIDDEN and old.reason == "已改寫為 #4"
    assert meeting.part(Lineage).public()["links"] == [{"kind": "reword", "sources": [1], "targets": [3], "at": NOW}]
    entry = next(e for e in meeting.moderation_log if e["action"] == "reword")
    assert entry["sources"] == [1] and entry["targets"] == [3]
    # resent: the same answer, nothing new; the op for other words: a conflict
    again = meeting.apply(Rewrite("reword", [1], ["夜市應該多設幾個垃圾桶。"], op="r1"), NOW)
    assert again.duplicate and again.result == applied.result and len(meeting.statements) == 4
    assert refused(meeting, Rewrite("reword", [1], ["別的說法。"], op="r1")).code == "op_conflict"


def test_reword_is_refused_once_someone_else_voted() -> None:
    meeting, _, people = meeting_with_posts()
    meeting.apply(SetPhase("voting", op="h2"), NOW)
    meeting.apply(Vote(people[0], 1, "disagree", op="v"), NOW)
    error = refused(meeting, Rewrite("reword", [1], ["夜市應該多設幾個垃圾桶。"], op="r2"))
    assert error.code == "has_votes" and "reword" in str(error)
    assert meeting.statements[1].state is StatementState.ACCEPTED and len(meeting.statements) == 3
    # the same words: nothing to change
    assert refused(meeting, Rewrite("reword", [0], ["降低攤位租金並把市場搬到河濱。"], op="r3")).code == "no_change"


def test_split_and_merge() -> None:
    meeting, _, people = meeting_with_posts()
    split = meeting.apply(Rewrite("split", [0], ["降低攤位租金。", "把市場搬到河濱。"], op="s1"), NOW)
    assert split.result["statements"] == [3, 4]
    assert [meeting.statements[s].author for s in (3, 4)] == [people[0], people[0]]
    assert meeting.statements[0].reason == "已拆分為 #4、#5"
    merged = meeting.apply(Rewrite("merge", [1, 2], ["夜市要多設垃圾桶。"], op="m1"), NOW)
    assert merged.result == {"kind": "merge", "sources": [1, 2], "statements": [5]}
    assert meeting.statements[5].author == people[1]  # the first listed one's author
    assert {meeting.statements[s].reason for s in (1, 2)} == {"已合併為 #6"}
    assert all(meeting.statements[s].state is StatementState.HIDDEN for s in (0, 1, 2))
    assert [e["action"] for e in meeting.moderation_log if e["action"] in ("split", "merge")] == ["split", "merge"]


@pytest.mark.parametrize(
    ("command", "code"),
    [
        (Rewrite("merge", [1], ["一句。"], op="x"), "too_few"),
        (Rewrite("merge", [1, 1], ["一句。"], op="x"), "invalid_statements"),
        (Rewrite("split", [0], ["只有一句。"], op="x"), "too_few"),
        (Rewrite("split", [0], ["同一句。", "同一句。"], op="x"), "duplicate"),
        (Rewrite("merge", [1, 9], ["一句。"], op="x"), "unknown_statement"),
        (Rewrite("reword", [0], ["夜市要有更多垃圾桶。"], op="x"), "duplicate"),
        (Rewrite("reword", [0], ["   "], op="x"), "empty"),
    ],
)
def test_refusals_carry_a_code_and_change_nothing(command: Rewrite, code: str) -> None:
    meeting, _, _ = meeting_with_posts()
    seq = meeting.seq
    error = refused(meeting, command)
    assert error.code == code and command.action in str(error)
    assert meeting.seq == seq and len(meeting.statements) == 3


def test_a_closed_statement_cannot_be_changed_again_nor_in_a_closed_meeting() -> None:
    meeting, _, _ = meeting_with_posts()
    meeting.apply(Rewrite("merge", [1, 2], ["夜市要多設垃圾桶。"], op="m1"), NOW)
    assert refused(meeting, Rewrite("reword", [1], ["又一句。"], op="x")).code == "not_open"
    for phase in ("voting", "reviewing", "closed"):
        meeting.apply(SetPhase(phase, op=phase), NOW)
    assert refused(meeting, Rewrite("split", [0], ["一。", "二。"], op="y")).code == "phase_forbids"


def test_lineage_replays_from_the_stored_log() -> None:
    meeting, events, _ = meeting_with_posts()
    events += meeting.apply(Rewrite("split", [0], ["降低攤位租金。", "把市場搬到河濱。"], op="s1"), NOW).events
    events += meeting.apply(Rewrite("merge", [1, 2], ["夜市要多設垃圾桶。"], op="m1"), NOW).events
    rebuilt = Meeting.replay([event_from_dict(json.loads(json.dumps(e.to_dict()))) for e in events])
    assert rebuilt.part(Lineage).links == meeting.part(Lineage).links
    assert rebuilt.moderation_log == meeting.moderation_log
    assert {s: (st.text, st.author, st.state, st.reason) for s, st in rebuilt.statements.items()} == {
        s: (st.text, st.author, st.state, st.reason) for s, st in meeting.statements.items()
    }
    assert rebuilt.apply(Rewrite("merge", [1, 2], ["夜市要多設垃圾桶。"], op="m1"), NOW).duplicate


def test_a_merge_may_keep_one_duplicates_words() -> None:
    """Merging a pending near-duplicate into an earlier statement with the earlier one's words: both close,
    the new statement says the same, and the text is now the new statement's (a later post of it is a
    duplicate of the new one)."""
    meeting, _, people = meeting_with_posts()
    merged = meeting.apply(Rewrite("merge", [1, 2], ["夜市要有更多垃圾桶。"], op="m"), NOW)
    assert merged.result["statements"] == [3]
    assert meeting.statements[3].text == "夜市要有更多垃圾桶。" and meeting.statements[3].author == people[1]
    with pytest.raises(CommandRefused) as caught:
        meeting.apply(PostStatement(people[0], "夜市要有更多垃圾桶。", op="again"), NOW)
    assert caught.value.code == "duplicate" and "#3" in str(caught.value)
