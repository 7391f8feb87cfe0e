"""Time boxes in the core (issue 23): a timer is events; it ends once; auto-advance only when chosen and only
from where the timer started; refusals name the op's command; a replay mid-timer keeps the deadline."""

from __future__ import annotations

import json

import pytest

from facilitation.core.commands.timers import EndTimer, StartTimer, StopTimer, Timer
from facilitation.core.errors import ClientError
from facilitation.core.events import Event
from facilitation.core.meeting import CommandRefused, Meeting, SetPhase
from facilitation.core.protocol import parse_client_message
from facilitation.core.state import Phase
from tests.core.helpers import NOW, new_meeting


def started(meeting: Meeting, seconds: int = 60, auto: bool = False, op: str = "t1") -> int:
    return int(meeting.apply(StartTimer(seconds, auto, op=op), NOW).result["timer"])


def test_a_started_timer_is_in_every_snapshot_with_its_deadline() -> None:
    """`timer_start` records the deadline in the server's time; the public state shows it running."""
    meeting = new_meeting()
    applied = meeting.apply(StartTimer(90, op="t1"), NOW)
    assert [e.type for e in applied.events] == ["timer_started"]
    assert applied.result == {"timer": applied.events[0].seq, "ends_at": NOW + 90}
    shown = meeting.public_state()["timer"]
    assert shown["state"] == "running" and shown["ends_at"] == NOW + 90 and shown["phase"] == "collecting"
    assert shown["auto_advance"] is False and shown["advance"] == {}


def test_time_up_prompts_and_moves_nothing_without_auto_advance() -> None:
    """The end is recorded (the host is prompted by it) and the phase stays where it was."""
    meeting = new_meeting()
    timer = started(meeting)
    applied = meeting.apply(EndTimer(timer, op="e1"), NOW + 60)
    assert [e.type for e in applied.events] == ["timer_ended"]
    assert applied.result == {"timer": timer, "state": "ended", "advanced": False}
    assert meeting.phase is Phase.COLLECTING
    assert meeting.part(Timer).state == "ended"


def test_auto_advance_moves_to_the_next_phase_once() -> None:
    """With auto-advance the end is followed by the phase change; a second end is refused (`no_timer`)."""
    meeting = new_meeting()
    timer = started(meeting, auto=True)
    assert meeting.part(Timer).advance == {"phase": "voting"}
    applied = meeting.apply(EndTimer(timer, op="timer-end"), NOW + 60)
    assert [e.type for e in applied.events] == ["timer_ended", "phase_changed"]
    assert meeting.phase is Phase.VOTING
    with pytest.raises(CommandRefused) as again:
        meeting.apply(EndTimer(timer, op="other"), NOW + 61)
    assert again.value.code == "no_timer"
    assert meeting.apply(EndTimer(timer, op="timer-end"), NOW + 61).duplicate  # a resend of the same end
    assert meeting.phase is Phase.VOTING


def test_auto_advance_does_not_move_a_host_who_moved_on_by_hand() -> None:
    """The host moved to voting while the timer ran: its end moves nothing further."""
    meeting = new_meeting()
    timer = started(meeting, auto=True)
    meeting.apply(SetPhase("voting", op="p"), NOW + 10)
    applied = meeting.apply(EndTimer(timer, op="e"), NOW + 60)
    assert [e.type for e in applied.events] == ["timer_ended"] and applied.result["advanced"] is False
    assert meeting.phase is Phase.VOTING


def test_stop_cancels_without_a_prompt_and_a_new_timer_replaces_the_old() -> None:
    """`timer_stop` cancels; the cancelled timer's deadline then ends nothing; a new start replaces a running one."""
    meeting = new_meeting()
    first = started(meeting, op="a")
    assert meeting.apply(StopTimer(op="s"), NOW + 5).result == {"timer": first, "state": "stopped"}
    with pytest.raises(CommandRefused) as late:
        meeting.apply(EndTimer(first, op="e"), NOW + 60)
    assert late.value.code == "no_timer"
    with pytest.raises(CommandRefused) as nothing:
        meeting.apply(StopTimer(op="s2"), NOW + 61)
    assert nothing.value.code == "no_timer"
    second = started(meeting, op="b")
    third = started(meeting, 30, op="c")
    assert third != second and meeting.part(Timer).id == third
    with pytest.raises(CommandRefused):
        meeting.apply(EndTimer(second, op="e2"), NOW + 60)


@pytest.mark.parametrize(
    ("phase", "auto", "code"),
    [(Phase.CLOSED, False, "phase_forbids"), (Phase.REVIEWING, True, "phase_forbids")],
)
def test_a_timer_is_refused_where_it_makes_no_sense(phase: Phase, auto: bool, code: str) -> None:
    """No timer in a closed meeting; no auto-advance that would close it."""
    meeting = new_meeting(phase=phase)
    with pytest.raises(CommandRefused) as refused:
        meeting.apply(StartTimer(60, auto, op="t"), NOW)
    assert refused.value.code == code and phase.value in refused.value.message


def test_the_duration_is_bounded() -> None:
    """From 10 seconds to 4 hours."""
    meeting = new_meeting()
    for seconds in (0, 9, 4 * 3600 + 1):
        with pytest.raises(CommandRefused) as refused:
            meeting.apply(StartTimer(seconds, op=f"t{seconds}"), NOW)
        assert refused.value.code == "invalid_field"


def test_the_wire_checks_the_fields_and_the_role() -> None:
    """A participant may not start a timer; a string for seconds is refused with its op."""
    parse_client_message(json.dumps({"type": "timer_start", "op": "x", "seconds": 60, "auto_advance": True}))
    with pytest.raises(ClientError) as wrong:
        parse_client_message(json.dumps({"type": "timer_start", "op": "x", "seconds": "60"}))
    assert wrong.value.code == "invalid_field"


def test_a_replay_mid_timer_keeps_the_deadline_and_the_end_still_comes_once() -> None:
    """A restart in the middle of a timer: the replayed meeting has the same running timer, ends it once."""
    settings = new_meeting().settings
    base, created = Meeting.create("ABCDEF", settings, "hash", NOW, ["一。"])
    log: list[Event] = list(created)
    log += base.apply(SetPhase("collecting", op="p1"), NOW).events
    applied = base.apply(StartTimer(120, True, op="t"), NOW + 1)
    log += applied.events
    timer = int(applied.result["timer"])
    replayed = Meeting.replay(log)
    assert replayed.part(Timer).public() == base.part(Timer).public()
    assert replayed.part(Timer).running and replayed.part(Timer).ends_at == NOW + 121
    ended = replayed.apply(EndTimer(timer, op="timer-end"), NOW + 121)
    assert [e.type for e in ended.events] == ["timer_ended", "phase_changed"]
    again = Meeting.replay(log + ended.events)
    assert again.part(Timer).state == "ended" and again.phase is Phase.VOTING
    with pytest.raises(CommandRefused):
        again.apply(EndTimer(timer, op="elsewhere"), NOW + 122)



def test_auto_advance_to_the_next_question_moves_the_room_once() -> None:
    """`advance_to: question`: at the end the room moves to the agenda's next question, not the phase."""
    from facilitation.core.commands.agenda import AddQuestion, Agenda, GoToQuestion

    meeting = new_meeting()
    meeting.apply(AddQuestion("Q2?", op="q"), NOW)
    applied = meeting.apply(StartTimer(60, True, "question", op="t"), NOW)
    timer = int(applied.result["timer"])
    assert meeting.part(Timer).advance == {"question": 1}
    ended = meeting.apply(EndTimer(timer, op="e"), NOW + 60)
    assert [e.type for e in ended.events] == ["timer_ended", "question_changed"]
    assert meeting.part(Agenda).current == 1 and meeting.phase is Phase.COLLECTING
    with pytest.raises(CommandRefused) as last:  # question 2 is the last: nowhere to go
        meeting.apply(StartTimer(60, True, "question", op="t2"), NOW)
    assert last.value.code == "unknown_question"
    moved_by_hand = new_meeting()
    moved_by_hand.apply(AddQuestion("Q2?", op="q"), NOW)
    moved_by_hand.apply(AddQuestion("Q3?", op="q3"), NOW)
    second = int(moved_by_hand.apply(StartTimer(60, True, "question", op="t"), NOW).result["timer"])
    moved_by_hand.apply(GoToQuestion(2, op="g"), NOW)
    assert [e.type for e in moved_by_hand.apply(EndTimer(second, op="e"), NOW).events] == ["timer_ended"]
    assert moved_by_hand.part(Agenda).current == 2
