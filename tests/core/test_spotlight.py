"""The spotlight (issue 23) in the pure core: the host puts one statement before the room with an optional
countdown and ends it; phones that have not voted on it get it next; the projector starts its tally from who
voted what and everyone's role; the log replays to the same spotlight and history."""

from __future__ import annotations

import json

import pytest

from facilitation.core.commands.spotlight import (
    MAX_SPOTLIGHT_SECONDS,
    EndSpotlight,
    Spotlight,
    StartSpotlight,
    spotlit,
)
from facilitation.core.errors import ClientError
from facilitation.core.events import Event
from facilitation.core.meeting import CommandRefused, Meeting, Moderate, Phase, SetPhase, SetProfile, Vote
from facilitation.core.next_statement import Router
from facilitation.core.protocol import parse_client_message
from facilitation.core.views import participant_snapshot, projector_snapshot, view_for
from tests.core.helpers import NOW, join, new_meeting

SEEDS = tuple(f"第 {i} 則意見。" for i in range(8))


def meeting_with_voters() -> tuple[Meeting, list[int]]:
    meeting = new_meeting(seeds=SEEDS, phase=Phase.VOTING)
    people = [join(meeting, f"token-{i:012d}") for i in range(3)]
    meeting.apply(SetProfile(people[0], "甲", "resident", "r0"), NOW)
    meeting.apply(SetProfile(people[1], "乙", "vendor", "r1"), NOW)
    return meeting, people


def test_a_spotlight_with_a_countdown_has_its_deadline_on_the_server_clock() -> None:
    """`spotlight` with 30 seconds: the deadline is the command's time plus 30, shown in every snapshot."""
    meeting, _ = meeting_with_voters()
    applied = meeting.apply(StartSpotlight(3, 30, op="s1"), NOW)
    assert [e.type for e in applied.events] == ["spotlight_started"]
    assert applied.result == {"statement": 3, "deadline": NOW + 30}
    assert meeting.public_state()["spotlight"] == {"statement": 3, "started_at": NOW, "seconds": 30,
                                                   "deadline": NOW + 30}


def test_a_spotlight_without_a_countdown_has_no_deadline() -> None:
    meeting, _ = meeting_with_voters()
    assert meeting.apply(StartSpotlight(2, op="s1"), NOW).result == {"statement": 2, "deadline": 0.0}


def test_ending_takes_the_statement_down_and_keeps_it_in_the_history() -> None:
    """`spotlight_end` clears the spotlight; the history says which statement was up from when to when."""
    meeting, _ = meeting_with_voters()
    meeting.apply(StartSpotlight(3, 30, op="s1"), NOW)
    applied = meeting.apply(EndSpotlight(op="e1"), NOW + 42)
    assert [e.type for e in applied.events] == ["spotlight_ended"] and applied.result == {"statement": 3}
    assert spotlit(meeting) is None
    assert meeting.part(Spotlight).history == [{"statement": 3, "started_at": NOW, "ended_at": NOW + 42,
                                                "seconds": 30}]


def test_a_new_spotlight_replaces_the_one_up() -> None:
    meeting, _ = meeting_with_voters()
    meeting.apply(StartSpotlight(3, op="s1"), NOW)
    meeting.apply(StartSpotlight(5, 60, op="s2"), NOW + 10)
    assert spotlit(meeting) == 5
    assert [h["statement"] for h in meeting.part(Spotlight).history] == [3]


def test_ending_with_nothing_up_is_refused() -> None:
    meeting, _ = meeting_with_voters()
    with pytest.raises(CommandRefused) as refused:
        meeting.apply(EndSpotlight(op="e1"), NOW)
    assert refused.value.code == "no_change"


@pytest.mark.parametrize("phase", [Phase.LOBBY, Phase.REVIEWING, Phase.CLOSED])
def test_a_spotlight_is_refused_where_phones_cannot_vote(phase: Phase) -> None:
    """The refusal names the phase; nothing changes."""
    meeting = new_meeting(seeds=SEEDS, phase=phase)
    with pytest.raises(CommandRefused) as refused:
        meeting.apply(StartSpotlight(1, op="s1"), NOW)
    assert refused.value.code == "phase_forbids" and repr(phase.value) in refused.value.message
    assert spotlit(meeting) is None


def test_only_a_statement_open_for_votes_can_be_spotlighted() -> None:
    meeting, _ = meeting_with_voters()
    with pytest.raises(CommandRefused) as unknown:
        meeting.apply(StartSpotlight(99, op="s1"), NOW)
    assert unknown.value.code == "unknown_statement"
    meeting.apply(Moderate(4, "hide", "", "h"), NOW)
    with pytest.raises(CommandRefused) as hidden:
        meeting.apply(StartSpotlight(4, op="s2"), NOW)
    assert hidden.value.code == "not_votable"


def test_the_wire_refuses_a_countdown_over_an_hour_or_under_ten_seconds_with_its_op() -> None:
    frame = {"type": "spotlight", "op": "s9", "statement": 1, "seconds": MAX_SPOTLIGHT_SECONDS + 1}
    with pytest.raises(ClientError) as refused:
        parse_client_message(json.dumps(frame))
    assert refused.value.code == "invalid_field" and refused.value.op == "s9"
    with pytest.raises(ClientError):
        parse_client_message(json.dumps({**frame, "op": "s8", "seconds": 5}))
    ok = parse_client_message(json.dumps({**frame, "seconds": MAX_SPOTLIGHT_SECONDS}))
    assert ok is not None


def test_a_resent_op_is_not_applied_twice_and_a_reused_one_conflicts() -> None:
    meeting, _ = meeting_with_voters()
    meeting.apply(StartSpotlight(3, 30, op="s1"), NOW)
    again = meeting.apply(StartSpotlight(3, 30, op="s1"), NOW + 5)
    assert again.duplicate and again.result == {"statement": 3, "deadline": NOW + 30}
    with pytest.raises(CommandRefused) as conflict:
        meeting.apply(StartSpotlight(4, 30, op="s1"), NOW)
    assert conflict.value.code == "op_conflict"


def test_phones_that_have_not_voted_on_it_get_it_next_and_the_others_do_not() -> None:
    """The next-card rule puts the spotlighted statement first, for as long as it is up."""
    meeting, (a, b, _) = meeting_with_voters()
    router = Router()
    meeting.apply(Vote(b, 6, "disagree", "v1"), NOW)
    meeting.apply(StartSpotlight(6, op="s1"), NOW)
    chosen = router.next_for(meeting, a, {}, 1)
    assert chosen is not None and chosen.id == 6
    chosen_b = router.next_for(meeting, b, {}, 1)
    assert chosen_b is not None and chosen_b.id != 6
    meeting.apply(EndSpotlight(op="e1"), NOW)
    after = router.next_for(meeting, a, {}, 1)
    assert after is not None and after.id == 0  # the ordinary rule again: fewest votes, oldest first


def test_the_projector_starts_from_who_voted_what_and_everyone_s_role() -> None:
    """The projector's view of the event and its snapshot carry the voters and the roles; a phone's carry
    neither (its snapshot has only the spotlight's four public numbers)."""
    meeting, (a, b, c) = meeting_with_voters()
    meeting.apply(Vote(a, 6, "agree", "v1"), NOW)
    meeting.apply(Vote(b, 6, "disagree", "v2"), NOW)
    event: Event = meeting.apply(StartSpotlight(6, 30, op="s1"), NOW).events[0]
    screen = {"statement": 6, "voters": {str(a): "agree", str(b): "disagree"},
              "roles": {"resident": [a], "vendor": [b], "": [c]}}
    projected = view_for(event, "projector", None, meeting)
    assert projected is not None and projected["screen"] == screen
    assert projector_snapshot(meeting)["screens"]["spotlight"] == screen
    phone = view_for(event, "participant", c, meeting)
    assert phone is not None and "screen" not in phone
    assert "screens" not in participant_snapshot(meeting, c)


def test_a_replay_rebuilds_the_spotlight_and_its_history() -> None:
    """After a restart mid-spotlight the log gives the same statement, deadline and history."""
    meeting, events = Meeting.create("ABCDEF", new_meeting().settings, new_meeting().host_key_hash, NOW, SEEDS)
    for phase in ("collecting", "voting"):
        events += meeting.apply(SetPhase(phase, op=phase), NOW).events
    events += meeting.apply(StartSpotlight(1, op="s1"), NOW).events
    events += meeting.apply(EndSpotlight(op="e1"), NOW + 20).events
    events += meeting.apply(StartSpotlight(2, 45, op="s2"), NOW + 30).events
    replayed = Meeting.replay(events)
    assert replayed.public_state()["spotlight"] == meeting.public_state()["spotlight"]
    assert replayed.part(Spotlight).history == meeting.part(Spotlight).history
    assert replayed.part(Spotlight).deadline == NOW + 75
    again = replayed.apply(StartSpotlight(2, 45, op="s2"), NOW + 99)  # the op memory came back too
    assert again.duplicate
