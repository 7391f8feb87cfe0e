"""The projector's theme is a meeting setting (issue 22): chosen at creation, switched by the host while the
meeting runs, one of the declared themes, and kept through a replay of the log."""

from __future__ import annotations

import json

import pytest

from facilitation.core.errors import ClientError
from facilitation.core.meeting import CommandRefused, Meeting, MeetingSettings, UpdateSettings, hash_secret
from facilitation.core.protocol import parse_client_message
from facilitation.core.registry import parse_new_meeting
from facilitation.core.state import PROJECTOR_THEMES
from tests.core.helpers import NOW, new_meeting


def test_a_meeting_starts_dark_unless_created_light() -> None:
    """Dark by default; `projector_theme` at creation picks the light one; anything else is refused."""
    assert new_meeting().settings.projector_theme == "dark"
    settings, _ = parse_new_meeting({"title": "夜市", "projector_theme": "light"})
    assert settings.projector_theme == "light" and settings.to_dict()["projector_theme"] == "light"
    for bad in ("blue", "", 1, ["light"]):
        with pytest.raises(ClientError):
            parse_new_meeting({"title": "夜市", "projector_theme": bad})


def test_the_host_switches_the_theme_and_a_replay_keeps_it() -> None:
    """`settings` with `projector_theme` changes it at once; the events replay to the same theme."""
    meeting, events = Meeting.create("ABCDEF", MeetingSettings(title="夜市"), hash_secret("k"), NOW, ["一。"])
    applied = meeting.apply(UpdateSettings({"projector_theme": "light"}, op="t1"), NOW)
    events += applied.events
    assert meeting.settings.projector_theme == "light"
    assert [e.type for e in applied.events] == ["settings_changed"]
    assert Meeting.replay(events).settings.projector_theme == "light"
    events += meeting.apply(UpdateSettings({"projector_theme": "dark"}, op="t2"), NOW).events
    assert Meeting.replay(events).settings.projector_theme == "dark"


def test_an_unknown_theme_is_refused_at_the_boundary_and_by_the_meeting() -> None:
    """The wire check names the themes; a caller past the wire meets the meeting's own check."""
    frame = {"v": 1, "type": "settings", "op": "s1", "changes": {"projector_theme": "blue"}}
    with pytest.raises(ClientError) as wire:
        parse_client_message(json.dumps(frame))
    assert all(theme in wire.value.message for theme in PROJECTOR_THEMES)
    meeting = new_meeting()
    with pytest.raises(CommandRefused) as refused:
        meeting.apply(UpdateSettings({"projector_theme": "blue"}, op="s2"), NOW)
    assert refused.value.code == "invalid_settings"
    assert meeting.settings.projector_theme == "dark"
