"""Rounds and opinion shift (issue 23) in the pure core: the host opens round 2 on some statements, phones vote
on them again, the earlier votes stay on record, the map's votes are the latest, the shift by role counts who
moved from what to what, and a replay after a restart mid-round rebuilds the same round."""

from __future__ import annotations

import pytest

from facilitation.core.commands.rounds import CloseRound, OpenRound, Rounds, shift
from facilitation.core.events import Event
from facilitation.core.meeting import (
    CommandRefused,
    Join,
    Meeting,
    Moderate,
    Phase,
    SetPhase,
    SetProfile,
    Vote,
    hash_secret,
)
from facilitation.core.next_statement import Router
from facilitation.core.views import projector_snapshot, view_for
from tests.core.helpers import NOW, new_meeting

SEEDS = tuple(f"第 {i} 則意見。" for i in range(6))


def room() -> tuple[Meeting, list[Event], list[int]]:
    meeting, events = Meeting.create("ABCDEF", new_meeting().settings, new_meeting().host_key_hash, NOW, SEEDS)
    for phase in ("collecting", "voting"):
        events += meeting.apply(SetPhase(phase, op=phase), NOW).events
    people = []
    for i, role in enumerate(("resident", "resident", "resident", "vendor")):
        applied = meeting.apply(Join(hash_secret(f"token-{i:012d}")), NOW)
        events += applied.events
        pid = int(applied.result["participant"])
        events += meeting.apply(SetProfile(pid, f"p{i}", role, f"r{i}"), NOW).events
        people.append(pid)
    return meeting, events, people


def vote(meeting: Meeting, events: list[Event], pid: int, sid: int, value: str, op: str) -> None:
    events.extend(meeting.apply(Vote(pid, sid, value, op), NOW).events)


def test_round_two_keeps_round_one_and_counts_the_shift_by_role() -> None:
    """Three residents disagree on #3 in round 1; in round 2 two move to acceptable, one keeps disagree; the
    meeting's votes (the map's) are the latest, round 1's stay in the round's `before`."""
    meeting, events, (a, b, c, v) = room()
    for pid, value in ((a, "disagree"), (b, "disagree"), (c, "disagree"), (v, "agree")):
        vote(meeting, events, pid, 2, value, f"r1-{pid}")
    applied = meeting.apply(OpenRound([2, 4], op="open2"), NOW + 60)
    assert applied.result == {"round": 2, "statements": [2, 4]}
    events += applied.events
    for pid, value in ((a, "acceptable"), (b, "acceptable"), (c, "disagree")):
        vote(meeting, events, pid, 2, value, f"r2-{pid}")
    current = meeting.part(Rounds).current
    assert current is not None and current.number == 2
    assert current.before[2] == {a: "disagree", b: "disagree", c: "disagree", v: "agree"}
    assert current.after[2] == {a: "acceptable", b: "acceptable", c: "disagree"}
    assert meeting.votes[a][2] == "acceptable" and meeting.votes[v][2] == "agree"
    role = {p.id: p.role for p in meeting.participants.values()}
    moved = shift(current.before[2], current.after[2], lambda p: role[p])
    assert moved == {"resident": {"voted": 3, "kept": 1, "new": 0, "moved": {"disagree->acceptable": 2}}}
    assert meeting.public_state()["rounds"]["current"] == 2


def test_phones_get_the_round_s_statements_again_first() -> None:
    """A phone that voted on everything gets the round's statements as its next cards, until it voted again."""
    meeting, events, (a, *_rest) = room()
    for sid in range(len(SEEDS)):
        vote(meeting, events, a, sid, "agree", f"all-{sid}")
    router = Router()
    assert router.next_for(meeting, a, {}, 1) is None
    events += meeting.apply(OpenRound([4, 1], op="open2"), NOW).events
    first = router.next_for(meeting, a, {}, 1)
    assert first is not None and first.id == 4
    vote(meeting, events, a, 4, "agree", "again-4")  # keeping one's vote is voting again
    second = router.next_for(meeting, a, {}, 1)
    assert second is not None and second.id == 1
    vote(meeting, events, a, 1, "disagree", "again-1")
    assert router.next_for(meeting, a, {}, 1) is None
    events += meeting.apply(CloseRound(op="close2"), NOW).events
    assert meeting.part(Rounds).current is None


def test_a_new_round_closes_the_open_one_and_numbers_on() -> None:
    meeting, events, _ = room()
    events += meeting.apply(OpenRound([1], op="o2"), NOW).events
    events += meeting.apply(OpenRound([2], op="o3"), NOW + 5).events
    rounds = meeting.part(Rounds).rounds
    assert [r.number for r in rounds] == [2, 3] and rounds[0].closed_at == NOW + 5


@pytest.mark.parametrize(("statements", "code"), [
    ([], "invalid_field"), ([1, 1], "invalid_field"), ([99], "unknown_statement"), ([5], "not_votable")])
def test_a_round_needs_votable_statements_named_once(statements: list[int], code: str) -> None:
    meeting, _, _ = room()
    meeting.apply(Moderate(5, "hide", "", "hide5"), NOW)
    with pytest.raises(CommandRefused) as refused:
        meeting.apply(OpenRound(statements, op="bad"), NOW)
    assert refused.value.code == code
    assert meeting.part(Rounds).rounds == []


@pytest.mark.parametrize("phase", [Phase.LOBBY, Phase.REVIEWING, Phase.CLOSED])
def test_a_round_is_refused_where_phones_cannot_vote(phase: Phase) -> None:
    meeting = new_meeting(seeds=SEEDS, phase=phase)
    with pytest.raises(CommandRefused) as refused:
        meeting.apply(OpenRound([1], op="o"), NOW)
    assert refused.value.code == "phase_forbids" and repr(phase.value) in refused.value.message


def test_closing_with_no_round_open_is_refused() -> None:
    meeting, _, _ = room()
    with pytest.raises(CommandRefused) as refused:
        meeting.apply(CloseRound(op="c"), NOW)
    assert refused.value.code == "no_change"


def test_the_projector_starts_from_both_tables_and_the_roles() -> None:
    meeting, events, (a, b, c, v) = room()
    vote(meeting, events, a, 2, "disagree", "x")
    event = meeting.apply(OpenRound([2], op="o2"), NOW).events[0]
    projected = view_for(event, "projector", None, meeting)
    assert projected is not None and projected["screen"]["before"] == {"2": {str(a): "disagree"}}
    assert projected["screen"]["roles"] == {"resident": [a, b, c], "vendor": [v]}
    phone = view_for(event, "participant", b, meeting)
    assert phone is not None and "screen" not in phone
    vote(meeting, events, a, 2, "agree", "y")
    assert projector_snapshot(meeting)["screens"]["rounds"]["after"] == {"2": {str(a): "agree"}}


def test_a_replay_after_a_restart_mid_round_rebuilds_both_tables() -> None:
    meeting, events, (a, b, _c, _v) = room()
    vote(meeting, events, a, 2, "disagree", "x1")
    vote(meeting, events, b, 2, "agree", "x2")
    events += meeting.apply(OpenRound([2, 3], op="o2"), NOW).events
    vote(meeting, events, a, 2, "acceptable", "y1")
    replayed = Meeting.replay(events)
    mine, theirs = replayed.part(Rounds).current, meeting.part(Rounds).current
    assert mine is not None and theirs is not None
    assert (mine.number, mine.before, mine.after) == (theirs.number, theirs.before, theirs.after)
    vote(replayed, events, b, 2, "disagree", "y2")  # the replayed meeting follows votes too
    assert mine.after[2] == {a: "acceptable", b: "disagree"}
    assert replayed.apply(OpenRound([2, 3], op="o2"), NOW).duplicate
