"""The speaking queue (issue 23) in the pure core: phones ask with their role, the least heard roles and groups
come first, the host gives the floor to anyone queued and ends turns, every turn is kept with its role and
times, refusals name what is wrong, and a replay rebuilds queue, speaker and turns."""

from __future__ import annotations

import pytest

from facilitation.core.commands.floor import AskFloor, EndFloor, Floor, GiveFloor, WithdrawFloor, order
from facilitation.core.events import Event
from facilitation.core.meeting import CommandRefused, Join, Meeting, SetPhase, hash_secret
from tests.core.helpers import NOW, new_meeting


def room() -> tuple[Meeting, list[Event], list[int]]:
    meeting, events = Meeting.create("ABCDEF", new_meeting().settings, new_meeting().host_key_hash, NOW, ["一。"])
    events += meeting.apply(SetPhase("collecting", op="c"), NOW).events
    people = []
    for i, role in enumerate(("resident", "resident", "vendor")):
        applied = meeting.apply(Join(hash_secret(f"token-{i:012d}"), role=role), NOW)
        events += applied.events
        people.append(int(applied.result["participant"]))
    return meeting, events, people


def test_the_unheard_role_comes_first_and_turns_are_kept() -> None:
    """Two residents and a vendor ask; after a resident spoke, the vendor is ahead of the other resident."""
    meeting, events, (r1, r2, v) = room()
    for pid, at in ((r1, 1), (r2, 2), (v, 3)):
        events += meeting.apply(AskFloor(pid, op=f"ask{pid}"), NOW + at).events
    floor = meeting.part(Floor)
    assert [q["participant"] for q in order(floor.queue, floor.turns, {})] == [r1, r2, v]
    events += meeting.apply(GiveFloor(r1, op="g1"), NOW + 10).events
    events += meeting.apply(EndFloor(op="e1"), NOW + 70).events
    assert floor.turns == [{"participant": r1, "role": "resident", "started_at": NOW + 10, "ended_at": NOW + 70}]
    assert [q["participant"] for q in order(floor.queue, floor.turns, {})] == [v, r2]
    assert meeting.public_state()["floor"]["heard"] == {"resident": 1}
    replayed = Meeting.replay(events)
    assert replayed.part(Floor).turns == floor.turns and replayed.part(Floor).queue == floor.queue


def test_an_unheard_group_comes_before_a_heard_one_of_the_same_role() -> None:
    _, _, (r1, r2, _v) = room()
    turns = [{"participant": 9, "role": "vendor", "started_at": 0, "ended_at": 1}]
    queue = [{"participant": r1, "role": "resident", "asked_at": 1},
             {"participant": r2, "role": "resident", "asked_at": 2}]
    assert [q["participant"] for q in order(queue, turns, {9: "A", r1: "A", r2: "B"})] == [r2, r1]


def test_giving_the_floor_finishes_the_turn_before_and_the_host_may_override_the_order() -> None:
    meeting, _, (r1, r2, v) = room()
    for pid in (r1, r2, v):
        meeting.apply(AskFloor(pid, op=f"a{pid}"), NOW)
    meeting.apply(GiveFloor(v, op="g1"), NOW + 1)  # not first in line: the host's choice
    meeting.apply(GiveFloor(r2, op="g2"), NOW + 5)
    floor = meeting.part(Floor)
    assert [t["participant"] for t in floor.turns] == [v] and floor.speaking is not None
    assert floor.speaking["participant"] == r2 and [q["participant"] for q in floor.queue] == [r1]


def test_refusals() -> None:
    meeting, _, (r1, r2, _v) = room()
    meeting.apply(AskFloor(r1, op="a"), NOW)
    for command, code in ((AskFloor(r1, op="b"), "no_change"), (WithdrawFloor(r2, op="w"), "no_change"),
                          (GiveFloor(r2, op="g"), "not_queued"), (EndFloor(op="e"), "no_change"),
                          (GiveFloor(99, op="x"), "unknown_participant")):
        with pytest.raises(CommandRefused) as refused:
            meeting.apply(command, NOW)
        assert refused.value.code == code, command
    meeting.apply(WithdrawFloor(r1, op="w1"), NOW)
    assert meeting.part(Floor).queue == []
    meeting.apply(SetPhase("voting", op="v"), NOW)
    meeting.apply(SetPhase("reviewing", op="r"), NOW)
    meeting.apply(SetPhase("closed", op="x"), NOW)
    with pytest.raises(CommandRefused) as closed:
        meeting.apply(AskFloor(r2, op="late"), NOW)
    assert closed.value.code == "phase_forbids"
