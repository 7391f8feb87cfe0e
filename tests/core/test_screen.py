"""Projector control (issue 23) in the pure core: the host's screen command sets what the room sees, is
checked against the views, and replays."""

from __future__ import annotations

import pytest

from facilitation.core.commands.screen import ChooseScreen, Screen
from facilitation.core.meeting import CommandRefused, Meeting
from tests.core.helpers import NOW, new_meeting


def test_the_chosen_view_is_public_and_replays() -> None:
    meeting, events = Meeting.create("ABCDEF", new_meeting().settings, new_meeting().host_key_hash, NOW, ["一。"])
    assert meeting.public_state()["screen"] == {"view": "auto", "group": ""}
    events += meeting.apply(ChooseScreen("group", "B", op="s1"), NOW).events
    assert [e.type for e in events[-1:]] == ["screen_chosen"]
    assert meeting.public_state()["screen"] == {"view": "group", "group": "B"}
    assert Meeting.replay(events).part(Screen).view == "group"


@pytest.mark.parametrize(("view", "group"), [("wall", ""), ("group", ""), ("map", "A")])
def test_an_unknown_view_or_a_misplaced_group_is_refused(view: str, group: str) -> None:
    meeting = new_meeting()
    with pytest.raises(CommandRefused) as refused:
        meeting.apply(ChooseScreen(view, group, op="s"), NOW)
    assert refused.value.code == "invalid_field"
    assert meeting.part(Screen).view == "auto"
