"""Live results on phones is a creation option (`live_results`), off by default (issue 22)."""

from __future__ import annotations

import pytest

from facilitation.core.errors import ClientError
from facilitation.core.meeting import Meeting, MeetingSettings, UpdateSettings, hash_secret
from facilitation.core.registry import parse_new_meeting
from tests.core.helpers import NOW


def _create(**fields: object) -> tuple[Meeting, list]:  # type: ignore[type-arg]
    settings, seeds = parse_new_meeting({"title": "夜市", **fields})
    meeting, events = Meeting.create("ABCDEF", settings, hash_secret("k"), NOW, seeds)
    return meeting, list(events)


def test_phones_see_no_live_results_by_default() -> None:
    """A meeting created without the option hides results from phones while collecting and voting."""
    meeting, events = _create()
    assert meeting.settings.live_results is False and meeting.results_visible is False
    assert Meeting.replay(events).results_visible is False


def test_the_option_turns_live_results_on_and_the_host_can_switch() -> None:
    """`live_results: true` at creation shows them; the host's results_visible switch still applies and replays."""
    meeting, events = _create(live_results=True)
    assert meeting.results_visible is True
    events += meeting.apply(UpdateSettings({"results_visible": False}, op="s1"), NOW).events
    assert meeting.results_visible is False and Meeting.replay(events).results_visible is False


def test_a_meeting_stored_before_the_option_keeps_live_results() -> None:
    """Settings stored without the field (older meetings) replay as they ran: results visible."""
    data = MeetingSettings(title="夜市").to_dict()
    del data["live_results"]
    assert MeetingSettings.from_dict(data).live_results is True


def test_a_non_boolean_option_is_refused() -> None:
    """The wire checks the option's type like every creation field."""
    with pytest.raises(ClientError):
        parse_new_meeting({"title": "夜市", "live_results": "yes"})
